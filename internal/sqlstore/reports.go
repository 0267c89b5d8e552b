package sqlstore

import (
	"context"
	"time"

	"secureshop/internal/shop"
)

// AddRefund records money returned on an order and raises the order's refunded amount — never
// above its total (the database's check refuses it).
func (tx *Tx) AddRefund(ctx context.Context, store shop.StoreID, orderID string, amount int64, reason string, restocked bool, actor string) error {
	res, err := tx.exec(ctx, `UPDATE orders SET refunded_amount = refunded_amount + ?, updated_at = ?
		WHERE store_id = ? AND id = ? AND refunded_amount + ? <= total_amount`, amount, ts(tx.now), store, orderID, amount)
	if err := mustAffect(res, err, "Order"); err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO refunds (id, store_id, order_id, amount, reason, restocked, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, shop.NewID(), store, orderID, amount, reason, restocked, actor, ts(tx.now))
	return err
}

// SaleRow is one order for the reports.
type SaleRow struct {
	OrderID    string
	CustomerID shop.UserID
	Total      int64
	Refunded   int64
	Status     string
	CreatedAt  time.Time
}

// Sales lists the orders of store placed in [from, to) that were paid (not pending, not cancelled).
func (tx *Tx) Sales(ctx context.Context, store shop.StoreID, from, to time.Time) ([]SaleRow, error) {
	rows, err := tx.query(ctx, `SELECT id, customer_id, total_amount, refunded_amount, status, created_at FROM orders
		WHERE store_id = ? AND created_at >= ? AND created_at < ? AND status NOT IN ('pending_payment', 'cancelled')
		ORDER BY created_at`, store, ts(from), ts(to))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []SaleRow
	for rows.Next() {
		var r SaleRow
		var at dbTime
		if err := rows.Scan(&r.OrderID, &r.CustomerID, &r.Total, &r.Refunded, &r.Status, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = at.T
		out = append(out, r)
	}
	return out, rows.Err()
}

// RefundRow is one refund for the reports.
type RefundRow struct {
	OrderID   string
	Amount    int64
	CreatedAt time.Time
}

// Refunds lists the refunds of store made in [from, to).
func (tx *Tx) Refunds(ctx context.Context, store shop.StoreID, from, to time.Time) ([]RefundRow, error) {
	rows, err := tx.query(ctx, `SELECT order_id, amount, created_at FROM refunds WHERE store_id = ? AND created_at >= ? AND created_at < ?
		ORDER BY created_at`, store, ts(from), ts(to))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []RefundRow
	for rows.Next() {
		var r RefundRow
		var at dbTime
		if err := rows.Scan(&r.OrderID, &r.Amount, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = at.T
		out = append(out, r)
	}
	return out, rows.Err()
}

// TopProduct is a product's sales in a period.
type TopProduct struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	Revenue   int64  `json:"revenue"`
}

// TopProducts ranks products by revenue over the paid orders placed in [from, to).
func (tx *Tx) TopProducts(ctx context.Context, store shop.StoreID, from, to time.Time, limit int) ([]TopProduct, error) {
	rows, err := tx.query(ctx, `SELECT l.product_id, MIN(l.sku), MIN(l.name), SUM(l.quantity), SUM(l.line_total)
		FROM order_lines l JOIN orders o ON o.store_id = l.store_id AND o.id = l.order_id
		WHERE o.store_id = ? AND o.created_at >= ? AND o.created_at < ? AND o.status NOT IN ('pending_payment', 'cancelled')
		GROUP BY l.product_id ORDER BY SUM(l.line_total) DESC, l.product_id LIMIT ?`, store, ts(from), ts(to), limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []TopProduct
	for rows.Next() {
		var p TopProduct
		if err := rows.Scan(&p.ProductID, &p.SKU, &p.Name, &p.Quantity, &p.Revenue); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FirstOrders returns, for each customer, when they first placed a paid order (ever).
func (tx *Tx) FirstOrders(ctx context.Context, store shop.StoreID) (map[shop.UserID]time.Time, error) {
	rows, err := tx.query(ctx, `SELECT customer_id, MIN(created_at) FROM orders WHERE store_id = ?
		AND status NOT IN ('pending_payment', 'cancelled') GROUP BY customer_id`, store)
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

// StockBelow lists active products of store with stock under level, lowest first.
func (tx *Tx) StockBelow(ctx context.Context, store shop.StoreID, level, limit int) ([]Product, error) {
	rows, err := tx.query(ctx, productSelect+`WHERE p.store_id = ? AND p.status = 'active' AND p.stock < ?
		ORDER BY p.stock, p.name LIMIT ?`, store, level, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Product
	for rows.Next() {
		p, err := scanProduct(store, rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CountOrdersByStatus counts a store's orders in each status.
func (tx *Tx) CountOrdersByStatus(ctx context.Context, store shop.StoreID) (map[string]int, error) {
	rows, err := tx.query(ctx, `SELECT status, COUNT(*) FROM orders WHERE store_id = ? GROUP BY status`, store)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
