package stripe_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"secureshop/internal/payment"
	"secureshop/internal/payment/stripe"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const webhookSecret = "whsec_test_secret_of_the_endpoint"

func provider(t *testing.T) *stripe.Provider {
	t.Helper()
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_123", WebhookSecret: webhookSecret, APIURL: testenv.StripeMockURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A session, its state and a refund are requests stripe-mock accepts: it validates each against
// Stripe's API description (names, types, enums), so a parameter Stripe does not know fails here.
func TestStripe_SessionsAndRefundsAreValidRequests(t *testing.T) {
	p, ctx := provider(t), context.Background()
	s, err := p.CreateSession(ctx, payment.SessionRequest{OrderID: "01a250ea-ab28-791f-8fcf-e364843a9c8c", Amount: 1250, Currency: "GBP",
		Description: "Tea shop: order 01a250ea", CustomerEmail: "ann@example.com", SuccessURL: "https://shop.example/s/tea/orders/1?paid=1",
		CancelURL: "https://shop.example/s/tea/checkout", ExpiresAt: time.Now().Add(time.Hour), IdempotencyKey: "order-1-session"})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || !strings.HasPrefix(s.RedirectURL, "https://") {
		t.Fatalf("session %+v", s)
	}
	st, err := p.Session(ctx, s.ID)
	if err != nil || st.ID == "" {
		t.Fatalf("session state %+v, %v", st, err)
	}
	rf, err := p.RefundSession(ctx, payment.SessionRefund{PaymentRef: "pi_123", Amount: 500, Reason: "damaged", IdempotencyKey: "refund-1"})
	if err != nil || rf.Ref == "" || (rf.Status != "pending" && rf.Status != "succeeded") {
		t.Fatalf("refund %+v, %v", rf, err)
	}
}

func signed(t *testing.T, payload string, secret string, at time.Time) http.Header {
	t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret, Timestamp: at})
	return http.Header{"Stripe-Signature": {sp.Header}}
}

const paidEvent = `{"id":"evt_1","object":"event","api_version":"2025-01-01","type":"checkout.session.completed","data":{"object":
	{"id":"cs_1","object":"checkout.session","client_reference_id":"order-7","amount_total":1250,"currency":"gbp",
	"payment_status":"paid","status":"complete","payment_intent":"pi_7","metadata":{"order_id":"order-7"}}}}`

// A webhook is believed only when its signature verifies against the configured secret and is
// recent: a forged one, an altered one and a replay from long ago are refused; a good one is read.
func TestStripe_WebhooksAreVerified(t *testing.T) {
	p := provider(t)
	ev, err := p.ParseWebhook([]byte(paidEvent), signed(t, paidEvent, webhookSecret, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_1" || ev.Kind != payment.EventPaid || ev.Session.OrderID != "order-7" || ev.Session.Amount != 1250 ||
		ev.Session.Currency != "GBP" || ev.Session.PaymentRef != "pi_7" {
		t.Fatalf("event %+v", ev)
	}
	for name, c := range map[string]struct {
		payload string
		header  http.Header
	}{
		"another secret":   {paidEvent, signed(t, paidEvent, "whsec_someone_else", time.Now())},
		"altered payload":  {strings.Replace(paidEvent, `"amount_total":1250`, `"amount_total":1`, 1), signed(t, paidEvent, webhookSecret, time.Now())},
		"an old signature": {paidEvent, signed(t, paidEvent, webhookSecret, time.Now().Add(-time.Hour))},
		"no signature":     {paidEvent, http.Header{}},
	} {
		if _, err := p.ParseWebhook([]byte(c.payload), c.header); err == nil || !strings.Contains(err.Error(), payment.ErrBadSignature.Error()) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	expired := strings.NewReplacer(`"checkout.session.completed"`, `"checkout.session.expired"`, `"payment_status":"paid"`, `"payment_status":"unpaid"`,
		`"status":"complete"`, `"status":"expired"`).Replace(paidEvent)
	if ev, err := p.ParseWebhook([]byte(expired), signed(t, expired, webhookSecret, time.Now())); err != nil || ev.Kind != payment.EventExpired {
		t.Errorf("expired session: %+v, %v", ev, err)
	}
	other := `{"id":"evt_2","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`
	if ev, err := p.ParseWebhook([]byte(other), signed(t, other, webhookSecret, time.Now())); err != nil || ev.Kind != payment.EventOther {
		t.Errorf("another kind: %+v, %v", ev, err)
	}
}

// Keys that cannot be Stripe's are refused at start-up; test keys are told apart (check --deploy
// refuses them in production).
func TestStripe_Keys(t *testing.T) {
	for _, c := range []stripe.Config{{SecretKey: "pk_test_1", WebhookSecret: webhookSecret}, {SecretKey: "sk_live_1", WebhookSecret: "secret"}} {
		if _, err := stripe.New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if !stripe.TestMode("sk_test_1") || stripe.TestMode("sk_live_1") {
		t.Error("test mode told wrong")
	}
}
