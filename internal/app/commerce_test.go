package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

const goodCard = `{"payment":{"card_number":"4242 4242 4242 4242","exp_month":12,"exp_year":2035,"cvc":"123"}}`
const declinedCard = `{"payment":{"card_number":"4000000000000002","exp_month":12,"exp_year":2035,"cvc":"123"}}`

type productJSON struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Stock int        `json:"stock"`
	Price shop.Money `json:"price"`
}

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
		Brand string `json:"brand"`
		Last4 string `json:"last4"`
	} `json:"payment"`
	History []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"history"`
}

// newProduct creates a product through the API as the store's admin.
func (s *testShop) newProduct(store, sku string, price int64, stock int) productJSON {
	s.t.Helper()
	admin := s.login(store, "admin@example.com")
	a := s.call("POST", "/api/v1/stores/"+store+"/products", admin.AccessToken, map[string]any{
		"sku": sku, "name": "Product " + sku, "description": "A fine " + sku, "price": map[string]any{"amount": price, "currency": "GBP"}, "stock": stock})
	expectStatus(s.t, "create product", a, http.StatusCreated)
	var p productJSON
	a.json(s.t, &p)
	return p
}

// customer creates another customer account in store and signs it in.
func (s *testShop) customer(store, email string) identity.Tokens {
	s.t.Helper()
	st, err := s.app.Stores.BySlug(context.Background(), store)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.app.Identity.CreateUser(context.Background(), shop.System(), st.ID, identity.NewUser{Email: email, Role: shop.RoleCustomer, Password: testPassword}); err != nil {
		s.t.Fatal(err)
	}
	return s.login(store, email)
}

func (s *testShop) stockAndLedger(store, productID string) (int, int) {
	s.t.Helper()
	ctx := context.Background()
	st, _ := s.app.Stores.BySlug(ctx, store)
	var stock, sum int
	err := s.app.DB.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		p, err := tx.ProductByID(ctx, st.ID, productID)
		if err != nil {
			return err
		}
		stock = p.Stock
		sum, err = tx.LedgerSum(ctx, st.ID, productID)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return stock, sum
}

func TestCheckout_64BuyersNeverOversell(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("race")
		p := s.newProduct("race", "LAST-10", 999, 10)
		const buyers = 64
		tokens := make([]string, buyers)
		for i := range tokens {
			tok := s.customer("race", fmt.Sprintf("buyer%02d@example.com", i))
			tokens[i] = tok.AccessToken
			expectStatus(t, "add to cart", s.call("PUT", "/api/v1/stores/race/cart/items/"+p.ID, tok.AccessToken, `{"quantity":1}`), http.StatusOK)
		}
		var wg sync.WaitGroup
		statuses := make([]int, buyers)
		start := make(chan struct{})
		for i := range tokens {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				a := s.call("POST", "/api/v1/stores/race/checkout", tokens[i], goodCard, "Idempotency-Key", fmt.Sprintf("race-%d", i))
				statuses[i] = a.status
			}(i)
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for _, st := range statuses {
			count[st]++
		}
		if count[http.StatusCreated] != 10 || count[http.StatusConflict] != buyers-10 {
			t.Fatalf("outcomes %v: want 10 × 201 and %d × 409", count, buyers-10)
		}
		stock, ledger := s.stockAndLedger("race", p.ID)
		if stock != 0 || ledger != stock {
			t.Fatalf("stock %d, ledger sum %d: want 0 and equal", stock, ledger)
		}
		admin := s.login("race", "admin@example.com")
		a := s.call("GET", "/api/v1/stores/race/orders?limit=100&status=paid", admin.AccessToken, nil)
		var page struct{ Items []orderJSON }
		a.json(t, &page)
		if len(page.Items) != 10 {
			t.Fatalf("%d paid orders, want 10", len(page.Items))
		}
	})
}

// Changing the cart answers with the cart as it is after the change (read in the same
// transaction), and a refused change leaves it as it was.
func TestCart_ChangeAnswersWithTheCartAfterIt(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("basket")
		tea := s.newProduct("basket", "TEA-1", 450, 5)
		jam := s.newProduct("basket", "JAM-1", 300, 9)
		tok := s.login("basket", "customer@example.com").AccessToken
		type cartJSON struct {
			Items []struct {
				ProductID string     `json:"product_id"`
				Quantity  int        `json:"quantity"`
				LineTotal shop.Money `json:"line_total"`
			} `json:"items"`
			Total shop.Money `json:"total"`
		}
		check := func(step string, a answer, want map[string]int, total int64) {
			t.Helper()
			expectStatus(t, step, a, http.StatusOK)
			var c cartJSON
			a.json(t, &c)
			got := map[string]int{}
			for _, it := range c.Items {
				got[it.ProductID] = it.Quantity
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || c.Total.Amount != total {
				t.Fatalf("%s: cart %s, want %v totalling %d", step, a.body, want, total)
			}
			// The answer is worked out in the transaction, not read again after it: it must
			// equal, line for line and in order, the cart as it is read afterwards.
			if after := s.call("GET", "/api/v1/stores/basket/cart", tok, nil); string(after.body) != string(a.body) {
				t.Fatalf("%s: answered %s, but the cart reads %s", step, a.body, after.body)
			}
		}
		base := "/api/v1/stores/basket/cart/items/"
		check("put tea", s.call("PUT", base+tea.ID, tok, `{"quantity":2}`), map[string]int{tea.ID: 2}, 900)
		check("put jam", s.call("PUT", base+jam.ID, tok, `{"quantity":3}`), map[string]int{tea.ID: 2, jam.ID: 3}, 1800)
		bun := s.newProduct("basket", "BUN-1", 100, 9)
		check("put bun", s.call("PUT", base+bun.ID, tok, `{"quantity":1}`), map[string]int{tea.ID: 2, jam.ID: 3, bun.ID: 1}, 1900)
		check("remove bun", s.call("DELETE", base+bun.ID, tok, nil), map[string]int{tea.ID: 2, jam.ID: 3}, 1800)
		check("change tea", s.call("PUT", base+tea.ID, tok, `{"quantity":1}`), map[string]int{tea.ID: 1, jam.ID: 3}, 1350)
		expectStatus(t, "more tea than in stock", s.call("PUT", base+tea.ID, tok, `{"quantity":6}`), 422)
		// An id is what the API gave out: the same UUID in capitals names nothing, on either
		// database (PostgreSQL would find it as a UUID, and the cart would count the line twice).
		expectStatus(t, "tea by its id in capitals", s.call("PUT", base+strings.ToUpper(tea.ID), tok, `{"quantity":2}`), 404)
		expectStatus(t, "jam removed by its id in capitals", s.call("DELETE", base+strings.ToUpper(jam.ID), tok, nil), 404)
		check("cart after the refused change", s.call("GET", "/api/v1/stores/basket/cart", tok, nil), map[string]int{tea.ID: 1, jam.ID: 3}, 1350)
		check("remove jam", s.call("DELETE", base+jam.ID, tok, nil), map[string]int{tea.ID: 1}, 450)
	})
}

func TestCheckout_IdempotencyDeclineAndTampering(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("idem")
		p := s.newProduct("idem", "TEA-1", 450, 5)
		tok := s.login("idem", "customer@example.com").AccessToken
		cart := "/api/v1/stores/idem/cart/items/" + p.ID
		checkout := "/api/v1/stores/idem/checkout"

		// The client cannot set the price, and quantities are checked.
		expectStatus(t, "cart with a price", s.call("PUT", cart, tok, `{"quantity":2,"price":{"amount":1,"currency":"GBP"}}`), 422)
		expectStatus(t, "quantity 0", s.call("PUT", cart, tok, `{"quantity":0}`), 422)
		expectStatus(t, "quantity 100", s.call("PUT", cart, tok, `{"quantity":100}`), 422)
		expectStatus(t, "more than in stock", s.call("PUT", cart, tok, `{"quantity":6}`), 422)
		expectStatus(t, "quantity 2", s.call("PUT", cart, tok, `{"quantity":2}`), 200)
		expectStatus(t, "checkout with a price", s.call("POST", checkout, tok, `{"payment":{"card_number":"4242424242424242","exp_month":12,"exp_year":2035,"cvc":"123"},"total":{"amount":1}}`, "Idempotency-Key", "k0"), 422)
		expectStatus(t, "bad card number", s.call("POST", checkout, tok, `{"payment":{"card_number":"4242424242424241","exp_month":12,"exp_year":2035,"cvc":"123"}}`, "Idempotency-Key", "k0"), 422)

		// A declined card takes nothing and leaves the cart.
		a := s.call("POST", checkout, tok, declinedCard, "Idempotency-Key", "k1")
		expectStatus(t, "declined card", a, http.StatusPaymentRequired)
		if !strings.HasSuffix(a.problemType(t), "card-declined") || strings.Contains(string(a.body), "4000000000000002") {
			t.Fatalf("decline answer: %s", a.body)
		}
		if stock, _ := s.stockAndLedger("idem", p.ID); stock != 5 {
			t.Fatalf("stock after a decline: %d, want 5", stock)
		}
		// The attempt stays on record as a cancelled order whose payment failed: no money taken.
		a = s.call("GET", "/api/v1/stores/idem/orders", tok, nil)
		var declined struct{ Items []orderJSON }
		a.json(t, &declined)
		if len(declined.Items) != 1 || declined.Items[0].Status != "cancelled" {
			t.Fatalf("orders after a decline: %s", a.body)
		}
		// The listing tells what was ordered and how its payment went, as the order's own page does.
		if !strings.Contains(string(a.body), `"quantity":2`) || !strings.Contains(string(a.body), `"state":"failed"`) {
			t.Fatalf("the listing hides the order's lines or its payment: %s", a.body)
		}
		a = s.call("GET", "/api/v1/stores/idem/orders/"+declined.Items[0].ID, tok, nil)
		if !strings.Contains(string(a.body), `"paid":{"amount":0`) || !strings.Contains(string(a.body), `"state":"failed"`) ||
			!strings.Contains(string(a.body), `"note":"payment declined"`) {
			t.Fatalf("the declined order: %s", a.body)
		}
		a = s.call("GET", "/api/v1/stores/idem/cart", tok, nil)
		if !strings.Contains(string(a.body), `"quantity":2`) {
			t.Fatalf("cart lost after a decline: %s", a.body)
		}

		// A retried checkout returns the same order.
		first := s.call("POST", checkout, tok, goodCard, "Idempotency-Key", "k2")
		expectStatus(t, "checkout", first, http.StatusCreated)
		var o orderJSON
		first.json(t, &o)
		if o.Status != "paid" || o.Total.Amount != 900 || o.Payment.Last4 != "4242" || o.Payment.Brand != "visa" || len(o.Items) != 1 || o.Items[0].UnitPrice.Amount != 450 {
			t.Fatalf("order %s", first.body)
		}
		if strings.Contains(string(first.body), "4242424242424242") || strings.Contains(string(first.body), `"123"`) {
			t.Fatal("card number or CVC echoed")
		}
		again := s.call("POST", checkout, tok, goodCard, "Idempotency-Key", "k2")
		expectStatus(t, "retried checkout", again, http.StatusCreated)
		var o2 orderJSON
		again.json(t, &o2)
		if o2.ID != o.ID || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry made %s (replayed=%q), want %s", o2.ID, again.header.Get("Idempotent-Replayed"), o.ID)
		}
		expectStatus(t, "same key, other body", s.call("POST", checkout, tok, `{"payment":{"card_number":"5555555555554444","exp_month":12,"exp_year":2035,"cvc":"123"}}`, "Idempotency-Key", "k2"), 422)
		if stock, ledger := s.stockAndLedger("idem", p.ID); stock != 3 || ledger != 3 {
			t.Fatalf("stock %d ledger %d after one order of 2, want 3 and 3", stock, ledger)
		}
		expectStatus(t, "empty cart", s.call("POST", checkout, tok, goodCard, "Idempotency-Key", "k3"), http.StatusConflict)

		// The customer got a mail that holds the order but not the card. It goes out after the
		// answer, so give it a moment.
		toCustomer := func() (mails []testenv.Mail) {
			for _, m := range testenv.Mails(t, s.app.Cfg.MailDir) {
				if m.To == "customer@example.com" {
					mails = append(mails, m)
				}
			}
			return mails
		}
		for deadline := time.Now().Add(5 * time.Second); len(toCustomer()) == 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // a second, wrongly sent mail would be here by now
		mails := toCustomer()
		if len(mails) != 1 {
			t.Fatalf("%d mails to the customer, want 1", len(mails))
		}
		if m := mails[0]; !strings.Contains(m.Body, o.ID) || strings.Contains(m.Raw, "4242424242424242") {
			t.Fatalf("confirmation mail:\n%s", m.Raw)
		}
	})
}

func TestOrders_OtherCustomersAndStoresSeeNothing(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("own")
		s.store("other")
		p := s.newProduct("own", "X-1", 100, 10)
		alice := s.login("own", "customer@example.com").AccessToken
		expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/own/cart/items/"+p.ID, alice, `{"quantity":1}`), 200)
		a := s.call("POST", "/api/v1/stores/own/checkout", alice, goodCard, "Idempotency-Key", "a")
		expectStatus(t, "checkout", a, 201)
		var o orderJSON
		a.json(t, &o)

		bob := s.customer("own", "bob@example.com").AccessToken
		expectStatus(t, "bob reads alice's order", s.call("GET", "/api/v1/stores/own/orders/"+o.ID, bob, nil), 404)
		expectStatus(t, "bob cancels alice's order", s.call("POST", "/api/v1/stores/own/orders/"+o.ID+"/cancel", bob, nil), 404)
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
		expectStatus(t, "clerk checks out", s.call("POST", "/api/v1/stores/own/checkout", s.login("own", "clerk@example.com").AccessToken, goodCard), 403)

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
	a := s.call("POST", "/api/v1/stores/flow/checkout", cust, goodCard)
	expectStatus(t, "checkout without a key", a, 400)
	if !strings.HasSuffix(a.problemType(t), "idempotency-key-required") || !strings.Contains(string(a.body), `"field":"Idempotency-Key"`) {
		t.Fatalf("checkout without a key: %s", a.body)
	}
	a = s.call("POST", "/api/v1/stores/flow/checkout", cust, goodCard, "Idempotency-Key", testenv.RandomName("k"))
	expectStatus(t, "checkout with a key", a, 201)
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

func TestCatalog_AdminAndClerkManageProducts(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("cat")
		p := s.newProduct("cat", "SKU-1", 500, 2)
		admin := s.login("cat", "admin@example.com").AccessToken
		clerk := s.login("cat", "clerk@example.com").AccessToken
		cust := s.login("cat", "customer@example.com").AccessToken
		dup := s.call("POST", "/api/v1/stores/cat/products", clerk, `{"sku":"SKU-1","name":"Again","price":{"amount":1,"currency":"GBP"}}`)
		expectStatus(t, "duplicate SKU", dup, http.StatusConflict)
		expectStatus(t, "customer creates a product", s.call("POST", "/api/v1/stores/cat/products", cust, `{"sku":"C-1","name":"x","price":{"amount":1}}`), 403)
		expectStatus(t, "wrong currency", s.call("POST", "/api/v1/stores/cat/products", clerk, `{"sku":"E-1","name":"x","price":{"amount":1,"currency":"EUR"}}`), 422)
		expectStatus(t, "stock by PATCH", s.call("PATCH", "/api/v1/stores/cat/products/"+p.ID, clerk, `{"stock":100}`), 422)
		a := s.call("PATCH", "/api/v1/stores/cat/products/"+p.ID, clerk, `{"name":"Renamed","price":{"amount":650,"currency":"GBP"}}`)
		expectStatus(t, "clerk edits", a, 200)
		expectStatus(t, "adjust without reason", s.call("POST", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":5,"reason":""}`), 422)
		expectStatus(t, "below zero", s.call("POST", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":-3,"reason":"count"}`), 409)
		a = s.call("POST", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":8,"reason":"delivery"}`)
		expectStatus(t, "delivery", a, 201)
		var got productJSON
		a.json(t, &got)
		if got.Stock != 10 || got.Price.Amount != 650 {
			t.Fatalf("product after edits %s", a.body)
		}
		a = s.call("GET", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, nil)
		if !strings.Contains(string(a.body), `"reason":"delivery"`) || !strings.Contains(string(a.body), `"stock_after":10`) {
			t.Fatalf("ledger %s", a.body)
		}
		expectStatus(t, "clerk archives", s.call("DELETE", "/api/v1/stores/cat/products/"+p.ID, clerk, nil), 403)
		expectStatus(t, "admin archives", s.call("DELETE", "/api/v1/stores/cat/products/"+p.ID, admin, nil), 204)
		expectStatus(t, "archived product is gone from the shop", s.call("GET", "/api/v1/stores/cat/products/"+p.ID, "", nil), 404)
		a = s.call("GET", "/api/v1/stores/cat/audit-events", admin, nil)
		for _, action := range []string{"product.create", "product.update", "inventory.adjust", "product.archive"} {
			if !strings.Contains(string(a.body), `"action":"`+action+`"`) {
				t.Errorf("audit log lacks %s", action)
			}
		}
	})
}

