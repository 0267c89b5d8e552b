package sqlstore

import (
	"context"

	"secureshop/internal/shop"
)

// SavedAddress is an address of a customer's address book.
type SavedAddress struct {
	ID      string
	Address shop.Address
	Default bool
}

// AddAddress puts an address in a customer's book; as the default, it becomes the only one.
func (tx *Tx) AddAddress(ctx context.Context, store shop.StoreID, user shop.UserID, a *SavedAddress) error {
	if a.ID == "" {
		a.ID = shop.NewID()
	}
	if a.Default {
		if _, err := tx.exec(ctx, `UPDATE addresses SET is_default = ? WHERE store_id = ? AND user_id = ?`, false, store, user); err != nil {
			return err
		}
	}
	d := a.Address
	_, err := tx.exec(ctx, `INSERT INTO addresses (id, store_id, user_id, name, line1, line2, city, region, postcode, country, phone, is_default, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, store, user, d.Name, d.Line1, d.Line2, d.City, d.Region, d.Postcode, d.Country,
		d.Phone, a.Default, ts(tx.now))
	return err
}

// Addresses is a customer's address book, the default first, then the newest.
func (tx *Tx) Addresses(ctx context.Context, store shop.StoreID, user shop.UserID) ([]SavedAddress, error) {
	rows, err := tx.query(ctx, `SELECT CAST(id AS TEXT), name, line1, line2, city, region, postcode, country, phone, is_default FROM addresses
		WHERE store_id = ? AND user_id = ? ORDER BY is_default DESC, created_at DESC, id DESC`, store, user)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []SavedAddress
	for rows.Next() {
		var a SavedAddress
		d := &a.Address
		if err := rows.Scan(&a.ID, &d.Name, &d.Line1, &d.Line2, &d.City, &d.Region, &d.Postcode, &d.Country, &d.Phone, &a.Default); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAddress takes an address out of a customer's book; another's is NotFound.
func (tx *Tx) DeleteAddress(ctx context.Context, store shop.StoreID, user shop.UserID, id string) error {
	if !shop.ValidID(id) {
		return shop.NotFound("Address")
	}
	res, err := tx.exec(ctx, `DELETE FROM addresses WHERE store_id = ? AND user_id = ? AND id = ?`, store, user, id)
	return mustAffect(res, err, "Address")
}
