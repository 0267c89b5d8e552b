package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"secureshop/internal/shop"
)

// InsertOrder writes a new order with its lines and its history: created in o.Status, then moved
// by each of moves in turn (o.Status ends as the last one's). The lines and the history entries
// go in one statement each.
func (tx *Tx) InsertOrder(ctx context.Context, store shop.StoreID, o *shop.Order, actor shop.Principal, moves ...shop.OrderMove) error {
	if o.ID == "" {
		o.ID = shop.NewID()
	}
	o.StoreID, o.CreatedAt, o.UpdatedAt = store, tx.now, tx.now
	events := []shop.OrderEvent{{To: o.Status}}
	for _, m := range moves {
		events = append(events, shop.OrderEvent{From: events[len(events)-1].To, To: m.To, Note: m.Note})
	}
	o.Status = events[len(events)-1].To
	if o.ShippingTaxClass == "" {
		o.ShippingTaxClass = shop.TaxStandard
	}
	const cols = `id, store_id, customer_id, email, status, currency, subtotal_amount, shipping_amount, tax_amount, total_amount,
		prices_include_tax, tax_name, shipping_tax, shipping_tax_rate, shipping_tax_class, shipping_address, billing_address,
		shipping_method, shipping_price, reserved_until, created_at, updated_at, number`
	vals := []any{o.ID, store, o.CustomerID, o.Email, o.Status, o.Currency, o.Subtotal, o.ShippingAmount, o.TaxAmount,
		o.TotalAmount, o.PricesIncludeTax, o.TaxName, o.ShippingTax, o.ShippingTaxRate, o.ShippingTaxClass, addressCol(o.ShippingAddress),
		addressCol(o.BillingAddress), o.ShippingMethod, o.ShippingPrice, nullTS(o.ReservedUntil), ts(tx.now), ts(tx.now)}
	var stmts []string
	var args [][]any
	switch {
	case o.Number == 0 && tx.conn != nil:
		// PostgreSQL: the order goes in with a placeholder number (negative, from its id) and takes
		// its number from the counter in the transaction's very last statement, just before the
		// COMMIT, so that the counter's row — which every checkout of the store waits for — is
		// locked for no more than the COMMIT, after the product's stock row. The number reaches o
		// once the COMMIT's answer comes: o must outlive the transaction.
		stmts = []string{`INSERT INTO orders (` + cols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`}
		args = [][]any{append(vals, placeholderNumber(o.ID))}
		if err := tx.atCommit(ctx, []any{&o.Number}, `WITH n AS (INSERT INTO store_counters (store_id, name, value) VALUES (?, 'order', 1001)
			ON CONFLICT (store_id, name) DO UPDATE SET value = store_counters.value + 1 RETURNING value)
			UPDATE orders SET number = (SELECT value FROM n) WHERE store_id = ? AND id = ? RETURNING number`, store, store, o.ID); err != nil {
			return err
		}
	default:
		if o.Number == 0 {
			n, err := tx.NextNumber(ctx, store, CounterOrder)
			if err != nil {
				return err
			}
			o.Number = n
		}
		stmts = []string{`INSERT INTO orders (` + cols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`}
		args = [][]any{append(vals, o.Number)}
	}
	if len(o.Lines) > 0 {
		q := `INSERT INTO order_lines (id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total,
			tax_class, tax_rate, tax_amount) VALUES `
		a := make([]any, 0, 12*len(o.Lines))
		for i := range o.Lines {
			l := &o.Lines[i]
			if l.ID == "" {
				l.ID = shop.NewID()
			}
			if l.TaxClass == "" {
				l.TaxClass = shop.TaxStandard
			}
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			a = append(a, l.ID, store, o.ID, l.ProductID, l.SKU, l.Name, l.UnitPrice, l.Quantity, l.LineTotal, l.TaxClass, l.TaxRate, l.TaxAmount)
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

func (tx *Tx) addHistory(ctx context.Context, store shop.StoreID, o *shop.Order, from, to shop.OrderStatus, actor shop.Principal, note string) error {
	// Its result is not needed: on PostgreSQL it goes with the transaction's next statement or its commit.
	err := tx.later(ctx, `INSERT INTO order_history (id, store_id, order_id, from_status, to_status, actor_id, actor_role,
		note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		shop.NewID(), store, o.ID, from, to, string(actor.UserID), string(actor.Role), note, ts(tx.now))
	if err == nil {
		o.History = append(o.History, shop.OrderEvent{From: from, To: to, ActorID: string(actor.UserID), ActorRole: string(actor.Role), Note: note, At: tx.now})
	}
	return err
}

// placeholderNumber is the number an order holds until its transaction's last statement gives it
// its own (PostgreSQL): negative, and from the random half of its id, so that two at once differ.
func placeholderNumber(id string) int64 {
	h := strings.ReplaceAll(id, "-", "")
	if len(h) < 16 {
		return -1
	}
	n, err := strconv.ParseUint(h[len(h)-15:], 16, 64) // 60 bits: always fits an int64
	if err != nil {
		return -1
	}
	return -int64(n) - 1 // #nosec G115 -- 60 bits
}

// SetTracking records how an order left: its carrier and tracking number.
func (tx *Tx) SetTracking(ctx context.Context, store shop.StoreID, id, carrier, tracking string) error {
	return tx.later(ctx, `UPDATE orders SET carrier = ?, tracking_number = ? WHERE store_id = ? AND id = ?`, carrier, tracking, store, id)
}

// ErrStatusChanged is returned when an order is no longer in the status a move started from.
var ErrStatusChanged = errors.New("order status changed meanwhile")

// MoveOrder moves an order from one status to another — only if it is still in from — and records
// the move in its history.
func (tx *Tx) MoveOrder(ctx context.Context, store shop.StoreID, o *shop.Order, to shop.OrderStatus, actor shop.Principal, note string) error {
	res, err := tx.exec(ctx, `UPDATE orders SET status = ?, updated_at = ? WHERE store_id = ? AND id = ? AND status = ?`,
		to, ts(tx.now), store, o.ID, o.Status)
	return tx.moved(ctx, res, err, store, o, to, actor, note)
}

// moved finishes a conditional status update: it fails when the order had left its status
// meanwhile, and otherwise records the move.
func (tx *Tx) moved(ctx context.Context, res sql.Result, err error, store shop.StoreID, o *shop.Order, to shop.OrderStatus, actor shop.Principal, note string) error {
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

// orderCols are an order's columns and its sums over the payments ledger.
const orderCols = `o.id, o.number, o.customer_id, o.email, o.status, o.currency, o.subtotal_amount, o.shipping_amount, o.tax_amount,
	o.total_amount, o.prices_include_tax, o.tax_name, o.shipping_tax, o.shipping_tax_rate, o.shipping_tax_class, o.shipping_address, o.billing_address, o.shipping_method, o.shipping_price, o.carrier,
	o.tracking_number, o.reserved_until, o.created_at, o.updated_at,
	COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.store_id = o.store_id AND p.order_id = o.id AND p.kind = 'charge' AND p.state = 'succeeded'), 0),
	COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.store_id = o.store_id AND p.order_id = o.id AND p.kind = 'refund' AND p.state = 'succeeded'), 0),
	COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.store_id = o.store_id AND p.order_id = o.id AND p.kind = 'refund' AND p.state = 'pending'), 0)`

func scanOrder(store shop.StoreID, scan func(...any) error) (shop.Order, error) {
	o := shop.Order{StoreID: store}
	var reserved, created, updated dbTime
	var shipTo, billTo string
	err := scan(&o.ID, &o.Number, &o.CustomerID, &o.Email, &o.Status, &o.Currency, &o.Subtotal, &o.ShippingAmount, &o.TaxAmount,
		&o.TotalAmount, &o.PricesIncludeTax, &o.TaxName, &o.ShippingTax, &o.ShippingTaxRate, &o.ShippingTaxClass, &shipTo, &billTo, &o.ShippingMethod, &o.ShippingPrice, &o.Carrier,
		&o.TrackingNumber, &reserved, &created, &updated, &o.PaidAmount, &o.RefundedAmount, &o.RefundPending)
	o.ReservedUntil, o.CreatedAt, o.UpdatedAt = reserved.ptr(), created.T, updated.T
	if err == nil {
		o.ShippingAddress, err = readAddress(shipTo)
	}
	if err == nil {
		o.BillingAddress, err = readAddress(billTo)
	}
	return o, err
}

// OrderByID returns an order of store with its lines and history; another store's order is NotFound.
func (tx *Tx) OrderByID(ctx context.Context, store shop.StoreID, id string) (shop.Order, error) {
	if !shop.ValidID(id) {
		return shop.Order{}, shop.NotFound("Order")
	}
	row := tx.row(ctx, `SELECT `+orderCols+` FROM orders o WHERE o.store_id = ? AND o.id = ?`, store, id)
	o, err := scanOrder(store, row.Scan)
	if err != nil {
		return shop.Order{}, notFound(err, "Order")
	}
	orders := []shop.Order{o}
	if err := tx.linesAndPayments(ctx, store, orders); err != nil {
		return shop.Order{}, err
	}
	o = orders[0]
	hist, err := tx.query(ctx, `SELECT from_status, to_status, actor_id, actor_role, note, created_at FROM order_history
		WHERE store_id = ? AND order_id = ? ORDER BY created_at, id`, store, id)
	if err != nil {
		return shop.Order{}, err
	}
	defer func() { _ = hist.Close() }()
	for hist.Next() {
		var e shop.OrderEvent
		var at dbTime
		if err := hist.Scan(&e.From, &e.To, &e.ActorID, &e.ActorRole, &e.Note, &at); err != nil {
			return shop.Order{}, err
		}
		e.At = at.T
		o.History = append(o.History, e)
	}
	return o, hist.Err()
}

// ListOrders lists orders of store, newest first (ids are time-ordered).
func (tx *Tx) ListOrders(ctx context.Context, store shop.StoreID, f shop.OrderFilter) (shop.OrderPage, error) {
	q := `SELECT ` + orderCols + ` FROM orders o WHERE o.store_id = ?`
	args := []any{store}
	if f.CustomerID != "" {
		q += ` AND o.customer_id = ?`
		args = append(args, f.CustomerID)
	}
	if f.Status != "" {
		q += ` AND o.status = ?`
		args = append(args, f.Status)
	}
	if f.ToPack {
		q += ` AND o.status IN ('paid', 'processing')`
	}
	if f.Cursor != "" {
		if !shop.ValidID(f.Cursor) {
			return shop.OrderPage{}, shop.Invalid(shop.FieldError{Field: "cursor", Message: "is not a cursor this listing gave out"})
		}
		if f.ToPack {
			q += ` AND o.id > ?`
		} else {
			q += ` AND o.id < ?`
		}
		args = append(args, f.Cursor)
	}
	if f.ToPack {
		q += ` ORDER BY o.id LIMIT ?`
	} else {
		q += ` ORDER BY o.id DESC LIMIT ?`
	}
	args = append(args, f.Limit+1)
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return shop.OrderPage{}, err
	}
	defer func() { _ = rows.Close() }()
	var page shop.OrderPage
	for rows.Next() {
		o, err := scanOrder(store, rows.Scan)
		if err != nil {
			return shop.OrderPage{}, err
		}
		page.Orders = append(page.Orders, o)
	}
	if err := rows.Err(); err != nil {
		return shop.OrderPage{}, err
	}
	_ = rows.Close()
	if len(page.Orders) > f.Limit {
		page.Orders = page.Orders[:f.Limit]
		page.NextCursor = page.Orders[f.Limit-1].ID
	}
	return page, tx.linesAndPayments(ctx, store, page.Orders)
}

// linesAndPayments reads the lines (with what came back of each) and the payments of orders, in
// one statement each whatever their number.
func (tx *Tx) linesAndPayments(ctx context.Context, store shop.StoreID, orders []shop.Order) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]string, len(orders))
	at := make(map[string]int, len(orders))
	for i, o := range orders {
		ids[i], at[o.ID] = o.ID, i
	}
	rows, err := tx.query(ctx, `SELECT l.order_id, l.id, l.product_id, l.sku, l.name, l.unit_price, l.quantity, l.line_total,
		l.tax_class, l.tax_rate, l.tax_amount, COALESCE((SELECT SUM(r.quantity) FROM order_returns r WHERE r.store_id = l.store_id AND r.order_id = l.order_id AND r.line_id = l.id), 0)
		FROM order_lines l WHERE l.store_id = ? AND l.order_id IN (`+placeholders(len(ids))+`) ORDER BY l.sku, l.id`, idArgs(store, ids)...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var orderID string
		var l shop.OrderLine
		if err := rows.Scan(&orderID, &l.ID, &l.ProductID, &l.SKU, &l.Name, &l.UnitPrice, &l.Quantity, &l.LineTotal,
			&l.TaxClass, &l.TaxRate, &l.TaxAmount, &l.Returned); err != nil {
			return err
		}
		if i, ok := at[orderID]; ok {
			if l.Net = l.LineTotal; orders[i].PricesIncludeTax {
				l.Net -= l.TaxAmount
			}
			orders[i].Lines = append(orders[i].Lines, l)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_ = rows.Close()
	if err := tx.taxesAndInvoices(ctx, store, orders, ids, at); err != nil {
		return err
	}
	payments, err := tx.payments(ctx, store, ids)
	if err != nil {
		return err
	}
	for i := range orders {
		orders[i].Payments = payments[orders[i].ID]
	}
	return nil
}

// OrderForUpdate is OrderByID for a transaction that changes the order's money or stock: on
// PostgreSQL the order's row is locked first (SELECT ... FOR UPDATE), so that concurrent refunds,
// returns and cancellations of one order run one after the other and each sees what the one before
// it wrote; SQLite's one writer runs them one after the other anyway.
func (tx *Tx) OrderForUpdate(ctx context.Context, store shop.StoreID, id string) (shop.Order, error) {
	if !shop.ValidID(id) {
		return shop.Order{}, shop.NotFound("Order")
	}
	if tx.db.dialect == Postgres {
		var got string
		if err := tx.queryRow(ctx, []any{&got}, `SELECT CAST(id AS TEXT) FROM orders WHERE store_id = ? AND id = ? FOR UPDATE`, store, id); err != nil {
			return shop.Order{}, notFound(err, "Order")
		}
	}
	return tx.OrderByID(ctx, store, id)
}

// ReturnLine records that quantity of an order's line came back (a cancellation, or a refund with
// restock) and puts it back in stock through the inventory ledger. The caller checks, under the
// order's lock (OrderForUpdate), that no more comes back than was sold less what came back before.
func (tx *Tx) ReturnLine(ctx context.Context, store shop.StoreID, orderID string, l shop.OrderLine, quantity int, reason, actorID string) error {
	if quantity <= 0 || quantity > l.Returnable() {
		return shop.Invalid(shop.FieldError{Field: "quantity", Message: "is more than can still come back of " + l.Name})
	}
	if err := tx.later(ctx, `INSERT INTO order_returns (id, store_id, order_id, line_id, quantity, reason, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, shop.NewID(), store, orderID, l.ID, quantity, reason, actorID, ts(tx.now)); err != nil {
		return err
	}
	if tx.conn != nil { // PostgreSQL: a return only raises the stock, so it can wait for the commit
		return tx.later(ctx, pgMoveStock, quantity, ts(tx.now), store, l.ProductID, shop.NewID(), quantity, reason, actorID, orderID)
	}
	_, err := tx.MoveStock(ctx, store, l.ProductID, quantity, reason, actorID, orderID)
	return err
}