// Listings, the storefront's product grid and products are cached; every change made through the
// shop must show in the very next read: a rename, a price, a stock adjustment, a sale, an archive.
func TestCatalog_CachedListingsShowEveryChangeAtOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("fresh")
		p := s.newProduct("fresh", "FRESH-1", 500, 3)
		clerk := s.login("fresh", "clerk@example.com").AccessToken
		admin := s.login("fresh", "admin@example.com").AccessToken
		list := func() productJSON {
			t.Helper()
			var page struct{ Items []productJSON }
			s.call("GET", "/api/v1/stores/fresh/products?limit=24", "", nil).json(t, &page)
			for _, it := range page.Items {
				if it.ID == p.ID {
					return it
				}
			}
			return productJSON{}
		}
		storefront := func() string {
			t.Helper()
			a := s.call("GET", "/s/fresh/", "", nil)
			expectStatus(t, "storefront", a, http.StatusOK)
			return string(a.body)
		}
		// The product itself, through the API and its page; both must agree with the listing.
		one := func(want productJSON) {
			t.Helper()
			a := s.call("GET", "/api/v1/stores/fresh/products/"+p.ID, "", nil)
			page := s.call("GET", "/s/fresh/products/"+p.ID, "", nil)
			if want.ID == "" {
				expectStatus(t, "archived product", a, http.StatusNotFound)
				expectStatus(t, "archived product's page", page, http.StatusNotFound)
				return
			}
			var got productJSON
			a.json(t, &got)
			stock := fmt.Sprintf("%d in stock", want.Stock)
			if want.Stock == 0 {
				stock = "Out of stock"
			}
			if got.Name != want.Name || got.Price.Amount != want.Price.Amount || got.Stock != want.Stock ||
				!strings.Contains(string(page.body), want.Name) || !strings.Contains(string(page.body), stock) {
				t.Fatalf("the product reads %+v, its page %.300s; the listing %+v", got, page.body, want)
			}
		}
		// Each store's cached listing and grid are its own.
		s.store("other")
		foreign := s.newProduct("other", "OTHER-1", 999, 9)
		for range 2 { // the second round is served from the caches
			expectStatus(t, "another store's product", s.call("GET", "/api/v1/stores/other/products/"+foreign.ID, "", nil), http.StatusOK)
			expectStatus(t, "another store's product asked of this one", s.call("GET", "/api/v1/stores/fresh/products/"+foreign.ID, "", nil), http.StatusNotFound)
			expectStatus(t, "another store's product page", s.call("GET", "/s/fresh/products/"+foreign.ID, "", nil), http.StatusNotFound)
			for store, want := range map[string]string{"fresh": "Product FRESH-1", "other": "Product OTHER-1"} {
				page := string(s.call("GET", "/s/"+store+"/", "", nil).body)
				list := string(s.call("GET", "/api/v1/stores/"+store+"/products", "", nil).body)
				for _, got := range []string{page, list} {
					if !strings.Contains(got, want) || strings.Contains(got, "FRESH-1") != (store == "fresh") ||
						strings.Contains(got, "OTHER-1") != (store == "other") {
						t.Fatalf("store %s shows another store's products:\n%.400s", store, got)
					}
				}
			}
		}
		// Warm both caches, then change the product and read again at once.
		if got := list(); got.Stock != 3 || !strings.Contains(storefront(), "3 in stock") {
			t.Fatalf("before: %+v", got)
		}
		one(list())
		expectStatus(t, "rename", s.call("PATCH", "/api/v1/stores/fresh/products/"+p.ID, clerk, `{"name":"Fresh Figs","price":{"amount":725,"currency":"GBP"}}`), 200)
		if got := list(); got.Name != "Fresh Figs" || got.Price.Amount != 725 {
			t.Fatalf("listing after the rename: %+v", got)
		}
		if page := storefront(); !strings.Contains(page, "Fresh Figs") || !strings.Contains(page, "£7.25") {
			t.Fatal("storefront after the rename still shows the old product")
		}
		one(list())
		expectStatus(t, "delivery", s.call("POST", "/api/v1/stores/fresh/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":4,"reason":"delivery"}`), 201)
		if got := list(); got.Stock != 7 || !strings.Contains(storefront(), "7 in stock") {
			t.Fatalf("after the delivery: %+v", got)
		}
		one(list())
		buyer := s.customer("fresh", "figs@example.com").AccessToken
		expectStatus(t, "add to cart", s.call("PUT", "/api/v1/stores/fresh/cart/items/"+p.ID, buyer, `{"quantity":7}`), http.StatusOK)
		expectStatus(t, "checkout", s.call("POST", "/api/v1/stores/fresh/checkout", buyer, goodCard, "Idempotency-Key", testenv.RandomName("k")), http.StatusCreated)
		if got := list(); got.Stock != 0 || !strings.Contains(storefront(), "Out of stock") {
			t.Fatalf("after the sale: %+v", got)
		}
		one(list())
		expectStatus(t, "archive", s.call("DELETE", "/api/v1/stores/fresh/products/"+p.ID, admin, nil), 204)
		if got := list(); got.ID != "" || strings.Contains(storefront(), "Fresh Figs") {
			t.Fatalf("the archived product is still listed: %+v", got)
		}
		one(productJSON{})
	})
}

// A cursor carries the last product's name; names of the full 200 characters, in any script, must
// page as well as short ones, by every sort.
func TestCatalog_PagesThroughLongNames(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("long")
		clerk := s.login("long", "clerk@example.com").AccessToken
		for i, r := range []string{"é", "ж", "漢", "a"} {
			name := strings.Repeat(r, 199) + fmt.Sprint(i)
			expectStatus(t, "create", s.call("POST", "/api/v1/stores/long/products", clerk, map[string]any{
				"sku": fmt.Sprintf("L-%d", i), "name": name, "price": map[string]any{"amount": 100 + i, "currency": "GBP"}, "stock": 1}), http.StatusCreated)
		}
		for _, bad := range []string{strings.Repeat("A", 2049), "bm90IGEgY3Vyc29y", strings.Repeat("é", 100)} {
			a := s.call("GET", "/api/v1/stores/long/products?cursor="+bad, "", nil)
			expectStatus(t, "a cursor the API never gave out", a, http.StatusUnprocessableEntity)
		}
		for _, sort := range []string{"name", "price", "newest"} {
			seen := map[string]bool{}
			cursor := ""
			for page := 0; page < 10; page++ {
				a := s.call("GET", "/api/v1/stores/long/products?limit=1&sort="+sort+"&cursor="+cursor, "", nil)
				expectStatus(t, "page "+sort, a, http.StatusOK)
				var l struct {
					Items      []productJSON
					NextCursor *string `json:"next_cursor"`
				}
				a.json(t, &l)
				for _, p := range l.Items {
					seen[p.ID] = true
				}
				if l.NextCursor == nil {
					break
				}
				cursor = *l.NextCursor
			}
			if len(seen) != 4 {
				t.Fatalf("sort %s: paged through %d of 4 products", sort, len(seen))
			}
		}
	})
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
