package shop

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
)

// Money is an amount in minor units of an ISO 4217 currency: pence for GBP, yen for JPY (which has
// none), fils for KWD (three). How many minor units make a major one comes from the currency
// library's CLDR data, never from an assumption of two decimals.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// M is Money of amount minor units of currency.
func M(amount int64, currency string) Money { return Money{Amount: amount, Currency: currency} }

// ValidCurrency reports whether code is an ISO 4217 currency the shop can price in.
func ValidCurrency(code string) bool {
	_, ok := currency.GetDigits(code)
	return ok && currency.IsValid(code) && code == strings.ToUpper(code)
}

// Digits is how many decimals currency has (2 for GBP, 0 for JPY, 3 for KWD); 2 for an unknown code.
func Digits(code string) int {
	if d, ok := currency.GetDigits(code); ok {
		return int(d)
	}
	return 2
}

// formatter writes amounts as English-speaking people read them (£12.50, ¥1,267, CHF 3.00); it
// holds no state that Format changes, so one serves every goroutine.
var formatter = func() *currency.Formatter {
	f := currency.NewFormatter(currency.NewLocale("en"))
	f.MaxDigits = 3 // no ISO 4217 currency has more; the amount is exact in its minor units
	return f
}()

// String writes m as people read it: £12.50, -€0.05, ¥1,267, CHF 3.00, KWD 1.234.
func (m Money) String() string {
	a, err := currency.NewAmountFromInt64(m.Amount, m.Currency)
	if err != nil { // not a currency the shop accepts: say what it is rather than guess
		return m.Currency + " " + strconv.FormatInt(m.Amount, 10) + " (minor units)"
	}
	return formatter.Format(a)
}

// Decimal writes m as a plain decimal number in its currency's major unit, for forms and
// spreadsheets: "12.50" for 1250 GBP, "1267" for 1267 JPY, "1.234" for 1234 KWD.
func (m Money) Decimal() string {
	a, err := currency.NewAmountFromInt64(m.Amount, m.Currency)
	if err != nil {
		return strconv.FormatInt(m.Amount, 10)
	}
	return a.Number()
}

var amountRE = regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]+)?$`)

// ParseAmount reads an amount of currency as people write it — "12", "12.5" or "12.50" for GBP,
// "1267" for JPY — into minor units. Signs, exponents, separators, more decimals than the currency
// has and more than nine whole digits are refused.
func ParseAmount(code, v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if !amountRE.MatchString(v) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(v, ".")
	if len(whole) > 9 || len(frac) > Digits(code) {
		return 0, false
	}
	a, err := currency.NewAmount(v, code)
	if err != nil {
		return 0, false
	}
	n, err := a.Int64() // in minor units: NewAmount keeps the digits, Int64 scales to the currency's
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
