// Package catalog holds each store's products and categories.
package catalog

import (
	"context"
	"strconv"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Service reads and changes catalogues.
type Service struct{ db *sqlstore.DB }

// New returns the catalogue service.
func New(db *sqlstore.DB) *Service { return &Service{db: db} }

// Products lists a store's active products, a page at a time. The catalogue is public.
func (s *Service) Products(ctx context.Context, store shop.StoreID, cursor string, limit int) (sqlstore.ProductPage, error) {
	var page sqlstore.ProductPage
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListProducts(ctx, store, cursor, limit); return })
	return page, err
}

// Product returns one active product of store.
func (s *Service) Product(ctx context.Context, store shop.StoreID, id string) (sqlstore.Product, error) {
	var p sqlstore.Product
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { p, err = tx.ProductByID(ctx, store, id); return })
	if err == nil && p.Status != "active" {
		return sqlstore.Product{}, shop.NotFound("Product")
	}
	return p, err
}

// Categories lists a store's categories.
func (s *Service) Categories(ctx context.Context, store shop.StoreID) ([]sqlstore.Category, error) {
	var cs []sqlstore.Category
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { cs, err = tx.ListCategories(ctx, store); return })
	return cs, err
}

// Seed describes a category and its products, for the demo catalogue.
type Seed struct {
	Category sqlstore.Category
	Products []sqlstore.Product
}

// Import adds categories and their products to store in one transaction, audited as one change.
func (s *Service) Import(ctx context.Context, actor shop.Principal, store shop.StoreID, seeds []Seed) (int, error) {
	if err := access.CheckStore(actor, store, access.CatalogWrite, "Store"); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(ctx, store, func(tx *sqlstore.Tx) error {
		for _, sd := range seeds {
			c := sd.Category
			if err := tx.CreateCategory(ctx, store, &c); err != nil {
				return err
			}
			for _, p := range sd.Products {
				p.CategoryID = c.ID
				if err := tx.CreateProduct(ctx, store, &p); err != nil {
					return err
				}
				n++
			}
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "catalog.import", TargetType: "store",
			TargetID: string(store), Detail: map[string]string{"categories": strconv.Itoa(len(seeds)), "products": strconv.Itoa(n)}})
		return err
	})
	return n, err
}
