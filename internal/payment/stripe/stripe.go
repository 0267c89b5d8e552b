// Package stripe is the shop's payment provider on Stripe: Checkout Sessions for the payment
// page, refunds, and webhooks verified against the endpoint's signing secret, through Stripe's
// own library (stripe-go). Neither the secret key nor the webhook secret is ever logged.
package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"secureshop/internal/payment"
	"secureshop/internal/shop"
)

// Config is what the provider needs: the secret API key and the webhook endpoint's signing secret
// (SHOP_STRIPE_SECRET_KEY, SHOP_STRIPE_WEBHOOK_SECRET). APIURL, when set, is another API server
// (stripe-mock, in tests).
type Config struct {
	SecretKey     string
	WebhookSecret string
	APIURL        string
	// Tolerance is how old a webhook's signature may be (default: stripe-go's, five minutes).
	Tolerance time.Duration
}

// Provider is Stripe behind payment.Provider.
type Provider struct {
	client    *stripego.Client
	secret    string
	tolerance time.Duration
}

var _ payment.Provider = (*Provider)(nil)

// New returns the provider. It does not call Stripe.
func New(cfg Config) (*Provider, error) {
	if !strings.HasPrefix(cfg.SecretKey, "sk_") && !strings.HasPrefix(cfg.SecretKey, "rk_") {
		return nil, errors.New("stripe: the secret key must be a Stripe secret or restricted key (sk_… or rk_…)")
	}
	if !strings.HasPrefix(cfg.WebhookSecret, "whsec_") {
		return nil, errors.New("stripe: the webhook secret must be the endpoint's signing secret (whsec_…)")
	}
	var opts []stripego.ClientOption
	if cfg.APIURL != "" {
		backends := stripego.NewBackendsWithConfig(&stripego.BackendConfig{URL: stripego.String(cfg.APIURL),
			HTTPClient: payment.HTTPClient(30 * time.Second), LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull}})
		opts = append(opts, stripego.WithBackends(backends))
	}
	t := cfg.Tolerance
	if t <= 0 {
		t = webhook.DefaultTolerance
	}
	return &Provider{client: stripego.NewClient(cfg.SecretKey, opts...), secret: cfg.WebhookSecret, tolerance: t}, nil
}

// TestMode reports whether key is one of Stripe's test keys, which no production shop takes.
func TestMode(key string) bool {
	return strings.HasPrefix(key, "sk_test_") || strings.HasPrefix(key, "rk_test_")
}

// Name is the provider's name in the payments ledger.
func (p *Provider) Name() string { return "stripe" }

// CreateSession makes a Checkout Session in payment mode for the order's total, one line.
func (p *Provider) CreateSession(ctx context.Context, r payment.SessionRequest) (payment.Session, error) {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return payment.Session{}, err // nothing waits on Stripe while the writer is held
	}
	params := &stripego.CheckoutSessionCreateParams{
		Mode:              stripego.String(string(stripego.CheckoutSessionModePayment)),
		ClientReferenceID: stripego.String(r.OrderID),
		SuccessURL:        stripego.String(r.SuccessURL),
		CancelURL:         stripego.String(r.CancelURL),
		Metadata:          map[string]string{"order_id": r.OrderID, "store_id": r.StoreID},
		LineItems: []*stripego.CheckoutSessionCreateLineItemParams{{
			Quantity: stripego.Int64(1),
			PriceData: &stripego.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripego.String(strings.ToLower(r.Currency)),
				UnitAmount:  stripego.Int64(r.Amount),
				ProductData: &stripego.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripego.String(r.Description)},
			},
		}},
		PaymentIntentData: &stripego.CheckoutSessionCreatePaymentIntentDataParams{Metadata: map[string]string{"order_id": r.OrderID, "store_id": r.StoreID}},
	}
	if r.CustomerEmail != "" {
		params.CustomerEmail = stripego.String(r.CustomerEmail)
	}
	if !r.ExpiresAt.IsZero() {
		// Stripe keeps a session open 30 minutes at least: a shorter reservation ends first, and a
		// payment made after it is refunded by the shop.
		at := r.ExpiresAt
		if soonest := time.Now().Add(31 * time.Minute); at.Before(soonest) {
			at = soonest
		}
		params.ExpiresAt = stripego.Int64(at.Unix())
	}
	params.IdempotencyKey = stripego.String(r.IdempotencyKey)
	s, err := p.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return payment.Session{}, fmt.Errorf("stripe: create session: %w", err)
	}
	return payment.Session{ID: s.ID, RedirectURL: s.URL}, nil
}

