package shop

import "testing"

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
