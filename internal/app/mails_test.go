package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"secureshop/internal/testenv"
)

// awaitMail waits for the mail to address whose subject holds subject (mail goes out after the
// answers that cause it) and returns it.
func (s *testShop) awaitMail(address, subject string) testenv.Mail {
	s.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m, ok := testenv.NewestMail(s.t, s.app.Cfg.MailDir, address, subject); ok {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no mail %q to %s", subject, address)
		}
	}
}

// TestMails_TellTheCustomerEveryTurnOfTheirOrder: paid, shipped, refunded, cancelled (with what is
// refunded), not paid in time — each a mail in the store's name, as text and as HTML, naming the
// order and the amount, with a link to the order's page.
func TestMails_TellTheCustomerEveryTurnOfTheirOrder(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	st, _ := s.store("post")
	p := s.newProduct("post", "POST-1", 1250, 10)
	cust := s.login("post", "customer@example.com").AccessToken
	clerk := s.login("post", "clerk@example.com").AccessToken
	admin := s.login("post", "admin@example.com").AccessToken
	const to = "customer@example.com"
	check := func(m testenv.Mail, id string, words ...string) {
		t.Helper()
		if !strings.HasPrefix(m.Subject, st.Name+": ") || !strings.Contains(m.HTML, st.Name) {
			t.Errorf("mail %q is not in the store's name", m.Subject)
		}
		for _, part := range []string{m.Body, m.HTML} {
			if part == "" {
				t.Fatalf("mail %q lacks a text or an HTML part:\n%s", m.Subject, m.Raw)
			}
			for _, w := range append(words, id, "/s/post/orders/"+id) {
				if !strings.Contains(part, w) {
					t.Errorf("mail %q lacks %q:\n%s", m.Subject, w, part)
				}
			}
		}
		if !strings.Contains(m.HTML, "<html") || strings.Contains(m.Body, "<p") {
			t.Errorf("mail %q: the HTML part is not HTML, or the text is:\n%s", m.Subject, m.Raw)
		}
	}

	var o orderJSON
	s.buy("post", cust, p.ID, 2).json(t, &o)
	check(s.awaitMail(to, "order confirmation"), o.ID, "£25.00", "2 × ")
	expectStatus(t, "ship", s.call("POST", "/api/v1/stores/post/orders/"+o.ID+"/status", clerk, `{"status":"shipped"}`), http.StatusOK)
	check(s.awaitMail(to, "on its way"), o.ID)
	expectStatus(t, "refund", s.call("POST", "/api/v1/stores/post/orders/"+o.ID+"/refunds", admin,
		`{"amount":{"amount":500,"currency":"GBP"},"reason":"dented"}`, "Idempotency-Key", "m-1"), http.StatusCreated)
	check(s.awaitMail(to, "refund made"), o.ID, "£5.00")

	var o2 orderJSON
	s.buy("post", cust, p.ID, 1).json(t, &o2)
	expectStatus(t, "cancel", s.call("POST", "/api/v1/stores/post/orders/"+o2.ID+"/cancel", cust, nil), http.StatusOK)
	check(s.awaitMail(to, "order cancelled"), o2.ID, "£12.50", "refunded")

	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/post/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
	a := s.call("POST", "/api/v1/stores/post/checkout", cust, checkoutBody, "Idempotency-Key", "m-3")
	expectStatus(t, "checkout", a, http.StatusCreated)
	var o3 orderJSON
	a.json(t, &o3)
	if _, err := testenv.RawDB(t, s.app.Cfg.Database).Exec(`UPDATE orders SET reserved_until = created_at WHERE id = ?`, o3.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.app.Orders.ExpireReservations(context.Background()); err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	check(s.awaitMail(to, "not paid in time"), o3.ID, "Nothing was charged")
}
