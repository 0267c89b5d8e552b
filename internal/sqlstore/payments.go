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
		reason, actor_id, created_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, store, p.OrderID, string(p.Kind), string(p.State), p.Amount, p.Currency, p.Provider, p.ProviderRef, p.Failure, p.Reason,
		p.ActorID, ts(tx.now), nullTS(p.SettledAt))
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

const paymentCols = `id, order_id, kind, state, amount, currency, provider, provider_ref, failure, reason, actor_id, created_at, settled_at`

func scanPayment(scan func(...any) error) (shop.Payment, error) {
	var p shop.Payment
	var kind, state string
	var created, settled dbTime
	err := scan(&p.ID, &p.OrderID, &kind, &state, &p.Amount, &p.Currency, &p.Provider, &p.ProviderRef, &p.Failure, &p.Reason,
		&p.ActorID, &created, &settled)
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
		p.reason, p.actor_id, p.created_at, p.settled_at, o.customer_id FROM payments p
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
