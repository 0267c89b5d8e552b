package sqlstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"secureshop/internal/shop"
)

// InsertPayment records a payment, pending unless p.State says otherwise.
func (tx *Tx) InsertPayment(ctx context.Context, store shop.StoreID, p *shop.Payment) error {
	if p.ID == "" {
		p.ID = shop.NewID()
	}
	if p.State == "" {
		p.State = shop.PaymentPending
	}
	p.CreatedAt = tx.now
	return tx.later(ctx, `INSERT INTO payments (id, store_id, order_id, kind, state, amount, currency, provider, provider_ref, failure,
		reason, actor_id, created_at, settled_at, session_id, redirect_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, store, p.OrderID, string(p.Kind), string(p.State), p.Amount, p.Currency, p.Provider, p.ProviderRef, p.Failure, p.Reason,
		p.ActorID, ts(tx.now), nullTS(p.SettledAt), p.SessionID, p.RedirectURL)
}

// ErrSettled is returned when a payment was already settled (by a concurrent or earlier request).
var ErrSettled = errors.New("payment already settled")

// SettlePayment records the gateway's answer to a pending payment: succeeded with its reference,
// or failed with a reason — once; a payment no longer pending returns ErrSettled.
func (tx *Tx) SettlePayment(ctx context.Context, store shop.StoreID, p *shop.Payment, state shop.PaymentState, ref, failure string) error {
	res, err := tx.exec(ctx, `UPDATE payments SET state = ?, provider_ref = ?, failure = ?, settled_at = ?
		WHERE store_id = ? AND order_id = ? AND id = ? AND state = 'pending'`,
		string(state), ref, failure, ts(tx.now), store, p.OrderID, p.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrSettled
	}
	now := tx.now
	p.State, p.ProviderRef, p.Failure, p.SettledAt = state, ref, failure, &now
	return nil
}

const paymentCols = `id, order_id, kind, state, amount, currency, provider, provider_ref, failure, reason, actor_id, created_at, settled_at,
	session_id, redirect_url`

func scanPayment(scan func(...any) error) (shop.Payment, error) {
	var p shop.Payment
	var kind, state string
	var created, settled dbTime
	err := scan(&p.ID, &p.OrderID, &kind, &state, &p.Amount, &p.Currency, &p.Provider, &p.ProviderRef, &p.Failure, &p.Reason,
		&p.ActorID, &created, &settled, &p.SessionID, &p.RedirectURL)
	p.Kind, p.State, p.CreatedAt, p.SettledAt = shop.PaymentKind(kind), shop.PaymentState(state), created.T, settled.ptr()
	return p, err
}

// payments lists the payments of the orders ids, oldest first, by order.
func (tx *Tx) payments(ctx context.Context, store shop.StoreID, ids []string) (map[string][]shop.Payment, error) {
	rows, err := tx.query(ctx, `SELECT `+paymentCols+` FROM payments WHERE store_id = ? AND order_id IN (`+placeholders(len(ids))+`)
		ORDER BY created_at, id`, idArgs(store, ids)...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string][]shop.Payment{}
	for rows.Next() {
		p, err := scanPayment(rows.Scan)
		if err != nil {
			return nil, err
		}
		out[p.OrderID] = append(out[p.OrderID], p)
	}
	return out, rows.Err()
}

// placeholders is n comma-separated placeholders, for an IN list.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// idArgs are a statement's arguments: the store, then ids.
func idArgs(store shop.StoreID, ids []string) []any {
	args := make([]any, 0, len(ids)+1)
	args = append(args, store)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// PaymentByID returns one payment of an order.
func (tx *Tx) PaymentByID(ctx context.Context, store shop.StoreID, orderID, id string) (shop.Payment, error) {
	if !shop.ValidID(orderID) || !shop.ValidID(id) {
		return shop.Payment{}, shop.NotFound("Payment")
	}
	p, err := scanPayment(tx.row(ctx, `SELECT `+paymentCols+` FROM payments WHERE store_id = ? AND order_id = ? AND id = ?`,
		store, orderID, id).Scan)
	return p, notFound(err, "Payment")
}

// SettledPayment is a payment that moved money, with the customer whose order it was.
type SettledPayment struct {
	shop.Payment
	CustomerID shop.UserID
}

// PaymentsSettled lists the store's payments that succeeded in [from, to) by when the money moved,
// for the reports: money in (charges) and money out (refunds).
func (tx *Tx) PaymentsSettled(ctx context.Context, store shop.StoreID, from, to time.Time) ([]SettledPayment, error) {
	rows, err := tx.query(ctx, `SELECT p.id, p.order_id, p.kind, p.state, p.amount, p.currency, p.provider, p.provider_ref, p.failure,
		p.reason, p.actor_id, p.created_at, p.settled_at, p.session_id, p.redirect_url, o.customer_id FROM payments p
		JOIN orders o ON o.store_id = p.store_id AND o.id = p.order_id
		WHERE p.store_id = ? AND p.settled_at >= ? AND p.settled_at < ? AND p.state = 'succeeded' ORDER BY p.settled_at, p.id`,
		store, ts(from), ts(to))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []SettledPayment
	for rows.Next() {
		var sp SettledPayment
		sp.Payment, err = scanPayment(func(dest ...any) error { return rows.Scan(append(dest, &sp.CustomerID)...) })
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// FirstCharges returns, for each customer, when money was first taken for one of their orders (ever).
func (tx *Tx) FirstCharges(ctx context.Context, store shop.StoreID) (map[shop.UserID]time.Time, error) {
	rows, err := tx.query(ctx, `SELECT o.customer_id, MIN(p.settled_at) FROM payments p
		JOIN orders o ON o.store_id = p.store_id AND o.id = p.order_id
		WHERE p.store_id = ? AND p.kind = 'charge' AND p.state = 'succeeded' GROUP BY o.customer_id`, store)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[shop.UserID]time.Time{}
	for rows.Next() {
		var u shop.UserID
		var at dbTime
		if err := rows.Scan(&u, &at); err != nil {
			return nil, err
		}
		out[u] = at.T
	}
	return out, rows.Err()
}

// SetPaymentSession records the provider's session of a pending charge and the page its customer
// pays on.
func (tx *Tx) SetPaymentSession(ctx context.Context, store shop.StoreID, p *shop.Payment, sessionID, redirectURL string) error {
	err := tx.later(ctx, `UPDATE payments SET session_id = ?, redirect_url = ? WHERE store_id = ? AND order_id = ? AND id = ?`,
		sessionID, redirectURL, store, p.OrderID, p.ID)
	if err == nil {
		p.SessionID, p.RedirectURL = sessionID, redirectURL
	}
	return err
}

// RecordPaymentEvent records that a provider's webhook event was applied, in the transaction that
// applies it. An event recorded before returns shop.ErrDuplicate: it is applied once.
func (tx *Tx) RecordPaymentEvent(ctx context.Context, store shop.StoreID, provider, id, kind, orderID string) error {
	res, err := tx.exec(ctx, `INSERT INTO payment_events (store_id, provider, id, kind, order_id, received_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, store, provider, id, kind, orderID, ts(tx.now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return shop.ErrDuplicate
	}
	return nil
}

// StoreOrder names an order of a store, for work that walks every store (run with AllStores).
type StoreOrder struct {
	Store   shop.StoreID
	OrderID string
}

// ExpiredReservations lists orders of every store still pending payment whose reservation ended
// before now, oldest first, at most limit.
func (tx *Tx) ExpiredReservations(ctx context.Context, now time.Time, limit int) ([]StoreOrder, error) {
	return tx.storeOrders(ctx, `SELECT store_id, id FROM orders WHERE status = 'pending_payment' AND reserved_until < ?
		ORDER BY reserved_until LIMIT ?`, ts(now), limit)
}

// PendingPayments lists orders of every store with a charge or refund still pending that was
// recorded between from and to, oldest first, at most limit: what reconciliation asks the
// provider about.
func (tx *Tx) PendingPayments(ctx context.Context, from, to time.Time, limit int) ([]StoreOrder, error) {
	return tx.storeOrders(ctx, `SELECT store_id, order_id FROM payments WHERE state = 'pending' AND created_at >= ? AND created_at < ?
		GROUP BY store_id, order_id ORDER BY MIN(created_at) LIMIT ?`, ts(from), ts(to), limit)
}

func (tx *Tx) storeOrders(ctx context.Context, q string, args ...any) ([]StoreOrder, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []StoreOrder
	for rows.Next() {
		var so StoreOrder
		if err := rows.Scan(&so.Store, &so.OrderID); err != nil {
			return nil, err
		}
		out = append(out, so)
	}
	return out, rows.Err()
}

// ReservationMinutes is how long the store holds an unpaid order's stock.
func (tx *Tx) ReservationMinutes(ctx context.Context, store shop.StoreID) (int, error) {
	var n int
	err := tx.row(ctx, `SELECT reservation_minutes FROM stores WHERE id = ?`, store).Scan(&n)
	return n, notFound(err, "Store")
}

// SetReservationMinutes sets how long the store holds an unpaid order's stock.
func (tx *Tx) SetReservationMinutes(ctx context.Context, store shop.StoreID, minutes int) error {
	_, err := tx.exec(ctx, `UPDATE stores SET reservation_minutes = ? WHERE id = ?`, minutes, store)
	return err
}
