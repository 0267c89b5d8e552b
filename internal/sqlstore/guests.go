package sqlstore

import (
	"context"
	"time"

	"secureshop/internal/shop"
)

// GuestUser returns the guest customer of store that key (a keyed hash of a visitor's cart cookie)
// names, creating it the first time: a customer row without a password (passwordHash is one that
// matches no password) that is never signed in to, with a placeholder address of its own so that
// the one the guest gives can later make an account. Its name is the latest the guest gave.
func (tx *Tx) GuestUser(ctx context.Context, store shop.StoreID, key, name, passwordHash string) (shop.UserID, error) {
	id := shop.UserID(shop.NewID())
	var got string
	err := tx.queryRow(ctx, []any{&got}, `INSERT INTO users (id, store_id, email, name, role, password_hash, active, guest, guest_key,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id, guest_key) WHERE guest_key IS NOT NULL DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
		RETURNING CAST(id AS TEXT)`, id, store, "guest-"+string(id)+"@invalid", name, shop.RoleCustomer, passwordHash, false, true, key,
		ts(tx.now), ts(tx.now))
	return shop.UserID(got), err
}

// IsGuest reports whether user is a guest of store.
func (tx *Tx) IsGuest(ctx context.Context, store shop.StoreID, user shop.UserID) (bool, error) {
	var guest bool
	if !shop.ValidID(string(user)) {
		return false, shop.NotFound("User")
	}
	err := tx.queryRow(ctx, []any{&guest}, `SELECT guest FROM users WHERE store_id = ? AND id = ?`, store, user)
	return guest, notFound(err, "User")
}

// OrderLink is a guest's link to an order: its id (which the token is made from) and when it ends.
type OrderLink struct {
	ID        string
	OrderID   string
	ExpiresAt time.Time
}

// CreateOrderLink records a guest's link to an order, by the hash of its token.
func (tx *Tx) CreateOrderLink(ctx context.Context, store shop.StoreID, l OrderLink, tokenHash string) error {
	return tx.later(ctx, `INSERT INTO order_links (id, store_id, order_id, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		l.ID, store, l.OrderID, tokenHash, ts(l.ExpiresAt), ts(tx.now))
}

// OrderLinkByHash finds the link whose token hashes to tokenHash, while it lasts; any other is NotFound.
func (tx *Tx) OrderLinkByHash(ctx context.Context, store shop.StoreID, tokenHash string) (OrderLink, error) {
	var l OrderLink
	err := tx.queryRow(ctx, []any{&l.ID, &l.OrderID, timeCol(&l.ExpiresAt)}, `SELECT CAST(id AS TEXT), CAST(order_id AS TEXT), expires_at
		FROM order_links WHERE store_id = ? AND token_hash = ? AND expires_at > ?`, store, tokenHash, ts(tx.now))
	return l, notFound(err, "Order")
}

// LatestOrderLink is the newest link of an order that still lasts; NotFound when it has none (it
// is no guest's, or its links have ended).
func (tx *Tx) LatestOrderLink(ctx context.Context, store shop.StoreID, orderID string) (OrderLink, error) {
	var l OrderLink
	err := tx.queryRow(ctx, []any{&l.ID, &l.OrderID, timeCol(&l.ExpiresAt)}, `SELECT CAST(id AS TEXT), CAST(order_id AS TEXT), expires_at
		FROM order_links WHERE store_id = ? AND order_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 1`, store, orderID, ts(tx.now))
	return l, notFound(err, "Order")
}

// AttachGuestOrders gives user the orders their guest checkouts placed with email: the orders of
// store's guests whose address is email (compared as normalised). It returns how many.
func (tx *Tx) AttachGuestOrders(ctx context.Context, store shop.StoreID, user shop.UserID, email string) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE orders SET customer_id = ?, updated_at = ? WHERE store_id = ? AND lower(email) = ?
		AND customer_id IN (SELECT id FROM users WHERE store_id = ? AND guest)`, user, ts(tx.now), store, shop.NormalizeEmail(email), store)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// GuestCheckoutOn reports whether store lets visitors check out without an account.
func (tx *Tx) GuestCheckoutOn(ctx context.Context, store shop.StoreID) (bool, error) {
	var on bool
	err := tx.queryRow(ctx, []any{&on}, `SELECT guest_checkout FROM stores WHERE id = ?`, store)
	return on, notFound(err, "Store")
}

// SetGuestCheckout lets visitors of store check out without an account, or not.
func (tx *Tx) SetGuestCheckout(ctx context.Context, store shop.StoreID, on bool) error {
	res, err := tx.exec(ctx, `UPDATE stores SET guest_checkout = ? WHERE id = ?`, on, store)
	return mustAffect(res, err, "Store")
}
