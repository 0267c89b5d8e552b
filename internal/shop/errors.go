// Package shop is the domain: the records every other package shares — stores, users, sessions,
// products, categories, the inventory ledger, carts, orders and their payments — with their
// statuses as types and the rules that belong to a record as its methods: the order state machine
// (OrderStatus.CanMove, Cancellable), what a line costs (LineTotal, CartLine.Total), whether a
// product is for sale, who is staff (Role.Staff), money in ISO 4217 minor units (Money), and the
// error kinds and problem codes (Code…) that the web layer maps to HTTP answers. It imports no
// other package of the shop; storage (sqlstore, kv) stores these records, services apply them.
package shop

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it. The web layer maps each kind to
// one HTTP status; anything without a kind is an internal error and is never shown to a user.
type Kind string

// The error kinds. Keep this list short: each one is a distinct answer for a client.
const (
	KindInternal        Kind = "internal"
	KindInvalid         Kind = "invalid"          // 422: input that fails validation
	KindBadRequest      Kind = "bad-request"      // 400: input that cannot be parsed
	KindUnauthenticated Kind = "unauthenticated"  // 401
	KindForbidden       Kind = "forbidden"        // 403
	KindNotFound        Kind = "not-found"        // 404, also for other stores' objects
	KindConflict        Kind = "conflict"         // 409
	KindRateLimited     Kind = "rate-limited"     // 429
	KindUnavailable     Kind = "unavailable"      // 503: a backing service is down
	KindPaymentRequired Kind = "payment-required" // 402: the card was declined
)

// Problem codes: what names a problem more precisely than its kind, as the last part of its type
// URI (/problems/<code>). Every code is here, and each has its page (web/problems.go).
const (
	CodeAuditUnavailable      = "audit-unavailable"        // what must be audited could not be (503)
	CodeCSRF                  = "csrf"                     // a form without its session's token (403)
	CodeBadSignature          = "bad-signature"            // a webhook whose signature does not verify (400)
	CodeEmailUnverified       = "email-unverified"         // checkout before the e-mail address is verified (403)
	CodeKeyInUse              = "idempotency-key-in-use"   // a retry while the first request with its key runs (409)
	CodeKeyRequired           = "idempotency-key-required" // a POST that must carry an Idempotency-Key did not (400)
	CodeKeyReused             = "idempotency-key-reused"   // a key used again with another request (422)
	CodeMFAEnrollmentRequired = "mfa-enrollment-required"  // staff or an operator without a second factor, outside enrolment (403)
	CodeMFAInvalid            = "mfa-invalid"              // a wrong, expired or used second-factor code (401)
	CodeMethodNotAllowed      = "method-not-allowed"       // a method the path does not take (405)
	CodePayloadTooLarge       = "payload-too-large"        // a body over the limit (413)
	CodePaymentPending        = "payment-pending"          // the provider did not open the payment page; the order waits for a retry (503)
	CodePriceChanged          = "price-changed"            // a price changed between the cart and checkout (409)
	CodeRefundFailed          = "refund-failed"            // the provider refused a refund
	CodeNothingShips          = "nothing-ships"            // no shipping method takes the cart to the address (409)
	CodeStorageFull           = "storage-full"             // a write refused for want of room: a full disk (503, Retry-After)
	CodeStoreSuspended        = "store-suspended"          // the store is not trading
	CodeUnsupportedMediaType  = "unsupported-media-type"   // a body of a content type the endpoint does not take (415)
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error a user may see. Message is safe to show; Err is the internal cause, logged only.
type Error struct {
	Kind       Kind
	Message    string
	Fields     []FieldError
	Code       string        // optional machine-readable problem type suffix, e.g. "mfa-enrollment-required"
	RetryAfter time.Duration // sent as Retry-After: a limit, a full disk, a key still at work
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error of the given kind with a user-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error naming the fields at fault.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Message: "The request has invalid fields.", Fields: fields}
}

// NotFound is the one answer for objects that do not exist or belong to another store.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Message: what + " not found."}
}

// ErrUnauthenticated is returned when credentials are missing, wrong, expired or revoked.
var ErrUnauthenticated = &Error{Kind: KindUnauthenticated, Message: "Authentication is required."}

// ErrInvalidCredentials is the single answer for a wrong e-mail or a wrong password.
var ErrInvalidCredentials = &Error{Kind: KindUnauthenticated, Message: "Invalid credentials."}

// ErrForbidden is returned when the principal lacks a permission.
var ErrForbidden = &Error{Kind: KindForbidden, Message: "You are not allowed to do this."}

// ErrDuplicate is what repositories return for a unique-constraint violation, whatever the database.
var ErrDuplicate = errors.New("duplicate key")

// ErrNoRows is what repositories return when a lookup finds nothing.
var ErrNoRows = errors.New("no rows")

// KindOf reports the kind of err, KindInternal when it carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// AsError returns the *Error inside err, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// writeTx marks a context as the one a write transaction's function runs under (see
// WithinWriteTransaction).
type writeTx struct{}

// WithinWriteTransaction returns ctx marked as running inside a database write transaction. The
// storage layer hands such a context to the function it runs in the transaction; every adapter
// that talks to the outside world (payment gateway, mail) refuses it (OutsideWriteTransaction), so
// that no write transaction — on SQLite one writer for every store — ever waits on a network.
func WithinWriteTransaction(ctx context.Context) context.Context {
	return context.WithValue(ctx, writeTx{}, true)
}

// ErrInWriteTransaction is what an outside call answers when it is made inside a write transaction.
var ErrInWriteTransaction = errors.New("an outside call (payment, mail, network) was made inside a database write transaction; record the intent, commit, then call out")

// OutsideWriteTransaction returns ErrInWriteTransaction when ctx is a write transaction's.
func OutsideWriteTransaction(ctx context.Context) error {
	if v, _ := ctx.Value(writeTx{}).(bool); v {
		return ErrInWriteTransaction
	}
	return nil
}

// Idempotency is what a request that moves money or stock says of itself: the client's
// Idempotency-Key, and a keyed hash of the operation and body it came with, to tell a retry (the
// same hash: answered with the first answer) from another request reusing the key (refused).
type Idempotency struct {
	Key  string
	Hash string
}

// ErrKeyRequired answers a request that must carry an Idempotency-Key and does not.
var ErrKeyRequired = &Error{Kind: KindBadRequest, Code: CodeKeyRequired,
	Message: "This request moves money or stock: send an Idempotency-Key header, a new random value for each new request and the same one when you retry it.",
	Fields:  []FieldError{{Field: "Idempotency-Key", Message: "is required"}}}

// Check validates the key: required says whether it may be absent. A key is 1 to 200 printable
// ASCII characters.
func (i Idempotency) Check(required bool) error {
	if i.Key == "" {
		if required {
			return ErrKeyRequired
		}
		return nil
	}
	if len(i.Key) > 200 {
		return Invalid(FieldError{Field: "Idempotency-Key", Message: "must be at most 200 characters"})
	}
	for _, c := range []byte(i.Key) {
		if c < 0x21 || c > 0x7e {
			return Invalid(FieldError{Field: "Idempotency-Key", Message: "must be printable ASCII without spaces"})
		}
	}
	return nil
}

// IdempotencyWindow is how long a key is remembered: a retry within it gets the first answer.
const IdempotencyWindow = 24 * time.Hour

// ErrKeyReused answers a request whose Idempotency-Key came with another request before.
var ErrKeyReused = &Error{Kind: KindInvalid, Code: CodeKeyReused, Message: "This Idempotency-Key was already used with a different request."}