// Session reads a Checkout Session and its payment.
func (p *Provider) Session(ctx context.Context, id string) (payment.SessionState, error) {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return payment.SessionState{}, err // nothing waits on Stripe while the writer is held
	}
	s, err := p.client.V1CheckoutSessions.Retrieve(ctx, id, nil)
	if err != nil {
		return payment.SessionState{}, fmt.Errorf("stripe: read session: %w", err)
	}
	return state(s), nil
}

func state(s *stripego.CheckoutSession) payment.SessionState {
	st := payment.SessionState{ID: s.ID, OrderID: s.ClientReferenceID, Amount: s.AmountTotal,
		Currency: strings.ToUpper(string(s.Currency)), Status: payment.StatusOpen}
	if st.OrderID == "" {
		st.OrderID = s.Metadata["order_id"]
	}
	st.StoreID = s.Metadata["store_id"]
	switch {
	case s.PaymentStatus == stripego.CheckoutSessionPaymentStatusPaid:
		st.Status = payment.StatusPaid
	case s.Status == stripego.CheckoutSessionStatusExpired:
		st.Status = payment.StatusExpired
	}
	if s.PaymentIntent != nil {
		st.PaymentRef = s.PaymentIntent.ID
	}
	return st
}

// RefundSession refunds part or all of a payment; Stripe refunds once per idempotency key.
func (p *Provider) RefundSession(ctx context.Context, r payment.SessionRefund) (payment.RefundState, error) {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return payment.RefundState{}, err // nothing waits on Stripe while the writer is held
	}
	params := &stripego.RefundCreateParams{PaymentIntent: stripego.String(r.PaymentRef), Amount: stripego.Int64(r.Amount)}
	// The refund's events carry these back: which order of which store, and which of the shop's refunds.
	params.Metadata = map[string]string{"store_id": r.StoreID, "order_id": r.OrderID, "shop_refund_id": r.IdempotencyKey}
	if r.Reason != "" {
		params.Metadata["reason"] = r.Reason
	}
	params.IdempotencyKey = stripego.String(r.IdempotencyKey)
	rf, err := p.client.V1Refunds.Create(ctx, params)
	if err != nil {
		var se *stripego.Error
		if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests {
			return payment.RefundState{}, fmt.Errorf("%w: stripe: refund: %w", payment.ErrRefused, err)
		}
		return payment.RefundState{}, fmt.Errorf("stripe: refund: %w", err)
	}
	st := "pending"
	switch rf.Status {
	case stripego.RefundStatusSucceeded:
		st = "succeeded"
	case stripego.RefundStatusFailed, stripego.RefundStatusCanceled:
		st = "failed"
	}
	return payment.RefundState{Ref: rf.ID, Status: st}, nil
}

// ParseWebhook verifies the Stripe-Signature header against the endpoint's secret, within the
// tolerance, and reads the event: a Checkout Session paid or expired, a refund, or another kind
// the shop does not act on.
func (p *Provider) ParseWebhook(payload []byte, header http.Header) (payment.Event, error) {
	e, err := webhook.ConstructEventWithOptions(payload, header.Get("Stripe-Signature"), p.secret,
		webhook.ConstructEventOptions{Tolerance: p.tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return payment.Event{}, fmt.Errorf("%w: %w", payment.ErrBadSignature, err)
	}
	ev := payment.Event{ID: e.ID, Kind: payment.EventOther}
	switch e.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.expired":
		var s stripego.CheckoutSession
		if err := json.Unmarshal(e.Data.Raw, &s); err != nil {
			return payment.Event{}, fmt.Errorf("stripe: event %s: %w", e.ID, err)
		}
		ev.Session = state(&s)
		switch {
		case ev.Session.Status == payment.StatusPaid:
			ev.Kind = payment.EventPaid
		case e.Type == "checkout.session.expired":
			ev.Kind = payment.EventExpired
		}
	case "refund.updated", "refund.created":
		var rf stripego.Refund
		if err := json.Unmarshal(e.Data.Raw, &rf); err != nil {
			return payment.Event{}, fmt.Errorf("stripe: event %s: %w", e.ID, err)
		}
		if rf.Status == stripego.RefundStatusSucceeded {
			ev.Kind, ev.RefundRef, ev.RefundKey, ev.Amount = payment.EventRefunded, rf.ID, rf.Metadata["shop_refund_id"], rf.Amount
			ev.Session.StoreID, ev.Session.OrderID = rf.Metadata["store_id"], rf.Metadata["order_id"]
			if rf.PaymentIntent != nil {
				ev.Session.PaymentRef = rf.PaymentIntent.ID
			}
		}
	}
	return ev, nil
}
