package sqlstore

import (
	"context"

	"secureshop/internal/shop"
)

// CartLine is one line of a customer's cart with the product as the catalogue has it now.
type CartLine struct {
	ProductID   string
	Quantity    int
	SKU         string
	Name        string
	PriceAmount int64
	Stock       int
	Status      string
}

// SetCartItem puts quantity of a product in a customer's cart, replacing what was there.
func (tx *Tx) SetCartItem(ctx context.Context, store shop.StoreID, user shop.UserID, productID string, quantity int) error {
	_, err := tx.exec(ctx, `INSERT INTO cart_items (store_id, user_id, product_id, quantity, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity, updated_at = excluded.updated_at`,
		store, user, productID, quantity, ts(tx.now))
	return err
}

// RemoveCartItem takes a product out of a customer's cart.
func (tx *Tx) RemoveCartItem(ctx context.Context, store shop.StoreID, user shop.UserID, productID string) error {
	_, err := tx.exec(ctx, `DELETE FROM cart_items WHERE store_id = ? AND user_id = ? AND product_id = ?`, store, user, productID)
	return err
}

// ClearCart empties a customer's cart.
func (tx *Tx) ClearCart(ctx context.Context, store shop.StoreID, user shop.UserID) error {
	return tx.later(ctx, `DELETE FROM cart_items WHERE store_id = ? AND user_id = ?`, store, user)
}

// CartLines returns a customer's cart in product id order (the order checkout takes stock in, so
// that two checkouts never wait on each other in a circle).
func (tx *Tx) CartLines(ctx context.Context, store shop.StoreID, user shop.UserID) ([]CartLine, error) {
	rows, err := tx.query(ctx, `SELECT c.product_id, c.quantity, p.sku, p.name, p.price_amount, p.stock, p.status
		FROM cart_items c JOIN products p ON p.store_id = c.store_id AND p.id = c.product_id
		WHERE c.store_id = ? AND c.user_id = ? ORDER BY c.product_id`, store, user)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []CartLine
	for rows.Next() {
		var l CartLine
		if err := rows.Scan(&l.ProductID, &l.Quantity, &l.SKU, &l.Name, &l.PriceAmount, &l.Stock, &l.Status); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
