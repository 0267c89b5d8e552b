package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

type refundOrderJSON struct {
	ID            string
	Status        string
	Total         shop.Money
	Paid          shop.Money
	Refunded      shop.Money
	RefundPending shop.Money `json:"refund_pending"`
	Items         []struct {
		ID         string
		Quantity   int
		Returned   int
		Returnable int
	}
	Payments []struct {
		Kind   string
		State  string
		Amount shop.Money
	}
}

// TestCancel_APaidOrderIsRefundedAndSaysSo: a customer cancels a paid £30 order; the refund is in
// the ledger, the order says refunded £30, its page says so (not "Paid by visa"), and the sales
// report nets it out.
func TestCancel_APaidOrderIsRefundedAndSaysSo(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("cancel")
		p := s.newProduct("cancel", "C-1", 1000, 5)
		tok := s.login("cancel", "customer@example.com").AccessToken
		a := s.buy("cancel", tok, p.ID, 3)
		var o refundOrderJSON
		a.json(t, &o)
		a = s.call("POST", "/api/v1/stores/cancel/orders/"+o.ID+"/cancel", tok, nil, "Idempotency-Key", "cancel-1")
		expectStatus(t, "cancel", a, http.StatusOK)
		a.json(t, &o)
		if o.Status != "cancelled" || o.Refunded.Amount != 3000 || o.Paid.Amount != 3000 || len(o.Payments) != 2 ||
			o.Payments[1].Kind != "refund" || o.Payments[1].State != "succeeded" || o.Items[0].Returned != 3 {
			t.Fatalf("cancelled order: %s", a.body)
		}
		again := s.call("POST", "/api/v1/stores/cancel/orders/"+o.ID+"/cancel", tok, nil, "Idempotency-Key", "cancel-1")
		if again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("cancel retried with its key: %d %v", again.status, again.header)
		}
		b := s.browserLogin("/s/cancel/login", "customer@example.com")
		_, page := b.do("GET", "/s/cancel/orders/"+o.ID, nil)
		if !strings.Contains(page, `<p id="refunded">Refunded £30.00 — everything you paid.</p>`) || !strings.Contains(page, "cancelled") {
			t.Fatalf("the customer's order page:\n%s", page)
		}
		admin := s.login("cancel", "admin@example.com").AccessToken
		rep := s.call("GET", "/api/v1/stores/cancel/reports/sales", admin, nil)
		if !strings.Contains(string(rep.body), `"total":{"start"`) || !strings.Contains(string(rep.body), `"net":{"amount":0,"currency":"GBP"},"new_customers"`) {
			t.Fatalf("the report keeps a cancelled order as a sale: %s", rep.body)
		}
		if stock, ledger := s.stockAndLedger("cancel", p.ID); stock != 5 || ledger != 5 {
			t.Fatalf("stock %d ledger %d", stock, ledger)
		}
	})
}

// TestRefund_OverTheAPI: restocking names lines and units and never returns more than was sold; a
// retried refund with its key refunds once (answered again, Idempotent-Replayed); the same key with
// another body is refused.
func TestRefund_OverTheAPI(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("ret2")
		p := s.newProduct("ret2", "R-1", 500, 10)
		tok := s.login("ret2", "customer@example.com").AccessToken
		a := s.buy("ret2", tok, p.ID, 3)
		var o refundOrderJSON
		a.json(t, &o)
		admin := s.login("ret2", "admin@example.com").AccessToken
		refunds := "/api/v1/stores/ret2/orders/" + o.ID + "/refunds"
		body := fmt.Sprintf(`{"amount":{"amount":500,"currency":"GBP"},"reason":"one broken","restock":[{"line_id":%q,"quantity":1}]}`, o.Items[0].ID)
		first := s.call("POST", refunds, admin, body, "Idempotency-Key", "refund-1")
		expectStatus(t, "refund £5 with one unit back", first, http.StatusCreated)
		second := s.call("POST", refunds, admin, body, "Idempotency-Key", "refund-1")
		expectStatus(t, "the same refund again", second, http.StatusCreated)
		if second.header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("the retried refund was not answered as a replay")
		}
		second.json(t, &o)
		if o.Refunded.Amount != 500 || o.Items[0].Returned != 1 || o.Items[0].Returnable != 2 {
			t.Fatalf("after a refund sent twice with one key: %s", second.body)
		}
		if stock, _ := s.stockAndLedger("ret2", p.ID); stock != 8 {
			t.Fatalf("stock %d after one unit back of three sold, want 8", stock)
		}
		other := fmt.Sprintf(`{"amount":{"amount":100,"currency":"GBP"},"reason":"other","restock":[{"line_id":%q,"quantity":1}]}`, o.Items[0].ID)
		expectStatus(t, "the key with another body", s.call("POST", refunds, admin, other, "Idempotency-Key", "refund-1"), http.StatusUnprocessableEntity)
		tooMany := fmt.Sprintf(`{"amount":{"amount":1,"currency":"GBP"},"reason":"too many","restock":[{"line_id":%q,"quantity":3}]}`, o.Items[0].ID)
		a = s.call("POST", refunds, admin, tooMany, "Idempotency-Key", "refund-2")
		expectStatus(t, "three more back of two left", a, http.StatusUnprocessableEntity)
		if !strings.Contains(string(a.body), "restock[0].quantity") {
			t.Fatalf("refusal: %s", a.body)
		}
		if stock, ledger := s.stockAndLedger("ret2", p.ID); stock != 8 || ledger != 8 {
			t.Fatalf("stock %d ledger %d after a refused restock", stock, ledger)
		}
	})
}

