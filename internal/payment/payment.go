// Package payment takes card payments through a gateway. The built-in dummy gateway checks cards
// the way a real one would and always declines the test card 4000000000000002.
package payment

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"secureshop/internal/shop"
)

// Card is what a customer types at checkout. It is never stored or logged: an order keeps only
// Brand and Last4.
type Card struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// Brand names the card network from the number's prefix.
func (c Card) Brand() string {
	n := c.Number
	switch {
	case strings.HasPrefix(n, "4"):
		return "visa"
	case len(n) >= 2 && n[0] == '5' && n[1] >= '1' && n[1] <= '5', len(n) >= 4 && n[:4] >= "2221" && n[:4] <= "2720":
		return "mastercard"
	case strings.HasPrefix(n, "34"), strings.HasPrefix(n, "37"):
		return "amex"
	}
	return "card"
}

// Last4 is the last four digits of the number.
func (c Card) Last4() string {
	if len(c.Number) < 4 {
		return ""
	}
	return c.Number[len(c.Number)-4:]
}

// separators are what people type between a card number's groups of digits. A Replacer is built on
// first use and is safe for concurrent use: one for all checkouts, not one each.
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
		fields = append(fields, shop.FieldError{Field: "payment.card_number", Message: "is not a valid card number"})
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 {
		fields = append(fields, shop.FieldError{Field: "payment.exp_month", Message: "must be a month from 1 to 12"})
	} else if y, m := now.Year(), int(now.Month()); c.ExpYear < y || (c.ExpYear == y && c.ExpMonth < m) || c.ExpYear > y+20 {
		fields = append(fields, shop.FieldError{Field: "payment.exp_year", Message: "the card has expired or the year is wrong"})
	}
	if !digits(c.CVC) || len(c.CVC) < 3 || len(c.CVC) > 4 {
		fields = append(fields, shop.FieldError{Field: "payment.cvc", Message: "must be 3 or 4 digits"})
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

// ErrDeclined is the gateway's refusal of a valid card.
var ErrDeclined = &shop.Error{Kind: shop.KindPaymentRequired, Code: "card-declined", Message: "The card was declined. No payment was taken; try another card."}

// Charge is a request to take money.
type Charge struct {
	Amount   int64
	Currency string
	Card     Card
	OrderID  string
}

// Gateway takes and returns payments.
type Gateway interface {
	Charge(ctx context.Context, c Charge) (reference string, err error)
	Refund(ctx context.Context, reference string, amount int64) error
}

// DeclinedCard is the test card the dummy gateway always declines.
const DeclinedCard = "4000000000000002"

// Dummy is a gateway for development and tests: it accepts every valid card except DeclinedCard.
type Dummy struct{}

// Charge takes the payment, or returns ErrDeclined.
func (Dummy) Charge(ctx context.Context, c Charge) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if c.Card.Number == DeclinedCard {
		return "", ErrDeclined
	}
	if c.Amount <= 0 {
		return "", errors.New("dummy gateway: nothing to charge")
	}
	return "dummy_" + strings.ToLower(rand.Text()), nil
}

// Refund returns money; the dummy gateway always can.
func (Dummy) Refund(ctx context.Context, reference string, amount int64) error {
	if !strings.HasPrefix(reference, "dummy_") || amount <= 0 {
		return errors.New("dummy gateway: unknown payment")
	}
	return ctx.Err()
}
