package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"secureshop/internal/app"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

const stripeWebhookSecret = "whsec_app_test_secret"

// postWebhook sends a payment provider's event to the shop as the provider does, signed with
// secret (none when empty), and returns the shop's status.
func (s *testShop) postWebhook(provider, payload, secret string) int {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.base+"/api/v1/payments/webhooks/"+provider, bytes.NewReader([]byte(payload)))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret, Timestamp: time.Now()})
		req.Header.Set("Stripe-Signature", sp.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	checkContract(s.t, req, answer{resp.StatusCode, resp.Header, body})
	return resp.StatusCode
}

// TestWebhooks_StripeEventsAreVerifiedAndAppliedOnce runs the shop on Stripe — its requests
// answered by stripe-mock, which checks each against Stripe's API description — and sends it
// Stripe's events signed with stripe-go: one signed with another secret answers 400 and changes
// nothing; the paid event marks the order paid; sent again, it changes nothing; a refund goes to
// Stripe with its idempotency key and settles.
func TestWebhooks_StripeEventsAreVerifiedAndAppliedOnce(t *testing.T) {
	s := startShopFull(t, testenv.SQLiteURL(t), func(c *app.Config) {
		c.PaymentProvider, c.StripeSecretKey, c.StripeWebhookSecret = "stripe", "sk_test_123", stripeWebhookSecret
		c.StripeAPIURL = testenv.StripeMockURL(t)
	})
	st, _ := s.store("stripe")
	p := s.newProduct("stripe", "S-1", 1250, 5)
	tok := s.login("stripe", "customer@example.com").AccessToken
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/stripe/cart/items/"+p.ID, tok, `{"quantity":1}`), 200)
	a := s.call("POST", "/api/v1/stores/stripe/checkout", tok, checkoutBody, "Idempotency-Key", "s-1")
	expectStatus(t, "checkout through Stripe", a, http.StatusCreated)
	var o orderJSON
	a.json(t, &o)
	if o.Payment.Provider != "stripe" || o.Payment.RedirectURL == nil || !strings.HasPrefix(*o.Payment.RedirectURL, "https://") {
		t.Fatalf("order: %s", a.body)
	}
	var session string
	for _, pm := range s.orderPayments(t, st.ID, o.ID) {
		session = pm.SessionID
	}
	if session == "" {
		t.Fatal("no Stripe session recorded")
	}
	paid := fmt.Sprintf(`{"id":"evt_paid_1","object":"event","api_version":"2025-01-01","type":"checkout.session.completed","data":{"object":
		{"id":%q,"object":"checkout.session","client_reference_id":%q,"amount_total":1250,"currency":"gbp","payment_status":"paid",
		"status":"complete","payment_intent":"pi_app_1","metadata":{"order_id":%q,"store_id":%q}}}}`, session, o.ID, o.ID, st.ID)
	order := func() orderJSON {
		var got orderJSON
		s.call("GET", "/api/v1/stores/stripe/orders/"+o.ID, tok, nil).json(t, &got)
		return got
	}
	if code := s.postWebhook("stripe", paid, "whsec_someone_else"); code != http.StatusBadRequest {
		t.Fatalf("an event signed with another secret: %d", code)
	}
	if code := s.postWebhook("stripe", paid, ""); code != http.StatusBadRequest {
		t.Fatalf("an unsigned event: %d", code)
	}
	if code := s.postWebhook("testpay", paid, stripeWebhookSecret); code != http.StatusNotFound {
		t.Fatalf("an event for a provider the shop does not use: %d", code)
	}
	if got := order(); got.Status != "pending_payment" || got.Paid.Amount != 0 {
		t.Fatalf("a refused event changed the order: %+v", got)
	}
	for range 3 {
		if code := s.postWebhook("stripe", paid, stripeWebhookSecret); code != http.StatusOK {
			t.Fatalf("the paid event: %d", code)
		}
	}
	s.settle() // the events are applied by the job queue, after the webhook's answer
	got := order()
	if got.Status != "paid" || got.Paid.Amount != 1250 || got.Payment.Reference != "pi_app_1" || len(got.History) != 2 {
		t.Fatalf("after the paid event three times: %+v", got)
	}
	admin := s.login("stripe", "admin@example.com").AccessToken
	r := s.call("POST", "/api/v1/stores/stripe/orders/"+o.ID+"/refunds", admin, `{"amount":{"amount":250,"currency":"GBP"},"reason":"dented"}`, "Idempotency-Key", "r-1")
	expectStatus(t, "a refund through Stripe", r, http.StatusCreated)
	if !strings.Contains(string(r.body), `"refunded":{"amount":250`) || !strings.Contains(string(r.body), `"status":"partially_refunded"`) {
		t.Fatalf("refund: %s", r.body)
	}
}

