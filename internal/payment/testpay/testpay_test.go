package testpay_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"secureshop/internal/payment"
	"secureshop/internal/payment/testpay"
)

const key, secret = "tp_key_for_the_shop", "tp_webhook_secret"

// shopSide is the shop's webhook endpoint: it verifies each webhook with the client, and refuses
// the first failFirst deliveries (a shop that was down) so that the provider must retry.
type shopSide struct {
	mu        sync.Mutex
	client    *testpay.Client
	events    []payment.Event
	refused   int
	failFirst int
}

func (s *shopSide) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused < s.failFirst {
		s.refused++
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	ev, err := s.client.ParseWebhook(body, r.Header)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.events = append(s.events, ev)
}

func (s *shopSide) await(t *testing.T, n int) []payment.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		got := append([]payment.Event(nil), s.events...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks arrived, want %d", len(got), n)
		}
	}
}

func start(t *testing.T, failFirst int) (*testpay.Client, *shopSide, *httptest.Server) {
	t.Helper()
	shop := &shopSide{failFirst: failFirst}
	hook := httptest.NewServer(shop)
	t.Cleanup(hook.Close)
	var srv *testpay.Server
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
	t.Cleanup(provider.Close)
	srv = testpay.NewServer(testpay.Config{SecretKey: key, WebhookSecret: secret, WebhookURL: hook.URL, BaseURL: provider.URL})
	t.Cleanup(srv.Close)
	c := testpay.NewClient(provider.URL, key, secret)
	shop.client = c
	return c, shop, provider
}

