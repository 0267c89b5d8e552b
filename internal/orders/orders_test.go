package orders

import "testing"

func TestCanMove(t *testing.T) {
	legal := [][2]string{{PendingPayment, Paid}, {Paid, Processing}, {Processing, Shipped}, {Shipped, Delivered},
		{Paid, Cancelled}, {Processing, Cancelled}, {Delivered, Refunded}, {PartiallyRefunded, Refunded}}
	illegal := [][2]string{{Shipped, Cancelled}, {Delivered, Processing}, {Cancelled, Paid}, {Refunded, Paid},
		{Paid, PendingPayment}, {Delivered, Cancelled}, {"made-up", Paid}, {Paid, "made-up"}}
	for _, m := range legal {
		if !CanMove(m[0], m[1]) {
			t.Errorf("%s → %s refused", m[0], m[1])
		}
	}
	for _, m := range illegal {
		if CanMove(m[0], m[1]) {
			t.Errorf("%s → %s allowed", m[0], m[1])
		}
	}
	for _, s := range []string{PendingPayment, Paid, Processing} {
		if !Cancellable(s) {
			t.Errorf("%s not cancellable by the customer", s)
		}
	}
	if Cancellable(Shipped) || Cancellable(Delivered) {
		t.Error("a shipped order is cancellable by the customer")
	}
}
