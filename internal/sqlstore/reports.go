package sqlstore

import (
	"context"
	"time"

	"secureshop/internal/shop"
)

// TopProduct is a product's sales in a period.
type TopProduct struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	Revenue   int64  `json:"revenue"`
}

// TopProducts ranks products by revenue over the orders paid in [from, to) — those whose charge
// settled in the period, as the sales report counts them — and not cancelled: the quantity sold
// less what came back, and the lines' totals at the prices paid.
func (tx *Tx) TopProducts(ctx context.Context, store shop.StoreID, from, to time.Time, limit int) ([]TopProduct, error) {
	rows, err := tx.query(ctx, `SELECT l.product_id, MIN(l.sku), MIN(l.name), SUM(l.quantity - COALESCE((SELECT SUM(r.quantity) FROM order_returns r
			WHERE r.store_id = l.store_id AND r.order_id = l.order_id AND r.line_id = l.id), 0)), SUM(l.line_total)
		FROM payments p JOIN orders o ON o.store_id = p.store_id AND o.id = p.order_id
		JOIN order_lines l ON l.store_id = o.store_id AND l.order_id = o.id
		WHERE p.store_id = ? AND p.kind = 'charge' AND p.state = 'succeeded' AND p.settled_at >= ? AND p.settled_at < ?
		AND o.status <> 'cancelled'
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

// StockBelow lists active products of store with stock under level, lowest first.
func (tx *Tx) StockBelow(ctx context.Context, store shop.StoreID, level, limit int) ([]shop.Product, error) {
	rows, err := tx.query(ctx, productSelect+`WHERE p.store_id = ? AND p.status = ? AND p.stock < ?
		ORDER BY p.stock, p.name LIMIT ?`, store, shop.ProductActive, level, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []shop.Product
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
func (tx *Tx) CountOrdersByStatus(ctx context.Context, store shop.StoreID) (map[shop.OrderStatus]int, error) {
	rows, err := tx.query(ctx, `SELECT status, COUNT(*) FROM orders WHERE store_id = ? GROUP BY status`, store)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[shop.OrderStatus]int{}
	for rows.Next() {
		var s shop.OrderStatus
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// TaxEntry is one rate's line of an invoice or a credit note issued in a period.
type TaxEntry struct {
	IssuedAt time.Time
	Credit   bool // a credit note's: tax given back
	Class    shop.TaxClass
	Rate     int64
	Name     string
	Base     int64
	Amount   int64
}

// InvoicedTaxes returns the tax lines of the invoices and credit notes store issued in [from, to).
func (tx *Tx) InvoicedTaxes(ctx context.Context, store shop.StoreID, from, to time.Time) ([]TaxEntry, error) {
	rows, err := tx.query(ctx, `SELECT i.issued_at, i.kind = 'credit_note', t.class, t.rate, t.name, t.base, t.amount
		FROM invoices i JOIN invoice_taxes t ON t.store_id = i.store_id AND t.invoice_id = i.id
		WHERE i.store_id = ? AND i.issued_at >= ? AND i.issued_at < ? ORDER BY i.issued_at`, store, ts(from), ts(to))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []TaxEntry
	for rows.Next() {
		var e TaxEntry
		if err := rows.Scan(timeCol(&e.IssuedAt), &e.Credit, &e.Class, &e.Rate, &e.Name, &e.Base, &e.Amount); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ShippingEntry is the shipping of an order invoiced in a period.
type ShippingEntry struct {
	IssuedAt time.Time
	Method   string
	Net      int64 // without tax
	Charged  int64 // as the customer paid it
}

// InvoicedShipping returns the shipping of the orders store invoiced in [from, to).
func (tx *Tx) InvoicedShipping(ctx context.Context, store shop.StoreID, from, to time.Time) ([]ShippingEntry, error) {
	rows, err := tx.query(ctx, `SELECT i.issued_at, o.shipping_method, o.shipping_amount, o.shipping_price
		FROM invoices i JOIN orders o ON o.store_id = i.store_id AND o.id = i.order_id
		WHERE i.store_id = ? AND i.kind = 'invoice' AND o.shipping_method <> '' AND i.issued_at >= ? AND i.issued_at < ?
		ORDER BY i.issued_at`, store, ts(from), ts(to))
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []ShippingEntry
	for rows.Next() {
		var e ShippingEntry
		if err := rows.Scan(timeCol(&e.IssuedAt), &e.Method, &e.Net, &e.Charged); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
