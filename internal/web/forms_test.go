package web

import (
	"testing"

	"secureshop/internal/orders"
)

// A refused refund's fields are shown beside the form's own fields: the request's field names map
// back to the inputs they came from.
func TestRefundFormField(t *testing.T) {
	req := orders.RefundRequest{Restock: []orders.Return{{LineID: "L1", Quantity: 1}, {LineID: "L2", Quantity: 9}}}
	for field, want := range map[string]string{
		"amount":              "amount",
		"amount.amount":       "amount",
		"amount.currency":     "amount",
		"restock[1].quantity": "restock-L2",
		"restock[0].line_id":  "restock-L1",
		"restock[7].quantity": "restock[7].quantity", // no such line in the request: named as it came
		"restock-L1":          "restock-L1",
		"reason":              "reason",
	} {
		if got := refundFormField(field, req); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
}
