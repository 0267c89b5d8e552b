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
	"secureshop/internal/payment/testpay"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// checkoutBody is a checkout's body: nothing but what it may have (no card: the customer pays on
// the provider's page).
const checkoutBody = `{}`

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

// TestCheckout_64BuyersNeverOversell: 64 buyers race for 10 units. Ten are sent to pay, the others
// are told it is sold out before anyone is sent to pay; seven pay and three walk away. At their
// deadline the expiry job — run by two instances at once, and again — gives the three abandoned
// reservations' stock back exactly once, and the ledgers add up.
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
		answers := make([]answer, buyers)
		start := make(chan struct{})
		for i := range tokens {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				answers[i] = s.call("POST", "/api/v1/stores/race/checkout", tokens[i], checkoutBody, "Idempotency-Key", fmt.Sprintf("race-%d", i))
			}(i)
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		var reserved []int
		for i, a := range answers {
			count[a.status]++
			switch a.status {
			case http.StatusCreated:
				reserved = append(reserved, i)
			case http.StatusConflict:
				if !strings.Contains(string(a.body), "Not enough LAST-10") && !strings.Contains(string(a.body), "in stock") {
					t.Fatalf("a buyer who missed out is told: %s", a.body)
				}
			}
		}
		if count[http.StatusCreated] != 10 || count[http.StatusConflict] != buyers-10 {
			t.Fatalf("outcomes %v: want 10 × 201 and %d × 409", count, buyers-10)
		}
		if stock, ledger := s.stockAndLedger("race", p.ID); stock != 0 || ledger != stock {
			t.Fatalf("stock %d, ledger sum %d while reserved: want 0 and equal", stock, ledger)
		}
		for _, i := range reserved[:7] {
			if o := s.pay("race", tokens[i], answers[i], "4242424242424242"); !strings.Contains(string(o.body), `"status":"paid"`) {
				t.Fatalf("paid order: %s", o.body)
			}
		}
		// The three left unpaid reach their deadline.
		raw := testenv.RawDB(t, url)
		if _, err := raw.Exec(`UPDATE orders SET reserved_until = created_at WHERE status = 'pending_payment'`); err != nil {
			t.Fatal(err)
		}
		var jobs sync.WaitGroup
		for range 2 {
			jobs.Go(func() {
				for range 2 {
					if _, err := s.app.Orders.ExpireReservations(context.Background()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		jobs.Wait()
		stock, ledger := s.stockAndLedger("race", p.ID)
		if stock != 3 || ledger != stock {
			t.Fatalf("stock %d, ledger sum %d after the expiry: want 3 and equal", stock, ledger)
		}
		admin := s.login("race", "admin@example.com")
		for status, want := range map[string]int{"paid": 7, "cancelled": 3, "pending_payment": 0} {
			a := s.call("GET", "/api/v1/stores/race/orders?limit=100&status="+status, admin.AccessToken, nil)
			var page struct{ Items []orderJSON }
			a.json(t, &page)
			if len(page.Items) != want {
				t.Fatalf("%d %s orders, want %d", len(page.Items), status, want)
			}
		}
		var charged, failed int64
		if err := raw.QueryRow(`SELECT COALESCE(SUM(CASE WHEN state = 'succeeded' THEN amount END), 0),
			COUNT(CASE WHEN state = 'failed' THEN 1 END) FROM payments WHERE kind = 'charge'`).Scan(&charged, &failed); err != nil {
			t.Fatal(err)
		}
		if charged != 7*999 || failed != 3 {
			t.Fatalf("payments ledger: %d charged, %d failed charges; want %d and 3", charged, failed, 7*999)
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

// TestCheckout_IdempotencyDeclineAndTampering: no card or price is taken in the checkout's body;
// the checkout answers with the order pending payment and the provider's page; a declined card
// there leaves the order payable; a retried checkout is the same order and page; the customer is
// mailed once the payment is confirmed, without a card in it.
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
		expectStatus(t, "checkout with a price", s.call("POST", checkout, tok, `{"total":{"amount":1}}`, "Idempotency-Key", "k0"), 422)
		card := s.call("POST", checkout, tok, `{"payment":{"card_number":"4242424242424242","exp_month":12,"exp_year":2035,"cvc":"123"}}`, "Idempotency-Key", "k0")
		expectStatus(t, "checkout with a card", card, 422)
		if strings.Contains(string(card.body), "4242424242424242") {
			t.Fatalf("the card number echoed: %s", card.body)
		}
		if stock, _ := s.stockAndLedger("idem", p.ID); stock != 5 {
			t.Fatalf("stock after refused checkouts: %d, want 5", stock)
		}

		first := s.call("POST", checkout, tok, checkoutBody, "Idempotency-Key", "k2")
		expectStatus(t, "checkout", first, http.StatusCreated)
		var o orderJSON
		first.json(t, &o)
		if o.Status != "pending_payment" || o.Total.Amount != 900 || o.Payment.State != "pending" || o.Payment.Provider != "testpay" ||
			o.Payment.RedirectURL == nil || !strings.HasPrefix(*o.Payment.RedirectURL, s.app.Testpay+"/pay/") || o.ReservedUntil == nil ||
			len(o.Items) != 1 || o.Items[0].UnitPrice.Amount != 450 {
			t.Fatalf("order %s", first.body)
		}
		again := s.call("POST", checkout, tok, checkoutBody, "Idempotency-Key", "k2")
		expectStatus(t, "retried checkout", again, http.StatusCreated)
		var o2 orderJSON
		again.json(t, &o2)
		if o2.ID != o.ID || again.header.Get("Idempotent-Replayed") != "true" || *o2.Payment.RedirectURL != *o.Payment.RedirectURL {
			t.Fatalf("retry made %s (replayed=%q), want %s", o2.ID, again.header.Get("Idempotent-Replayed"), o.ID)
		}
		expectStatus(t, "same key, other body", s.call("POST", checkout, tok, `{"expected_total":{"amount":900,"currency":"GBP"}}`, "Idempotency-Key", "k2"), 422)
		if stock, ledger := s.stockAndLedger("idem", p.ID); stock != 3 || ledger != 3 {
			t.Fatalf("stock %d ledger %d after one order of 2, want 3 and 3", stock, ledger)
		}
		expectStatus(t, "empty cart", s.call("POST", checkout, tok, checkoutBody, "Idempotency-Key", "k3"), http.StatusConflict)

		// A declined card on the provider's page: nothing taken, the order still payable.
		declined := s.pay("idem", tok, first, testpay.DeclinedCard)
		var d orderJSON
		declined.json(t, &d)
		if d.Status != "pending_payment" || d.Payment.RedirectURL == nil || d.Paid.Amount != 0 {
			t.Fatalf("after a declined card: %s", declined.body)
		}
		// The card that needs the bank's approval, approved: paid.
		paid := s.pay("idem", tok, first, testpay.ApprovalCard)
		var pd orderJSON
		paid.json(t, &pd)
		if pd.Status != "paid" || pd.Paid.Amount != 900 || pd.Payment.State != "succeeded" || pd.Payment.Reference == "" || pd.Payment.RedirectURL != nil {
			t.Fatalf("after paying: %s", paid.body)
		}

		// The customer got a mail that holds the order. It goes out after the webhook's answer, so
		// give it a moment.
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
		if m := mails[0]; !strings.Contains(m.Body, o.ID) || !strings.Contains(m.Subject, "order confirmation") {
			t.Fatalf("confirmation mail:\n%s", m.Raw)
		}
	})
}
