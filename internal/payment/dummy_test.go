package payment

import (
	"context"
	"errors"
	"testing"

	"secureshop/internal/shop"
)

var visa = Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2040, CVC: "123"}

func TestDummy_AnswersARepeatedKeyWithItsFirstAnswer(t *testing.T) {
	d, ctx := NewDummy(), context.Background()
	ref, err := d.Charge(ctx, Charge{Amount: 500, Currency: "GBP", Card: visa, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.Charge(ctx, Charge{Amount: 500, Currency: "GBP", Card: visa, IdempotencyKey: "k1"})
	if err != nil || again != ref {
		t.Fatalf("the same key charged again: %q, %v (first %q)", again, err, ref)
	}
	if _, err := d.Charge(ctx, Charge{Amount: 500, Currency: "GBP", Card: Card{Number: DeclinedCard}, IdempotencyKey: "k2"}); !errors.Is(err, ErrDeclined) {
		t.Fatalf("declined card: %v", err)
	}
	r1, err := d.Refund(ctx, Refund{PaymentRef: ref, Amount: 300, IdempotencyKey: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if r2, err := d.Refund(ctx, Refund{PaymentRef: ref, Amount: 300, IdempotencyKey: "r1"}); err != nil || r2 != r1 {
		t.Fatalf("a repeated refund key refunded again: %q, %v", r2, err)
	}
	if _, err := d.Refund(ctx, Refund{PaymentRef: ref, Amount: 201, IdempotencyKey: "r2"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("refund of more than is left: %v", err)
	}
	if got, n := d.Refunded(ref); got != 300 || n != 1 {
		t.Fatalf("refunded %d in %d refunds, want 300 in 1", got, n)
	}
}

// The gateway is the outside world: a call from inside a write transaction is refused.
func TestDummy_RefusesACallFromInsideAWriteTransaction(t *testing.T) {
	d := NewDummy()
	ctx := shop.WithinWriteTransaction(context.Background())
	if _, err := d.Charge(ctx, Charge{Amount: 500, Currency: "GBP", Card: visa}); !errors.Is(err, shop.ErrInWriteTransaction) {
		t.Fatalf("charge inside a write transaction: %v", err)
	}
	if _, err := d.Refund(ctx, Refund{PaymentRef: "x", Amount: 1}); !errors.Is(err, shop.ErrInWriteTransaction) {
		t.Fatalf("refund inside a write transaction: %v", err)
	}
}
