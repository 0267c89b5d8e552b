package orders

import (
	"context"
	"fmt"

	"secureshop/internal/access"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// MaxAddresses is how many addresses a customer's book holds.
const MaxAddresses = 20

// Addresses is the customer's address book, the default first.
func (s *Service) Addresses(ctx context.Context, actor shop.Principal, store shop.StoreID) ([]sqlstore.SavedAddress, error) {
	if err := access.CheckStore(actor, store, access.CartUse, "Store"); err != nil {
		return nil, err
	}
	var out []sqlstore.SavedAddress
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { out, err = tx.Addresses(ctx, store, actor.UserID); return })
	return out, err
}

// AddAddress keeps an address in the customer's book, checked as checkout checks it (any real
// country: the book is not the store's), unless the same address is in it already; the first, or
// one saved as the default, is the one checkout offers first.
func (s *Service) AddAddress(ctx context.Context, actor shop.Principal, store shop.StoreID, a shop.Address, asDefault bool) (sqlstore.SavedAddress, error) {
	if err := access.CheckStore(actor, store, access.CartUse, "Store"); err != nil {
		return sqlstore.SavedAddress{}, err
	}
	a = a.Normal()
	if fields := a.Check("", nil, ""); len(fields) > 0 {
		return sqlstore.SavedAddress{}, shop.Invalid(fields...)
	}
	saved := sqlstore.SavedAddress{Address: a, Default: asDefault}
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		book, err := tx.Addresses(ctx, store, actor.UserID)
		if err != nil {
			return err
		}
		for _, b := range book {
			if b.Address == a {
				saved = b
				return nil
			}
		}
		if len(book) >= MaxAddresses {
			return shop.Invalid(shop.FieldError{Field: "address", Message: fmt.Sprintf("the address book is full (%d): delete one first", MaxAddresses)})
		}
		saved.Default = saved.Default || len(book) == 0
		return tx.AddAddress(ctx, store, actor.UserID, &saved)
	})
	return saved, err
}

// DeleteAddress takes an address out of the customer's book.
func (s *Service) DeleteAddress(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) error {
	if err := access.CheckStore(actor, store, access.CartUse, "Store"); err != nil {
		return err
	}
	return s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.DeleteAddress(ctx, store, actor.UserID, id)
	})
}