func newSession(t *testing.T, c *testpay.Client, order, idem string) payment.Session {
	t.Helper()
	s, err := c.CreateSession(context.Background(), payment.SessionRequest{OrderID: order, Amount: 1250, Currency: "GBP",
		Description: "Tea: order " + order, SuccessURL: "https://shop.example/s/tea/orders/" + order, CancelURL: "https://shop.example/s/tea/cart",
		IdempotencyKey: idem})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noRedirect keeps the card page's answer instead of following it back to the shop.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func payWith(t *testing.T, pageURL, number string) *http.Response {
	t.Helper()
	resp, err := browser.PostForm(pageURL, url.Values{"number": {number}, "exp": {"12/35"}, "cvc": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp
}

// A customer pays on the provider's page: the shop learns it by a signed webhook — delivered
// again until the shop acknowledges it — and by asking; the session is made once per key, and a
// refund with one key is one refund, never more than was paid.
func TestTestpay_PayOnItsPageAndBeToldByWebhook(t *testing.T) {
	c, shop, _ := start(t, 2)
	ctx := context.Background()
	s := newSession(t, c, "order-1", "key-1")
	if again := newSession(t, c, "order-1", "key-1"); again.ID != s.ID {
		t.Fatalf("the same key made a second session: %s, %s", s.ID, again.ID)
	}
	page, err := http.Get(s.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	_ = page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), "£12.50") || page.Header.Get("Content-Security-Policy") != "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' https://shop.example" {
		t.Fatalf("card page %d:\n%s", page.StatusCode, body)
	}
	if resp := payWith(t, s.RedirectURL, "4242 4242 4242 4242"); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "https://shop.example/s/tea/orders/order-1" {
		t.Fatalf("pay: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ev := shop.await(t, 1)[0]
	if ev.Kind != payment.EventPaid || ev.Session.OrderID != "order-1" || ev.Session.Amount != 1250 || ev.Session.PaymentRef == "" || shop.refused != 2 {
		t.Fatalf("webhook %+v after %d refusals", ev, shop.refused)
	}
	st, err := c.Session(ctx, s.ID)
	if err != nil || st.Status != payment.StatusPaid || st.PaymentRef != ev.Session.PaymentRef {
		t.Fatalf("state %+v, %v", st, err)
	}
	for range 2 {
		rf, err := c.RefundSession(ctx, payment.SessionRefund{PaymentRef: st.PaymentRef, Amount: 1000, IdempotencyKey: "refund-1"})
		if err != nil || rf.Status != "succeeded" {
			t.Fatalf("refund %+v, %v", rf, err)
		}
	}
	if _, err := c.RefundSession(ctx, payment.SessionRefund{PaymentRef: st.PaymentRef, Amount: 500, IdempotencyKey: "refund-2"}); err == nil {
		t.Fatal("refunded more than was paid")
	}
	if evs := shop.await(t, 2); len(evs) != 2 || evs[1].Kind != payment.EventRefunded || evs[1].RefundRef == "" {
		t.Fatalf("events %+v", evs)
	}
}

// The declining card is told so on the page and leaves the session payable; the card that needs
// an approval pays only after it; a bad card is refused; an expired session cannot be paid.
func TestTestpay_DeclinesApprovalsAndExpiry(t *testing.T) {
	c, shop, _ := start(t, 0)
	s := newSession(t, c, "order-2", "key-2")
	if resp := payWith(t, s.RedirectURL, "4242 4242 4242 4241"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a bad card number: %d", resp.StatusCode)
	}
	if resp := payWith(t, s.RedirectURL, testpay.DeclinedCard); resp.StatusCode != http.StatusPaymentRequired {
		t.Errorf("the declining card: %d", resp.StatusCode)
	}
	if st, _ := c.Session(context.Background(), s.ID); st.Status != payment.StatusOpen {
		t.Fatalf("after a decline the session is %s, want open", st.Status)
	}
	if resp := payWith(t, s.RedirectURL, testpay.ApprovalCard); resp.StatusCode != http.StatusOK {
		t.Fatalf("the approval card: %d", resp.StatusCode)
	}
	if st, _ := c.Session(context.Background(), s.ID); st.Status != payment.StatusOpen {
		t.Fatalf("before its approval the session is %s", st.Status)
	}
	resp, err := browser.Post(s.RedirectURL+"/approve", "application/x-www-form-urlencoded", nil)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if ev := shop.await(t, 1)[0]; ev.Kind != payment.EventPaid || ev.Session.OrderID != "order-2" {
		t.Fatalf("webhook %+v", ev)
	}
	gone, err := c.CreateSession(context.Background(), payment.SessionRequest{OrderID: "order-3", Amount: 100, Currency: "GBP",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/no", IdempotencyKey: "key-3", ExpiresAt: time.Now().Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if resp := payWith(t, gone.RedirectURL, "4242424242424242"); resp.StatusCode == http.StatusSeeOther {
		t.Error("an expired session was paid")
	}
	if evs := shop.await(t, 2); evs[1].Kind != payment.EventExpired || evs[1].Session.OrderID != "order-3" {
		t.Errorf("events %+v", evs)
	}
}

// Only the shop's key opens the API, and only webhooks signed with the shop's secret, lately, are
// believed.
func TestTestpay_KeysAndSignatures(t *testing.T) {
	c, _, provider := start(t, 0)
	if _, err := testpay.NewClient(provider.URL, "not the key", secret).CreateSession(context.Background(), payment.SessionRequest{
		OrderID: "o", Amount: 1, Currency: "GBP", SuccessURL: "https://a.example", CancelURL: "https://a.example", IdempotencyKey: "k"}); err == nil {
		t.Error("the API answered another key")
	}
	body := []byte(`{"id":"evt_1","type":"session.paid","session":{"OrderID":"o","Status":"paid"}}`)
	if _, err := c.ParseWebhook(body, http.Header{testpay.SignatureHeader: {testpay.Sign(secret, body, time.Now())}}); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, h := range map[string]string{
		"another secret": testpay.Sign("someone else's", body, time.Now()),
		"an old one":     testpay.Sign(secret, body, time.Now().Add(-time.Hour)),
		"none":           "",
		"garbage":        "t=abc,v1=00",
	} {
		if _, err := c.ParseWebhook(body, http.Header{testpay.SignatureHeader: {h}}); err == nil || !strings.Contains(err.Error(), payment.ErrBadSignature.Error()) {
			t.Errorf("%s: %v", name, err)
		}
	}
	altered := []byte(strings.Replace(string(body), "paid", "PAID", 1))
	if _, err := c.ParseWebhook(altered, http.Header{testpay.SignatureHeader: {testpay.Sign(secret, body, time.Now())}}); err == nil {
		t.Error("an altered body was believed")
	}
}

// The shop's client keeps its connections to the provider: waves of concurrent checkouts reuse
// the first wave's, each answer read to its end, instead of a connection (and a socket left in
// TIME_WAIT) a payment.
func TestTestpay_ClientKeepsItsConnections(t *testing.T) {
	var srv *testpay.Server
	var opened atomic.Int64
	provider := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
	provider.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	provider.Start()
	t.Cleanup(provider.Close)
	srv = testpay.NewServer(testpay.Config{SecretKey: key, WebhookSecret: secret, WebhookURL: provider.URL + "/hook", BaseURL: provider.URL,
		Latency: 20 * time.Millisecond})
	t.Cleanup(srv.Close)
	c := testpay.NewClient(provider.URL, key, secret)
	const calls, waves = 16, 4
	for w := range waves {
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() { // t.Error, not newSession's t.Fatal: this is not the test's goroutine
				order := fmt.Sprintf("order-%d-%d", w, i)
				if _, err := c.CreateSession(context.Background(), payment.SessionRequest{OrderID: order, Amount: 1250, Currency: "GBP",
					SuccessURL: "https://shop.example/s/tea/orders/" + order, CancelURL: "https://shop.example/s/tea/cart",
					IdempotencyKey: fmt.Sprintf("key-%d-%d", w, i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if n := opened.Load(); n > calls {
		t.Fatalf("%d waves of %d concurrent sessions opened %d connections, want at most %d", waves, calls, n, calls)
	}
}
