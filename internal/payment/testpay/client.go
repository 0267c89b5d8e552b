package testpay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"secureshop/internal/payment"
	"secureshop/internal/shop"
)

// Client is the shop's side of testpay: payment.Provider over HTTP.
type Client struct {
	base, key, webhookSecret string
	http                     *http.Client
	tolerance                time.Duration
	now                      func() time.Time
}

var _ payment.Provider = (*Client)(nil)

// NewClient calls the testpay service at base with key, and verifies its webhooks with
// webhookSecret (signatures older than five minutes are refused).
func NewClient(base, key, webhookSecret string) *Client {
	return &Client{base: base, key: key, webhookSecret: webhookSecret, http: payment.HTTPClient(30 * time.Second),
		tolerance: 5 * time.Minute, now: time.Now}
}

// Name is the provider's name in the payments ledger.
func (c *Client) Name() string { return "testpay" }

func (c *Client) call(ctx context.Context, method, path, key string, in, out any) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err // nothing waits on the provider while the database's writer is held
	}
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("testpay: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // read to its end, the connection is kept for the next call
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		err := fmt.Errorf("testpay: %s %s: %d %s", method, path, resp.StatusCode, e.Error)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			err = fmt.Errorf("%w: %w", payment.ErrRefused, err)
		}
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// CreateSession asks for a payment page for the order.
func (c *Client) CreateSession(ctx context.Context, r payment.SessionRequest) (payment.Session, error) {
	in := sessionRequest{StoreID: r.StoreID, OrderID: r.OrderID, Amount: r.Amount, Currency: r.Currency, Description: r.Description,
		CustomerEmail: r.CustomerEmail, SuccessURL: r.SuccessURL, CancelURL: r.CancelURL}
	if !r.ExpiresAt.IsZero() {
		in.ExpiresAt = r.ExpiresAt.Unix()
	}
	var out sessionAnswer
	if err := c.call(ctx, http.MethodPost, "/v1/sessions", r.IdempotencyKey, in, &out); err != nil {
		return payment.Session{}, err
	}
	return payment.Session{ID: out.ID, RedirectURL: out.URL}, nil
}

// Session reads where a session's payment stands.
func (c *Client) Session(ctx context.Context, id string) (payment.SessionState, error) {
	var out sessionAnswer
	err := c.call(ctx, http.MethodGet, "/v1/sessions/"+id, "", nil, &out)
	return out.SessionState, err
}

// RefundSession refunds part or all of a payment, once per key.
func (c *Client) RefundSession(ctx context.Context, r payment.SessionRefund) (payment.RefundState, error) {
	var out refund
	err := c.call(ctx, http.MethodPost, "/v1/refunds", r.IdempotencyKey, refundRequest{PaymentRef: r.PaymentRef, Amount: r.Amount, Reason: r.Reason}, &out)
	return payment.RefundState{Ref: out.ID, Status: out.Status}, err
}

// ParseWebhook verifies a webhook's signature and reads its event.
func (c *Client) ParseWebhook(payload []byte, header http.Header) (payment.Event, error) {
	if err := verify(c.webhookSecret, header.Get(SignatureHeader), payload, c.now(), c.tolerance); err != nil {
		return payment.Event{}, fmt.Errorf("%w: %w", payment.ErrBadSignature, err)
	}
	var e event
	if err := json.Unmarshal(payload, &e); err != nil {
		return payment.Event{}, fmt.Errorf("testpay: webhook: %w", err)
	}
	ev := payment.Event{ID: e.ID, Session: e.Session, RefundRef: e.RefundRef, RefundKey: e.RefundKey, Amount: e.Amount, Kind: payment.EventOther}
	switch e.Type {
	case "session.paid":
		ev.Kind = payment.EventPaid
	case "session.expired":
		ev.Kind = payment.EventExpired
	case "refund.succeeded":
		ev.Kind = payment.EventRefunded
	}
	return ev, nil
}
