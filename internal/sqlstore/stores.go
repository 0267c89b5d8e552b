package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"secureshop/internal/shop"
)

const storeCols = `id, slug, name, currency, status, created_at`

func scanStore(scan func(...any) error) (shop.Store, error) {
	var s shop.Store
	var created dbTime
	err := scan(&s.ID, &s.Slug, &s.Name, &s.Currency, &s.Status, &created)
	s.CreatedAt = created.T
	return s, err
}

// CreateStore inserts a store. A taken slug returns shop.ErrDuplicate.
func (tx *Tx) CreateStore(ctx context.Context, s *shop.Store) error {
	if s.ID == "" {
		s.ID = shop.StoreID(shop.NewID())
	}
	if s.Status == "" {
		s.Status = shop.StoreActive
	}
	s.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO stores (`+storeCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		s.ID, s.Slug, s.Name, s.Currency, s.Status, ts(s.CreatedAt))
	return err
}

// StoreBySlug finds a store by its slug.
func (tx *Tx) StoreBySlug(ctx context.Context, slug string) (shop.Store, error) {
	s, err := scanStore(tx.row(ctx, `SELECT `+storeCols+` FROM stores WHERE slug = ?`, slug).Scan)
	return s, notFound(err, "Store")
}

// StoreByID finds a store by its id.
func (tx *Tx) StoreByID(ctx context.Context, id shop.StoreID) (shop.Store, error) {
	if !shop.ValidID(string(id)) {
		return shop.Store{}, shop.NotFound("Store")
	}
	s, err := scanStore(tx.row(ctx, `SELECT `+storeCols+` FROM stores WHERE id = ?`, id).Scan)
	return s, notFound(err, "Store")
}

// ListStores returns every store, oldest first.
func (tx *Tx) ListStores(ctx context.Context) ([]shop.Store, error) {
	rows, err := tx.query(ctx, `SELECT `+storeCols+` FROM stores ORDER BY created_at, slug`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []shop.Store
	for rows.Next() {
		s, err := scanStore(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetStoreStatus suspends or resumes a store.
func (tx *Tx) SetStoreStatus(ctx context.Context, id shop.StoreID, status shop.StoreStatus) error {
	res, err := tx.exec(ctx, `UPDATE stores SET status = ? WHERE id = ?`, status, id)
	return mustAffect(res, err, "Store")
}

// notFound turns "no rows" into a user-facing NotFound error naming what.
func notFound(err error, what string) error {
	err = translate(err)
	if errors.Is(err, shop.ErrNoRows) {
		return shop.NotFound(what)
	}
	return err
}

type rowsAffected interface{ RowsAffected() (int64, error) }

// mustAffect returns NotFound when an UPDATE matched no row.
func mustAffect(res rowsAffected, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return shop.NotFound(what)
	}
	return nil
}

// StoreShipping returns a store's shipping and tax set-up.
func (tx *Tx) StoreShipping(ctx context.Context, id shop.StoreID) (shop.Shipping, error) {
	var doc string
	if err := tx.queryRow(ctx, []any{&doc}, `SELECT shipping FROM stores WHERE id = ?`, id); err != nil {
		return shop.Shipping{}, notFound(err, "Store")
	}
	return readShipping(doc)
}

// SetStoreShipping replaces a store's shipping and tax set-up (checked by the caller).
func (tx *Tx) SetStoreShipping(ctx context.Context, id shop.StoreID, s shop.Shipping) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE stores SET shipping = ? WHERE id = ?`, string(doc), id)
	return mustAffect(res, err, "Store")
}

func readShipping(doc string) (shop.Shipping, error) {
	var s shop.Shipping
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return s, fmt.Errorf("sqlstore: a store's shipping set-up: %w", err)
	}
	return s, nil
}
