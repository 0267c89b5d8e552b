package payment

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// HTTPClient is the client a provider is called over: net/http's default transport keeps only two
// idle connections to a host, so that under load every call past the second opened a connection
// of its own (and closed it after) — a TCP handshake per payment, and a socket in TIME_WAIT. This
// one keeps as many as a busy instance has calls in flight (HTTP/2, over which Stripe answers,
// needs one anyway).
func HTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 128
	return &http.Client{Timeout: timeout, Transport: t}
}

// Provider is a hosted payment provider: the customer pays on the provider's own page, so no
// card ever reaches the shop. The shop asks for a payment session for an order and sends the
// customer to it; the provider tells the outcome by a signed webhook, and answers when asked about
// a session (the return page, reconciliation). Refunds go through it with an idempotency key. It is
// called only outside the shop's write transactions.
type Provider interface {
	Name() string
	CreateSession(ctx context.Context, r SessionRequest) (Session, error)
	// ParseWebhook verifies a webhook's signature and reads its event; a forged, altered or stale
	// one is ErrBadSignature.
	ParseWebhook(payload []byte, header http.Header) (Event, error)
	// Session reads where a session's payment stands.
	Session(ctx context.Context, id string) (SessionState, error)
	// RefundSession returns money of a session's payment, all of what is asked, once per key.
	RefundSession(ctx context.Context, r SessionRefund) (RefundState, error)
}

// SessionRequest asks for a payment page for an order.
type SessionRequest struct {
	StoreID        string // the store and ...
	OrderID        string // ... its order, carried back in the provider's events
	Amount         int64  // minor units of Currency
	Currency       string // ISO 4217
	Description    string // what the customer sees they pay for
	CustomerEmail  string
	SuccessURL     string // where the customer comes back after paying
	CancelURL      string // where the customer comes back without paying
	ExpiresAt      time.Time
	IdempotencyKey string // asked again with the same key, the provider makes the session once
}

// Session is a payment page the customer is sent to.
type Session struct {
	ID          string
	RedirectURL string
}

// Status is where a session's payment stands.
type Status string

// Session statuses.
const (
	StatusOpen    Status = "open"    // not paid yet; the customer may still pay
	StatusPaid    Status = "paid"    // the money moved
	StatusExpired Status = "expired" // it can no longer be paid
)

// SessionState is what the provider says of a session.
type SessionState struct {
	ID         string
	StoreID    string
	OrderID    string
	Status     Status
	Amount     int64
	Currency   string
	PaymentRef string // the provider's reference of the payment, once paid
}

// EventKind is what a webhook says happened.
type EventKind string

// Event kinds the shop acts on; anything else is EventOther, acknowledged and ignored.
const (
	EventPaid     EventKind = "paid"     // a session was paid
	EventExpired  EventKind = "expired"  // a session ended unpaid
	EventRefunded EventKind = "refunded" // a refund went through
	EventOther    EventKind = "other"
)

// Event is one verified webhook.
type Event struct {
	ID        string // the provider's event id: an event applied once, however often it comes
	Kind      EventKind
	Session   SessionState
	RefundRef string // for EventRefunded: the provider's reference of the refund ...
	RefundKey string // ... and the idempotency key the shop asked for it with ("" for one made elsewhere)
	Amount    int64  // for EventRefunded: how much
}

// SessionRefund asks for money back from a paid session.
type SessionRefund struct {
	StoreID, OrderID string // carried back in the refund's events
	PaymentRef       string // the payment to refund (SessionState.PaymentRef)
	Amount           int64  // minor units; the whole payment when it is all that is left
	Reason           string
	IdempotencyKey   string // asked again with the same key, the provider refunds once
}

// RefundState is what the provider says of a refund: pending until it confirms.
type RefundState struct {
	Ref    string
	Status string // "pending", "succeeded" or "failed"
}

// ErrBadSignature refuses a webhook whose signature does not verify against the shop's secret
// (forged, altered, or older than the provider's tolerance).
var ErrBadSignature = errors.New("payment: the webhook's signature does not verify")

// ErrRefused is the provider's refusal of a request it understood (a refund of more than is left,
// an unknown payment): asking again will not change its answer. Any other error may be passing.
var ErrRefused = errors.New("payment: the provider refused the request")
