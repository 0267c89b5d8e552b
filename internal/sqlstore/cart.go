package sqlstore

import (
	"context"

	"secureshop/internal/shop"
)

// SetCartItem puts quantity of a product in a customer's cart at the unit price they accepted,
// replacing what was there.
func (tx *Tx) SetCartItem(ctx context.Context, store shop.StoreID, user shop.UserID, productID string, quantity int, unitPrice int64) error {
	return tx.later(ctx, `INSERT INTO cart_items (store_id, user_id, product_id, quantity, unit_price, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity, unit_price = excluded.unit_price,
		updated_at = excluded.updated_at`, store, user, productID, quantity, unitPrice, ts(tx.now))
}

// RemoveCartItem takes a product out of a customer's cart.
func (tx *Tx) RemoveCartItem(ctx context.Context, store shop.StoreID, user shop.UserID, productID string) error {
	return tx.later(ctx, `DELETE FROM cart_items WHERE store_id = ? AND user_id = ? AND product_id = ?`, store, user, productID)
}

// ClearCart empties a customer's cart.
func (tx *Tx) ClearCart(ctx context.Context, store shop.StoreID, user shop.UserID) error {
	return tx.later(ctx, `DELETE FROM cart_items WHERE store_id = ? AND user_id = ?`, store, user)
}

// CartLines returns a customer's cart in product id order (the order checkout takes stock in, so
// that two checkouts never wait on each other in a circle).
func (tx *Tx) CartLines(ctx context.Context, store shop.StoreID, user shop.UserID) ([]shop.CartLine, error) {
	var out []shop.CartLine
	err := tx.readCart(ctx, func(_ bool, l shop.CartLine) { out = append(out, l) }, `SELECT true, c.product_id, c.quantity, p.sku, p.name,
		p.price_amount, COALESCE(c.unit_price, 0), p.stock, p.status, p.weight_grams, p.tax_class FROM cart_items c JOIN products p ON p.store_id = c.store_id AND p.id = c.product_id
		WHERE c.store_id = ? AND c.user_id = ? ORDER BY c.product_id`, store, user)
	return out, err
}

// CartAndProduct returns a customer's cart, as CartLines does, and the product about to go into
// it (as a line of quantity 0) — one statement, one round trip — or shop.NotFound.
func (tx *Tx) CartAndProduct(ctx context.Context, store shop.StoreID, user shop.UserID, productID string) ([]shop.CartLine, shop.CartLine, error) {
	if !shop.ValidID(productID) {
		return nil, shop.CartLine{}, shop.NotFound("Product")
	}
	var lines []shop.CartLine
	var product *shop.CartLine
	err := tx.readCart(ctx, func(inCart bool, l shop.CartLine) {
		if inCart {
			lines = append(lines, l)
		} else {
			product = &l
		}
	}, `SELECT true, c.product_id, c.quantity, p.sku, p.name, p.price_amount, COALESCE(c.unit_price, 0), p.stock, p.status,
		p.weight_grams, p.tax_class FROM cart_items c JOIN products p ON p.store_id = c.store_id AND p.id = c.product_id
		WHERE c.store_id = ? AND c.user_id = ?
		UNION ALL SELECT false, id, 0, sku, name, price_amount, price_amount, stock, status, weight_grams, tax_class FROM products WHERE store_id = ? AND id = ?
		ORDER BY 2, 1`, store, user, store, productID)
	if err == nil && product == nil {
		err = shop.NotFound("Product")
	}
	if err != nil {
		return nil, shop.CartLine{}, err
	}
	return lines, *product, nil
}

// CheckoutStart is what checkout reads first: the result of an earlier use of its Idempotency-Key
// (Replay, an order id, when this request is a retry), whether the customer's e-mail address is
// verified, how long the store holds an unpaid order's stock, and their cart.
type CheckoutStart struct {
	Replay             string
	Verified           bool
	Guest              bool // a guest's checkout: no account, so no address to verify
	Email              string
	ReservationMinutes int // how long the store holds an unpaid order's stock
	Shipping           shop.Shipping
	Lines              []shop.CartLine
}

// CheckoutCart returns what checkout needs to begin, as CheckoutStart tells — one statement, one
// round trip, the key's lookup (as ReplayedKey does it) included — or shop.NotFound when there is
// no such customer, shop.ErrKeyReused when the key came with another request.
func (tx *Tx) CheckoutCart(ctx context.Context, store shop.StoreID, user shop.UserID, idem shop.Idempotency) (CheckoutStart, error) {
	var out CheckoutStart
	if !shop.ValidID(string(user)) {
		return out, shop.NotFound("User")
	}
	rows, err := tx.query(ctx, `SELECT u.email_verified_at IS NOT NULL, u.guest, u.email, s.reservation_minutes, s.shipping, COALESCE(k.request_hash, ''),
		COALESCE(CAST(k.result_id AS TEXT), ''), k.created_at, COALESCE(CAST(c.product_id AS TEXT), ''), COALESCE(c.quantity, 0),
		COALESCE(p.sku, ''), COALESCE(p.name, ''), COALESCE(p.price_amount, 0), COALESCE(c.unit_price, 0), COALESCE(p.stock, 0),
		COALESCE(p.status, ''), COALESCE(p.weight_grams, 0), COALESCE(p.tax_class, 'standard')
		FROM users u JOIN stores s ON s.id = u.store_id
		LEFT JOIN idempotency_keys k ON k.store_id = u.store_id AND k.user_id = u.id AND k.key = ?
		LEFT JOIN cart_items c ON c.store_id = u.store_id AND c.user_id = u.id
		LEFT JOIN products p ON p.store_id = c.store_id AND p.id = c.product_id
		WHERE u.store_id = ? AND u.id = ? ORDER BY c.product_id`, idem.Key, store, user)
	if err != nil {
		return out, err
	}
	defer func() { _ = rows.Close() }()
	found := false
	var hash, result, shipping string
	var created dbTime
	for rows.Next() {
		var l shop.CartLine
		if err := rows.Scan(&out.Verified, &out.Guest, &out.Email, &out.ReservationMinutes, &shipping, &hash, &result, &created, &l.ProductID, &l.Quantity,
			&l.SKU, &l.Name, &l.PriceAmount, &l.Accepted, &l.Stock, &l.Status, &l.WeightGrams, &l.TaxClass); err != nil {
			return out, translate(err)
		}
		found = true
		if l.ProductID != "" { // an empty cart is one row of the customer alone
			out.Lines = append(out.Lines, l)
		}
	}
	if err := rows.Err(); err != nil {
		return out, translate(err)
	}
	if !found {
		return out, shop.NotFound("User")
	}
	if out.Shipping, err = readShipping(shipping); err != nil {
		return out, err
	}
	if idem.Key == "" || !created.Valid {
		return out, nil
	}
	out.Replay, err = tx.replay(ctx, store, user, idem, hash, result, created.T)
	return out, err
}

// readCart runs q, whose rows are a flag and a cart line, and hands each row to add.
func (tx *Tx) readCart(ctx context.Context, add func(flag bool, l shop.CartLine), q string, args ...any) error {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var flag bool
		var l shop.CartLine
		if err := rows.Scan(&flag, &l.ProductID, &l.Quantity, &l.SKU, &l.Name, &l.PriceAmount, &l.Accepted, &l.Stock, &l.Status,
			&l.WeightGrams, &l.TaxClass); err != nil {
			return err
		}
		add(flag, l)
	}
	return rows.Err()
}
