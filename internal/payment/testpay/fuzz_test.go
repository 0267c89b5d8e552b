package testpay

import (
	"testing"
	"time"
)

func FuzzCardValidate(f *testing.F) {
	f.Add("4242 4242 4242 4242", 12, 2030, "123")
	f.Add("4000000000000002", 1, 2026, "1234")
	f.Add("", 0, 0, "")
	f.Add("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", 12, 2030, "١٢٣")
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, number string, month, year int, cvc string) {
		c := Card{Number: number, ExpMonth: month, ExpYear: year, CVC: cvc}.Normalize()
		if err := c.Validate(now); err != nil {
			return
		}
		if !digits(c.Number) || !luhn(c.Number) || month < 1 || month > 12 {
			t.Fatalf("accepted a bad card %+v", c)
		}
	})
}
