package shop

import (
	"testing"
	"time"
)

func TestOrderStatus_Moves(t *testing.T) {
	legal := [][2]OrderStatus{{OrderPendingPayment, OrderPaid}, {OrderPaid, OrderProcessing}, {OrderProcessing, OrderShipped},
		{OrderShipped, OrderDelivered}, {OrderPaid, OrderCancelled}, {OrderProcessing, OrderCancelled}, {OrderDelivered, OrderRefunded},
		{OrderPartiallyRefunded, OrderRefunded}}
	illegal := [][2]OrderStatus{{OrderShipped, OrderCancelled}, {OrderDelivered, OrderProcessing}, {OrderCancelled, OrderPaid},
		{OrderRefunded, OrderPaid}, {OrderPaid, OrderPendingPayment}, {OrderDelivered, OrderCancelled}, {"made-up", OrderPaid},
		{OrderPaid, "made-up"}}
	for _, m := range legal {
		if !m[0].CanMove(m[1]) {
			t.Errorf("%s → %s refused", m[0], m[1])
		}
	}
	for _, m := range illegal {
		if m[0].CanMove(m[1]) {
			t.Errorf("%s → %s allowed", m[0], m[1])
		}
	}
	for _, s := range []OrderStatus{OrderPendingPayment, OrderPaid, OrderProcessing} {
		if !s.Cancellable() {
			t.Errorf("%s not cancellable by the customer", s)
		}
	}
	for _, s := range []OrderStatus{OrderShipped, OrderDelivered, OrderCancelled, OrderRefunded, OrderPartiallyRefunded} {
		if s.Cancellable() {
			t.Errorf("%s is cancellable by the customer", s)
		}
	}
	for _, s := range []OrderStatus{OrderPendingPayment, OrderPaid, OrderProcessing, OrderShipped, OrderDelivered, OrderCancelled,
		OrderRefunded, OrderPartiallyRefunded} {
		if !s.Known() {
			t.Errorf("%s is not known", s)
		}
	}
	if OrderStatus("made-up").Known() || OrderPendingPayment.Label() != "pending payment" {
		t.Error("status rules wrong")
	}
}

func TestCartLine_Rules(t *testing.T) {
	l := CartLine{PriceAmount: 450, Accepted: 450, Quantity: 3, Stock: 3, Status: ProductActive}
	if l.Total() != 1350 || !l.Available() || l.PriceChanged() {
		t.Fatalf("%+v: total %d, available %v, changed %v", l, l.Total(), l.Available(), l.PriceChanged())
	}
	if l.Stock = 2; l.Available() {
		t.Error("available with too little stock")
	}
	if l.Stock, l.Status = 3, ProductArchived; l.Available() {
		t.Error("an archived product is available")
	}
	if !CartTakes(MaxCartLines-1, false) || CartTakes(MaxCartLines, false) || !CartTakes(MaxCartLines, true) {
		t.Error("a full cart's room told wrong")
	}
	if l.Accepted = 400; !l.PriceChanged() {
		t.Error("a changed price is not seen")
	}
}

// An order can be paid while it waits for its payment and its reservation runs; on the provider's
// page once that page is open.
func TestOrder_AwaitsPaymentUntilItsReservationEnds(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	until := now.Add(time.Minute)
	pending := Payment{Kind: PaymentCharge, State: PaymentPending, RedirectURL: "https://pay.example/s1"}
	cases := []struct {
		name                  string
		o                     Order
		at                    time.Time
		over, awaits, payable bool
	}{
		{"pending, in time", Order{Status: OrderPendingPayment, ReservedUntil: &until, Payments: []Payment{pending}}, now, false, true, true},
		{"pending, at the deadline", Order{Status: OrderPendingPayment, ReservedUntil: &until, Payments: []Payment{pending}}, until, true, false, false},
		{"pending, no page yet", Order{Status: OrderPendingPayment, ReservedUntil: &until, Payments: []Payment{{Kind: PaymentCharge, State: PaymentPending}}}, now, false, true, false},
		{"paid", Order{Status: OrderPaid, Payments: []Payment{{Kind: PaymentCharge, State: PaymentSucceeded}}}, now, false, false, false},
		{"cancelled unpaid", Order{Status: OrderCancelled, ReservedUntil: &until, Payments: []Payment{{Kind: PaymentCharge, State: PaymentFailed}}}, now, false, false, false},
		{"nothing to pay", Order{Status: OrderPaid}, now, false, false, false},
	}
	for _, c := range cases {
		if got := c.o.ReservationOver(c.at); got != c.over {
			t.Errorf("%s: ReservationOver %v", c.name, got)
		}
		if got := c.o.AwaitsPayment(c.at); got != c.awaits {
			t.Errorf("%s: AwaitsPayment %v", c.name, got)
		}
		if got := c.o.Payable(c.at); got != c.payable {
			t.Errorf("%s: Payable %v", c.name, got)
		}
	}
}
