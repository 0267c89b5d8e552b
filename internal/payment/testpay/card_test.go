package testpay

import (
	"testing"
	"time"

	"secureshop/internal/shop"
)

func TestCard_Validate(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	good := Card{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}.Normalize()
	if err := good.Validate(now); err != nil {
		t.Fatalf("good card: %v", err)
	}
	cases := map[string]Card{
		"bad check digit": {Number: "4242424242424241", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		"letters":         {Number: "4242x24242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		"too short":       {Number: "42424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
		"expired":         {Number: "4242424242424242", ExpMonth: 10, ExpYear: 2026, CVC: "123"},
		"month 13":        {Number: "4242424242424242", ExpMonth: 13, ExpYear: 2030, CVC: "123"},
		"cvc 2 digits":    {Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "12"},
		"cvc letters":     {Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "12a"},
	}
	for name, c := range cases {
		if err := c.Validate(now); shop.KindOf(err) != shop.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := (Card{Number: "4242424242424242", ExpMonth: 11, ExpYear: 2026, CVC: "1234"}).Validate(now); err != nil {
		t.Errorf("card expiring this month: %v", err)
	}
}
