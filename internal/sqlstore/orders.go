package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"secureshop/internal/shop"
)

// Order is a customer's order with its lines and history.
type Order struct {
	ID             string
	StoreID        shop.StoreID
	CustomerID     shop.UserID
	Status         string
	Currency       string
	TotalAmount    int64
	RefundedAmount int64
	CardBrand      string
	CardLast4      string
	PaymentRef     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Lines          []OrderLine
	History        []OrderEvent
}

// OrderLine is what was sold at what price. Written once, never changed.
type OrderLine struct {
	ProductID string
	SKU       string
	Name      string
	UnitPrice int64
	Quantity  int
	LineTotal int64
}

// OrderEvent is one move of an order's status.
type OrderEvent struct {
	From      string
	To        string
	ActorID   string
	ActorRole string
	Note      string
	At        time.Time
}

// OrderMove is a move of a new order's status made in the transaction that writes it.
type OrderMove struct {
	To   string
	Note string
}

// InsertOrder writes a new order with its lines and its history: created in o.Status, then moved
// by each of moves in turn (o.Status ends as the last one's). The lines and the history entries
// go in one statement each.
func (tx *Tx) InsertOrder(ctx context.Context, store shop.StoreID, o *Order, actor shop.Principal, moves ...OrderMove) error {
	if o.ID == "" {
		o.ID = shop.NewID()
	}
	o.StoreID, o.CreatedAt, o.UpdatedAt = store, tx.now, tx.now
	events := []OrderEvent{{To: o.Status}}
	for _, m := range moves {
		events = append(events, OrderEvent{From: events[len(events)-1].To, To: m.To, Note: m.Note})
	}
	o.Status = events[len(events)-1].To
	stmts := []string{`INSERT INTO orders (id, store_id, customer_id, status, currency, total_amount, card_brand,
		card_last4, payment_ref, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`}
	args := [][]any{{o.ID, store, o.CustomerID, o.Status, o.Currency, o.TotalAmount, o.CardBrand, o.CardLast4, o.PaymentRef,
		ts(tx.now), ts(tx.now)}}
	if len(o.Lines) > 0 {
		q := `INSERT INTO order_lines (id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total) VALUES `
		a := make([]any, 0, 9*len(o.Lines))
		for i, l := range o.Lines {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
			a = append(a, shop.NewID(), store, o.ID, l.ProductID, l.SKU, l.Name, l.UnitPrice, l.Quantity, l.LineTotal)
		}
		stmts, args = append(stmts, q), append(args, a)
	}
	q := `INSERT INTO order_history (id, store_id, order_id, from_status, to_status, actor_id, actor_role, note, created_at) VALUES `
	a := make([]any, 0, 9*len(events))
	for i := range events {
		e := &events[i]
		e.ActorID, e.ActorRole, e.At = string(actor.UserID), string(actor.Role), tx.now
		if i > 0 {
			q += ", "
		}
		q += "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
		a = append(a, shop.NewID(), store, o.ID, e.From, e.To, e.ActorID, e.ActorRole, e.Note, ts(tx.now))
	}
	stmts, args = append(stmts, q), append(args, a)
	for i, q := range stmts {
		if err := tx.later(ctx, q, args[i]...); err != nil {
			return err
		}
	}
	o.History = append(o.History, events...)
	return nil
}

