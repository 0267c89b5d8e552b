// Package payment takes card payments through a gateway. The built-in dummy gateway checks cards
// the way a real one would, always declines the test card 4000000000000002, and keeps books of
// what it charged and refunded.
package payment

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
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
var ErrDeclined = &shop.Error{Kind: shop.KindPaymentRequired, Code: shop.CodeCardDeclined, Message: "The card was declined. No payment was taken; try another card."}

// Charge is a request to take money. IdempotencyKey names the attempt: asked twice with the same
// key, a gateway takes the money once and answers the same both times.
type Charge struct {
	Amount         int64
	Currency       string
	Card           Card
	OrderID        string
	IdempotencyKey string
}

// Refund is a request to return money taken by the charge PaymentRef, at most once per key.
type Refund struct {
	PaymentRef     string
	Amount         int64
	Currency       string
	IdempotencyKey string
}

// Gateway takes and returns payments. Its calls go to the outside world: they are never made inside
// a database write transaction (they refuse a context marked as one, shop.OutsideWriteTransaction).
type Gateway interface {
	Name() string
	Charge(ctx context.Context, c Charge) (reference string, err error)
	Refund(ctx context.Context, r Refund) (reference string, err error)
}

// ErrRefused is the gateway's refusal of a refund (more than is left of the charge, an unknown charge).
var ErrRefused = errors.New("the gateway refused the refund")

// DeclinedCard is the test card the dummy gateway always declines.
const DeclinedCard = "4000000000000002"

// Dummy is a gateway for development and tests. It accepts every valid card except DeclinedCard,
// keeps what it charged and refunded, as a real gateway's books would, refuses to refund more than
// a charge has left, and answers a repeated idempotency key with its first answer. It is safe for
// concurrent use; it forgets the oldest payments beyond maxPayments.
type Dummy struct {
	mu      sync.Mutex
	charges map[string]*dummyCharge // by reference
	answers map[string]dummyAnswer  // by idempotency key
	order   []string                // keys, oldest first, for forgetting
	refunds int                     // refunds made, for tests
}

type dummyCharge struct {
	amount, refunded int64
	currency         string
}

type dummyAnswer struct {
	ref string
	err error
}

const maxPayments = 200_000

// NewDummy returns an empty dummy gateway.
func NewDummy() *Dummy {
	return &Dummy{charges: map[string]*dummyCharge{}, answers: map[string]dummyAnswer{}}
}

// Name is the provider's name in the payments ledger.
func (*Dummy) Name() string { return "dummy" }

// Charge takes the payment, or returns ErrDeclined.
func (d *Dummy) Charge(ctx context.Context, c Charge) (string, error) {
	if err := outside(ctx); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.answers[c.IdempotencyKey]; ok && c.IdempotencyKey != "" {
		return a.ref, a.err
	}
	a := dummyAnswer{}
	switch {
	case c.Card.Number == DeclinedCard:
		a.err = ErrDeclined
	case c.Amount <= 0:
		return "", errors.New("dummy gateway: nothing to charge")
	default:
		a.ref = "dummy_ch_" + strings.ToLower(rand.Text())
		d.charges[a.ref] = &dummyCharge{amount: c.Amount, currency: c.Currency}
	}
	d.remember(c.IdempotencyKey, a)
	return a.ref, a.err
}

// Refund returns money of a charge: never more than it has left.
func (d *Dummy) Refund(ctx context.Context, r Refund) (string, error) {
	if err := outside(ctx); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.answers[r.IdempotencyKey]; ok && r.IdempotencyKey != "" {
		return a.ref, a.err
	}
	ch := d.charges[r.PaymentRef]
	a := dummyAnswer{}
	if ch == nil || r.Amount <= 0 || r.Amount > ch.amount-ch.refunded || (r.Currency != "" && r.Currency != ch.currency) {
		a.err = ErrRefused
	} else {
		ch.refunded += r.Amount
		d.refunds++
		a.ref = "dummy_re_" + strings.ToLower(rand.Text())
	}
	d.remember(r.IdempotencyKey, a)
	return a.ref, a.err
}

// Refunded reports how much of the charge ref was refunded, and how many refunds the gateway made
// in all — what the gateway's own books say, for tests to compare with the shop's ledger.
func (d *Dummy) Refunded(ref string) (amount int64, refunds int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch := d.charges[ref]; ch != nil {
		amount = ch.refunded
	}
	return amount, d.refunds
}

func (d *Dummy) remember(key string, a dummyAnswer) {
	if key == "" {
		return
	}
	d.answers[key] = a
	d.order = append(d.order, key)
	for len(d.order) > maxPayments {
		delete(d.answers, d.order[0])
		d.order = d.order[1:]
	}
	if len(d.charges) > maxPayments {
		for ref := range d.charges { // forget any one; a test never makes this many
			delete(d.charges, ref)
			break
		}
	}
}

// outside refuses a call made inside a database write transaction.
func outside(ctx context.Context) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err
	}
	return ctx.Err()
}
