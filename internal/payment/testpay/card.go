package testpay

import (
	"strings"
	"time"

	"secureshop/internal/shop"
)

// Card is what a customer types on the payment page. It is never stored or logged.
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// separators are what people type between a card number's groups of digits. A Replacer is built on
// first use and is safe for concurrent use: one for all payments, not one each.
var separators = strings.NewReplacer(" ", "", "-", "")

// Normalize strips spaces and dashes from the number.
func (c Card) Normalize() Card {
	c.Number = separators.Replace(c.Number)
	c.CVC = strings.TrimSpace(c.CVC)
	return c
}

// Validate checks the card's shape: 12 to 19 digits with a correct Luhn check digit, an expiry
// that has not passed at now, and a 3- or 4-digit security code.
func (c Card) Validate(now time.Time) error {
	var fields []shop.FieldError
	if !digits(c.Number) || len(c.Number) < 12 || len(c.Number) > 19 || !luhn(c.Number) {
		fields = append(fields, shop.FieldError{Field: "number", Message: "is not a valid card number"})
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 {
		fields = append(fields, shop.FieldError{Field: "exp", Message: "must be a month from 1 to 12"})
	} else if y, m := now.Year(), int(now.Month()); c.ExpYear < y || (c.ExpYear == y && c.ExpMonth < m) || c.ExpYear > y+20 {
		fields = append(fields, shop.FieldError{Field: "exp", Message: "the card has expired or the year is wrong"})
	}
	if !digits(c.CVC) || len(c.CVC) < 3 || len(c.CVC) > 4 {
		fields = append(fields, shop.FieldError{Field: "cvc", Message: "must be 3 or 4 digits"})
	}
	if len(fields) > 0 {
		return shop.Invalid(fields...)
	}
	return nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func luhn(s string) bool {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