func (tx *Tx) addHistory(ctx context.Context, store shop.StoreID, o *Order, from, to string, actor shop.Principal, note string) error {
	_, err := tx.exec(ctx, `INSERT INTO order_history (id, store_id, order_id, from_status, to_status, actor_id, actor_role,
		note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		shop.NewID(), store, o.ID, from, to, string(actor.UserID), string(actor.Role), note, ts(tx.now))
	if err == nil {
		o.History = append(o.History, OrderEvent{From: from, To: to, ActorID: string(actor.UserID), ActorRole: string(actor.Role), Note: note, At: tx.now})
	}
	return err
}

// ErrStatusChanged is returned when an order is no longer in the status a move started from.
var ErrStatusChanged = errors.New("order status changed meanwhile")

// MoveOrder moves an order from one status to another — only if it is still in from — and records
// the move in its history.
func (tx *Tx) MoveOrder(ctx context.Context, store shop.StoreID, o *Order, to string, actor shop.Principal, note string) error {
	res, err := tx.exec(ctx, `UPDATE orders SET status = ?, updated_at = ? WHERE store_id = ? AND id = ? AND status = ?`,
		to, ts(tx.now), store, o.ID, o.Status)
	return tx.moved(ctx, res, err, store, o, to, actor, note)
}

// moved finishes a conditional status update: it fails when the order had left its status
// meanwhile, and otherwise records the move.
func (tx *Tx) moved(ctx context.Context, res sql.Result, err error, store shop.StoreID, o *Order, to string, actor shop.Principal, note string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrStatusChanged
	}
	from := o.Status
	o.Status, o.UpdatedAt = to, tx.now
	return tx.addHistory(ctx, store, o, from, to, actor, note)
}

const orderCols = `id, customer_id, status, currency, total_amount, refunded_amount, card_brand, card_last4, payment_ref,
	created_at, updated_at`

func scanOrder(store shop.StoreID, scan func(...any) error) (Order, error) {
	o := Order{StoreID: store}
	var created, updated dbTime
	err := scan(&o.ID, &o.CustomerID, &o.Status, &o.Currency, &o.TotalAmount, &o.RefundedAmount, &o.CardBrand,
		&o.CardLast4, &o.PaymentRef, &created, &updated)
	o.CreatedAt, o.UpdatedAt = created.T, updated.T
	return o, err
}

// OrderByID returns an order of store with its lines and history; another store's order is NotFound.
func (tx *Tx) OrderByID(ctx context.Context, store shop.StoreID, id string) (Order, error) {
	if !shop.ValidID(id) {
		return Order{}, shop.NotFound("Order")
	}
	row := tx.row(ctx, `SELECT `+orderCols+` FROM orders WHERE store_id = ? AND id = ?`, store, id)
	o, err := scanOrder(store, row.Scan)
	if err != nil {
		return Order{}, notFound(err, "Order")
	}
	lines, err := tx.query(ctx, `SELECT product_id, sku, name, unit_price, quantity, line_total FROM order_lines
		WHERE store_id = ? AND order_id = ? ORDER BY sku, id`, store, id)
	if err != nil {
		return Order{}, err
	}
	for lines.Next() {
		var l OrderLine
		if err := lines.Scan(&l.ProductID, &l.SKU, &l.Name, &l.UnitPrice, &l.Quantity, &l.LineTotal); err != nil {
			_ = lines.Close()
			return Order{}, err
		}
		o.Lines = append(o.Lines, l)
	}
	_ = lines.Close()
	hist, err := tx.query(ctx, `SELECT from_status, to_status, actor_id, actor_role, note, created_at FROM order_history
		WHERE store_id = ? AND order_id = ? ORDER BY created_at, id`, store, id)
	if err != nil {
		return Order{}, err
	}
	defer func() { _ = hist.Close() }()
	for hist.Next() {
		var e OrderEvent
		var at dbTime
		if err := hist.Scan(&e.From, &e.To, &e.ActorID, &e.ActorRole, &e.Note, &at); err != nil {
			return Order{}, err
		}
		e.At = at.T
		o.History = append(o.History, e)
	}
	return o, hist.Err()
}

// OrderFilter selects orders.
type OrderFilter struct {
	CustomerID shop.UserID // only this customer's orders, when set
	Status     string
	Cursor     string // the id of the last order of the previous page
	Limit      int
}

// OrderPage is one page of orders, newest first.
type OrderPage struct {
	Orders     []Order
	NextCursor string
}

// ListOrders lists orders of store, newest first (ids are time-ordered).
func (tx *Tx) ListOrders(ctx context.Context, store shop.StoreID, f OrderFilter) (OrderPage, error) {
	q := `SELECT ` + orderCols + ` FROM orders WHERE store_id = ?`
	args := []any{store}
	if f.CustomerID != "" {
		q += ` AND customer_id = ?`
		args = append(args, f.CustomerID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Cursor != "" {
		if !shop.ValidID(f.Cursor) {
			return OrderPage{}, shop.Invalid(shop.FieldError{Field: "cursor", Message: "is not a cursor this listing gave out"})
		}
		q += ` AND id < ?`
		args = append(args, f.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit+1)
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return OrderPage{}, err
	}
	defer func() { _ = rows.Close() }()
	var page OrderPage
	for rows.Next() {
		o, err := scanOrder(store, rows.Scan)
		if err != nil {
			return OrderPage{}, err
		}
		page.Orders = append(page.Orders, o)
	}
	if len(page.Orders) > f.Limit {
		page.Orders = page.Orders[:f.Limit]
		page.NextCursor = page.Orders[f.Limit-1].ID
	}
	return page, rows.Err()
}

// CheckoutKey returns the request hash and order of an Idempotency-Key used by user since the
// given time; an older use of the key is forgotten.
func (tx *Tx) CheckoutKey(ctx context.Context, store shop.StoreID, user shop.UserID, key string, since time.Time) (hash, orderID string, err error) {
	if _, err := tx.exec(ctx, `DELETE FROM checkout_keys WHERE store_id = ? AND user_id = ? AND key = ? AND created_at < ?`,
		store, user, key, ts(since)); err != nil {
		return "", "", err
	}
	err = tx.queryRow(ctx, []any{&hash, &orderID}, `SELECT request_hash, order_id FROM checkout_keys
		WHERE store_id = ? AND user_id = ? AND key = ?`, store, user, key)
	return hash, orderID, err
}

// SaveCheckoutKey records the order an Idempotency-Key made. A key used concurrently by a
// request that committed first returns shop.ErrDuplicate.
func (tx *Tx) SaveCheckoutKey(ctx context.Context, store shop.StoreID, user shop.UserID, key, hash, orderID string) error {
	_, err := tx.exec(ctx, `INSERT INTO checkout_keys (store_id, user_id, key, request_hash, order_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, store, user, key, hash, orderID, ts(tx.now))
	return err
}
