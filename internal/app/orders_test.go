package app_test

import (
	"strings"
	"testing"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

type orderJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Total  shop.Money
	Items  []struct {
		ProductID string     `json:"product_id"`
		Quantity  int        `json:"quantity"`
		UnitPrice shop.Money `json:"unit_price"`
	} `json:"items"`
	Payment struct {
		State       string  `json:"state"`
		Provider    string  `json:"provider"`
		Reference   string  `json:"reference"`
		RedirectURL *string `json:"redirect_url"`
	} `json:"payment"`
	Paid          shop.Money `json:"paid"`
	ReservedUntil *time.Time `json:"reserved_until"`
	History       []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"history"`
}

func TestOrders_OtherCustomersAndStoresSeeNothing(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("own")
		s.store("other")
		p := s.newProduct("own", "X-1", 100, 10)
		alice := s.login("own", "customer@example.com").AccessToken
		a := s.buy("own", alice, p.ID, 1)
		var o orderJSON
		a.json(t, &o)

		bob := s.customer("own", "bob@example.com").AccessToken
		expectStatus(t, "bob reads alice's order", s.call("GET", "/api/v1/stores/own/orders/"+o.ID, bob, nil), 404)
		expectStatus(t, "bob cancels alice's order", s.call("POST", "/api/v1/stores/own/orders/"+o.ID+"/cancel", bob, nil), 404)
		expectStatus(t, "bob asks for alice's payment page", s.call("POST", "/api/v1/stores/own/orders/"+o.ID+"/pay", bob, nil), 404)
		a = s.call("GET", "/api/v1/stores/own/orders", bob, nil)
		if strings.Contains(string(a.body), o.ID) {
			t.Fatal("alice's order in bob's list")
		}
		otherAdmin := s.login("other", "admin@example.com").AccessToken
		expectStatus(t, "other store's admin", s.call("GET", "/api/v1/stores/own/orders/"+o.ID, otherAdmin, nil), 404)
		expectStatus(t, "through the other store's path", s.call("GET", "/api/v1/stores/other/orders/"+o.ID, otherAdmin, nil), 404)
		otherCustomer := s.login("other", "customer@example.com").AccessToken
		expectStatus(t, "other store's customer cancels", s.call("POST", "/api/v1/stores/other/orders/"+o.ID+"/cancel", otherCustomer, nil), 404)
		expectStatus(t, "other store's customer puts own store's product in cart", s.call("PUT", "/api/v1/stores/other/cart/items/"+p.ID, otherCustomer, `{"quantity":1}`), 404)
		expectStatus(t, "clerk checks out", s.call("POST", "/api/v1/stores/own/checkout", s.login("own", "clerk@example.com").AccessToken, checkoutBody), 403)

		// Alice cancels: the stock comes back; the order's history shows every move.
		a = s.call("POST", "/api/v1/stores/own/orders/"+o.ID+"/cancel", alice, nil)
		expectStatus(t, "alice cancels", a, 200)
		a.json(t, &o)
		if o.Status != "cancelled" || len(o.History) != 3 || o.History[2].From != "paid" || o.History[2].To != "cancelled" {
			t.Fatalf("cancelled order %+v", o)
		}
		if stock, ledger := s.stockAndLedger("own", p.ID); stock != 10 || ledger != 10 {
			t.Fatalf("stock %d ledger %d after cancel, want 10", stock, ledger)
		}
		expectStatus(t, "cancel twice", s.call("POST", "/api/v1/stores/own/orders/"+o.ID+"/cancel", alice, nil), 409)
	})
}

func TestOrders_StateMachine(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("flow")
	p := s.newProduct("flow", "F-1", 250, 3)
	cust := s.login("flow", "customer@example.com").AccessToken
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/flow/cart/items/"+p.ID, cust, `{"quantity":1}`), 200)
	// The contract requires an Idempotency-Key: without one, a clear 400 naming the header.
	a := s.call("POST", "/api/v1/stores/flow/checkout", cust, checkoutBody)
	expectStatus(t, "checkout without a key", a, 400)
	if !strings.HasSuffix(a.problemType(t), "idempotency-key-required") || !strings.Contains(string(a.body), `"field":"Idempotency-Key"`) {
		t.Fatalf("checkout without a key: %s", a.body)
	}
	a = s.call("POST", "/api/v1/stores/flow/checkout", cust, checkoutBody, "Idempotency-Key", testenv.RandomName("k"))
	expectStatus(t, "checkout with a key", a, 201)
	a = s.pay("flow", cust, a, "4242424242424242")
	var o orderJSON
	a.json(t, &o)
	clerk := s.login("flow", "clerk@example.com").AccessToken
	move := func(to string, want int) {
		t.Helper()
		expectStatus(t, "move to "+to, s.call("POST", "/api/v1/stores/flow/orders/"+o.ID+"/status", clerk, map[string]string{"status": to, "note": "by test"}), want)
	}
	expectStatus(t, "customer moves status", s.call("POST", "/api/v1/stores/flow/orders/"+o.ID+"/status", cust, `{"status":"shipped"}`), 403)
	move("paid", 422)
	move("refunded", 422)
	move("processing", 200)
	move("shipped", 200)
	expectStatus(t, "cancel after shipping", s.call("POST", "/api/v1/stores/flow/orders/"+o.ID+"/cancel", cust, nil), 409)
	move("processing", 409)
	move("delivered", 200)
	move("cancelled", 409)
	a = s.call("GET", "/api/v1/stores/flow/orders/"+o.ID, cust, nil)
	a.json(t, &o)
	var moves []string
	for _, h := range o.History {
		moves = append(moves, h.From+">"+h.To)
	}
	if got := strings.Join(moves, " "); got != ">pending_payment pending_payment>paid paid>processing processing>shipped shipped>delivered" {
		t.Fatalf("history %s", got)
	}
}