// TestCheckout_AChangedPriceIsRefusedOverTheAPI: 5,000 in the cart, 7,000 in the catalogue at
// checkout: a 409 naming the line and its new price, nothing charged; checking out again confirms.
func TestCheckout_AChangedPriceIsRefusedOverTheAPI(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("price")
	p := s.newProduct("price", "P-1", 5000, 5)
	tok := s.login("price", "customer@example.com").AccessToken
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/price/cart/items/"+p.ID, tok, `{"quantity":1}`), http.StatusOK)
	admin := s.login("price", "admin@example.com").AccessToken
	expectStatus(t, "price up", s.call("PATCH", "/api/v1/stores/price/products/"+p.ID, admin, `{"price":{"amount":7000,"currency":"GBP"}}`), http.StatusOK)
	cart := s.call("GET", "/api/v1/stores/price/cart", tok, nil)
	if !strings.Contains(string(cart.body), `"previous_unit_price":{"amount":5000,"currency":"GBP"}`) || !strings.Contains(string(cart.body), `"price_changed":true`) {
		t.Fatalf("the cart does not show the change: %s", cart.body)
	}
	a := s.call("POST", "/api/v1/stores/price/checkout", tok, checkoutBody, "Idempotency-Key", "p-1")
	expectStatus(t, "checkout at a changed price", a, http.StatusConflict)
	if !strings.HasSuffix(a.problemType(t), "price-changed") || !strings.Contains(string(a.body), "£70.00 (was £50.00)") {
		t.Fatalf("conflict: %s", a.body)
	}
	a = s.call("POST", "/api/v1/stores/price/checkout", tok, checkoutBody, "Idempotency-Key", "p-2")
	expectStatus(t, "checkout again, accepting the price", a, http.StatusCreated)
	if !strings.Contains(string(a.body), `"total":{"amount":7000`) || !strings.Contains(string(a.body), `"amount":{"amount":7000,"currency":"GBP"}`) {
		t.Fatalf("order: %s", a.body)
	}
}

// Refunds: never more than was paid and not yet refunded; without an amount, the rest; a refused
// refund changes nothing; only an admin refunds.
func TestRefunds_PartialThenTheRest(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("ret")
		p := s.newProduct("ret", "RET-1", 1250, 5)
		buyer := s.customer("ret", "buyer@example.com").AccessToken
		a := s.buy("ret", buyer, p.ID, 2)
		var o struct {
			ID       string
			Status   string
			Refunded shop.Money
		}
		a.json(t, &o)
		admin := s.login("ret", "admin@example.com").AccessToken
		clerk := s.login("ret", "clerk@example.com").AccessToken
		refunds := "/api/v1/stores/ret/orders/" + o.ID + "/refunds"
		expectStatus(t, "clerk refunds", s.call("POST", refunds, clerk, `{"amount":{"amount":100,"currency":"GBP"},"reason":"x"}`), http.StatusForbidden)
		expectStatus(t, "customer refunds", s.call("POST", refunds, buyer, `{"reason":"x"}`), http.StatusForbidden)
		expectStatus(t, "zero", s.call("POST", refunds, admin, `{"amount":{"amount":0,"currency":"GBP"},"reason":"x"}`), http.StatusUnprocessableEntity)
		expectStatus(t, "no reason", s.call("POST", refunds, admin, `{"amount":{"amount":100,"currency":"GBP"}}`), http.StatusUnprocessableEntity)
		expectStatus(t, "another currency", s.call("POST", refunds, admin, `{"amount":{"amount":100,"currency":"EUR"},"reason":"x"}`), http.StatusUnprocessableEntity)
		// Money has one shape everywhere: a bare number is refused, and the answer says the shape.
		a = s.call("POST", refunds, admin, `{"amount":100,"reason":"x"}`)
		expectStatus(t, "a bare amount", a, http.StatusUnprocessableEntity)
		if !strings.Contains(string(a.body), `\"currency\"`) {
			t.Fatalf("the refusal of a bare amount: %s", a.body)
		}
		// Restocking names lines: the old yes/no is refused with the shape it takes.
		expectStatus(t, "restock true", s.call("POST", refunds, admin, `{"reason":"x","restock":true}`), http.StatusUnprocessableEntity)

		a = s.call("POST", refunds, admin, `{"amount":{"amount":1000,"currency":"GBP"},"reason":"one arrived dented"}`)
		expectStatus(t, "partial", a, http.StatusCreated)
		a.json(t, &o)
		if o.Status != "partially_refunded" || o.Refunded.Amount != 1000 {
			t.Fatalf("after a partial refund: %+v", o)
		}
		a = s.call("POST", refunds, admin, `{"amount":{"amount":1501,"currency":"GBP"},"reason":"too much"}`)
		expectStatus(t, "more than is left", a, http.StatusUnprocessableEntity)
		if !strings.Contains(string(a.body), "£15.00") {
			t.Fatalf("the refusal does not say what is left: %s", a.body)
		}
		s.call("GET", "/api/v1/stores/ret/orders/"+o.ID, admin, nil).json(t, &o)
		if o.Status != "partially_refunded" || o.Refunded.Amount != 1000 {
			t.Fatalf("a refused refund changed the order: %+v", o)
		}
		a = s.call("POST", refunds, admin, `{"reason":"the rest, after all"}`)
		expectStatus(t, "the rest", a, http.StatusCreated)
		a.json(t, &o)
		if o.Status != "refunded" || o.Refunded.Amount != 2500 {
			t.Fatalf("after refunding the rest: %+v", o)
		}
		expectStatus(t, "nothing left", s.call("POST", refunds, admin, `{"reason":"again"}`), http.StatusConflict)
	})
}