// orderPayments reads an order's rows of the payments ledger as the shop keeps them.
func (s *testShop) orderPayments(t *testing.T, store shop.StoreID, id string) []shop.Payment {
	t.Helper()
	o, err := s.app.Orders.Get(context.Background(), shop.System(), store, id)
	if err != nil {
		t.Fatal(err)
	}
	return o.Payments
}

// TestSettings_ReservationTime: a store's admin sets how long an unpaid order holds its stock
// (5 minutes to a day); a checkout's deadline follows it; nobody else may change it.
func TestSettings_ReservationTime(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("hold")
	p := s.newProduct("hold", "H-1", 100, 5)
	admin := s.login("hold", "admin@example.com").AccessToken
	cust := s.login("hold", "customer@example.com").AccessToken
	a := s.call("GET", "/api/v1/stores/hold/settings", admin, nil)
	if !strings.Contains(string(a.body), `"reservation_minutes":15`) {
		t.Fatalf("default settings: %s", a.body)
	}
	for _, bad := range []string{`{"reservation_minutes":4}`, `{"reservation_minutes":1441}`, `{"reservation_minutes":"30"}`} {
		if a := s.call("PATCH", "/api/v1/stores/hold/settings", admin, bad); a.status != http.StatusUnprocessableEntity || !strings.Contains(string(a.body), "reservation_minutes") {
			t.Fatalf("%s: %d %s", bad, a.status, a.body)
		}
	}
	expectStatus(t, "a customer sets it", s.call("PATCH", "/api/v1/stores/hold/settings", cust, `{"reservation_minutes":60}`), http.StatusForbidden)
	a = s.call("PATCH", "/api/v1/stores/hold/settings", admin, `{"reservation_minutes":45}`)
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"reservation_minutes":45`) || !strings.Contains(string(a.body), `"password_composition":false`) {
		t.Fatalf("set to 45: %d %s", a.status, a.body)
	}
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/hold/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
	before := time.Now()
	a = s.call("POST", "/api/v1/stores/hold/checkout", cust, checkoutBody, "Idempotency-Key", "h-1")
	expectStatus(t, "checkout", a, http.StatusCreated)
	var o orderJSON
	a.json(t, &o)
	if o.ReservedUntil == nil || o.ReservedUntil.Sub(before) < 44*time.Minute || o.ReservedUntil.Sub(before) > 46*time.Minute {
		t.Fatalf("reserved until %v, want 45 minutes on", o.ReservedUntil)
	}
	if !strings.Contains(string(s.call("GET", "/api/v1/stores/hold/audit-events", admin, nil).body), "reservation_minutes_after") {
		t.Fatal("the change is not in the audit log")
	}
}

// TestPayments_TestProviderAndItsPagesAreFencedIn: production refuses the test provider (no money
// would move) and a Stripe setup without its secrets; the shop's forms may lead only to the shop
// and to the provider's pages — the one origin its checkout sends customers to.
func TestPayments_TestProviderAndItsPagesAreFencedIn(t *testing.T) {
	cfg := app.Defaults()
	cfg.Env = "production"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "testpay") {
		t.Fatalf("production with testpay: %v", err)
	}
	cfg.PaymentProvider = "stripe"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "SHOP_STRIPE_SECRET_KEY") {
		t.Fatalf("stripe without its secrets: %v", err)
	}
	cfg.StripeSecretKey, cfg.StripeWebhookSecret = "sk_live_x", "whsec_x"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("stripe with its secrets: %v", err)
	}

	s := startShop(t, testenv.SQLiteURL(t))
	s.store("fence")
	for _, path := range []string{"/s/fence/", "/s/fence/login", "/api/v1/stores/fence/products"} {
		a := s.call("GET", path, "", nil)
		var formAction string
		for _, d := range strings.Split(a.header.Get("Content-Security-Policy"), ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == "form-action" {
				formAction = strings.Join(f[1:], " ")
			}
		}
		if want := "'self' " + s.app.Testpay; formAction != want {
			t.Errorf("%s: form-action %q, want %q", path, formAction, want)
		}
	}
}
