// Package catalog holds each store's products and categories, and the inventory ledger through
// which every stock change goes.
package catalog

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/memo"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Service reads and changes catalogues.
type Service struct {
	db         *sqlstore.DB
	pages      *memo.Cache[shop.ProductPage]
	categories *memo.Cache[[]shop.Category]
	products   *memo.Cache[shop.Product]
}

// Listings are the hottest reads of a shop: every visitor's first page is the same query. A
// listing is kept while the store's catalogue generation is unchanged and at most ListingTTL, the
// longest another server's change can stay unseen. Prices and stock charged at checkout are always
// read afresh in the checkout's own transaction.
const (
	ListingTTL  = time.Second
	maxListings = 256
	maxProducts = 4096 // product pages, kept the same way
)

// New returns the catalogue service.
func New(db *sqlstore.DB) *Service {
	return &Service{db: db, pages: memo.New[shop.ProductPage](ListingTTL, maxListings),
		categories: memo.New[[]shop.Category](ListingTTL, maxListings),
		products:   memo.New[shop.Product](ListingTTL, maxProducts)}
}

// Generation is the store's catalogue generation (see sqlstore.DB.CatalogGeneration), for caches
// of what is computed from listings.
func (s *Service) Generation(store shop.StoreID) uint64 { return s.db.CatalogGeneration(store) }

// Key is the cache key of a query in a store.
func (q Query) Key(store shop.StoreID) string {
	return strings.Join([]string{string(store), q.Text, q.Category, q.Sort, q.Cursor, strconv.Itoa(q.Limit)}, "\x00")
}

// Query is a catalogue listing request from a visitor or the back office.
type Query struct {
	Text     string // search words
	Category string // category slug
	Sort     string // name, price or newest
	Cursor   string
	Limit    int
}

// Products lists a store's active products, kept while the catalogue is unchanged (at most
// ListingTTL). The catalogue is public.
func (s *Service) Products(ctx context.Context, store shop.StoreID, q Query) (shop.ProductPage, error) {
	key, gen, now := q.Key(store), s.db.CatalogGeneration(store), time.Now()
	if page, ok := s.pages.Get(key, gen, now); ok {
		return page, nil
	}
	page, err := s.ReadProducts(ctx, store, q)
	if err == nil {
		s.pages.Put(key, gen, now, page)
	}
	return page, err
}

// ReadProducts lists a store's active products from the database, not from the kept listings:
// for callers that keep what they make of a listing themselves (its JSON, the storefront's page),
// so that their copy is never made from one that was itself already kept for a while — a change
// made by another server then shows within the bound memo promises, not twice it.
func (s *Service) ReadProducts(ctx context.Context, store shop.StoreID, q Query) (shop.ProductPage, error) {
	if utf8.RuneCountInString(q.Text) > 200 {
		return shop.ProductPage{}, shop.Invalid(shop.FieldError{Field: "q", Message: "must be at most 200 characters"})
	}
	var page shop.ProductPage
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) error {
		f := shop.ProductFilter{Query: q.Text, Sort: q.Sort, Cursor: q.Cursor, Limit: q.Limit}
		if q.Category != "" {
			c, err := tx.CategoryBySlug(ctx, store, q.Category)
			if shop.KindOf(err) == shop.KindNotFound {
				return nil // an unknown category has no products
			}
			if err != nil {
				return err
			}
			f.CategoryID = c.ID
		}
		var err error
		page, err = tx.ListProducts(ctx, store, f)
		return err
	})
	return page, err
}

// Product returns one active product of store, kept as listings are (only products that exist:
// ids that name none are not remembered).
func (s *Service) Product(ctx context.Context, store shop.StoreID, id string) (shop.Product, error) {
	key, gen, now := string(store)+"\x00"+id, s.db.CatalogGeneration(store), time.Now()
	p, ok := s.products.Get(key, gen, now)
	if !ok {
		err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { p, err = tx.ProductByID(ctx, store, id); return })
		if err != nil {
			return shop.Product{}, err
		}
		s.products.Put(key, gen, now, p)
	}
	if !p.Status.ForSale() {
		return shop.Product{}, shop.NotFound("Product")
	}
	return p, nil
}

// Categories lists a store's categories.
func (s *Service) Categories(ctx context.Context, store shop.StoreID) ([]shop.Category, error) {
	gen, now := s.db.CatalogGeneration(store), time.Now()
	if cs, ok := s.categories.Get(string(store), gen, now); ok {
		return cs, nil
	}
	cs, err := s.ReadCategories(ctx, store)
	if err == nil {
		s.categories.Put(string(store), gen, now, cs)
	}
	return cs, err
}

// ReadCategories lists a store's categories from the database, not from the kept copy (see
// ReadProducts).
func (s *Service) ReadCategories(ctx context.Context, store shop.StoreID) ([]shop.Category, error) {
	var cs []shop.Category
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { cs, err = tx.ListCategories(ctx, store); return })
	return cs, err
}

// ProductInput is a new product, or (with nil fields left alone) a change to one.
type ProductInput struct {
	SKU         *string
	Name        *string
	Description *string
	Price       *shop.Money
	Stock       *int // only when creating; later changes go through AdjustStock
	Category    *string
	WeightGrams *int
	TaxClass    *shop.TaxClass
}

var skuRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func validText(s string, max int, multiline bool) bool { return shop.ValidText(s, max, multiline) }

func (in ProductInput) validate(st shop.Store, creating bool) []shop.FieldError {
	var f []shop.FieldError
	if creating && (in.SKU == nil || in.Name == nil || in.Price == nil) {
		return []shop.FieldError{{Field: "sku", Message: "sku, name and price are required"}}
	}
	if in.SKU != nil && !skuRE.MatchString(*in.SKU) {
		f = append(f, shop.FieldError{Field: "sku", Message: "must be 1 to 64 letters, digits, dots, dashes or underscores"})
	}
	if in.Name != nil && (strings.TrimSpace(*in.Name) == "" || !validText(*in.Name, 200, false)) {
		f = append(f, shop.FieldError{Field: "name", Message: "must be 1 to 200 characters of text"})
	}
	if in.Description != nil && !validText(*in.Description, 5000, true) {
		f = append(f, shop.FieldError{Field: "description", Message: "must be at most 5000 characters of text"})
	}
	if in.Price != nil {
		if in.Price.Amount < 0 || in.Price.Amount > 100_000_000 {
			f = append(f, shop.FieldError{Field: "price.amount", Message: "must be from 0 to 100000000 minor units"})
		}
		if in.Price.Currency != "" && in.Price.Currency != st.Currency {
			f = append(f, shop.FieldError{Field: "price.currency", Message: "must be the store's currency, " + st.Currency})
		}
	}
	if in.Stock != nil && (*in.Stock < 0 || *in.Stock > 1_000_000) {
		f = append(f, shop.FieldError{Field: "stock", Message: "must be from 0 to 1000000"})
	}
	if in.WeightGrams != nil && (*in.WeightGrams < 0 || *in.WeightGrams > shop.MaxParcelGrams) {
		f = append(f, shop.FieldError{Field: "weight_grams", Message: "must be from 0 to " + strconv.Itoa(shop.MaxParcelGrams)})
	}
	if in.TaxClass != nil && !in.TaxClass.Known() {
		f = append(f, shop.FieldError{Field: "tax_class", Message: "must be standard, reduced or zero"})
	}
	if in.Category != nil && len(*in.Category) > 64 {
		f = append(f, shop.FieldError{Field: "category", Message: "is not a category of this store"})
	}
	return f
}

func (s *Service) categoryID(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID, slug *string) (string, error) {
	if slug == nil || *slug == "" {
		return "", nil
	}
	c, err := tx.CategoryBySlug(ctx, store, *slug)
	if shop.KindOf(err) == shop.KindNotFound {
		return "", shop.Invalid(shop.FieldError{Field: "category", Message: "is not a category of this store"})
	}
	return c.ID, err
}

var errDuplicateSKU = shop.Errorf(shop.KindConflict, "A product with this SKU already exists in this store.")

// CreateProduct adds a product; its opening stock is the ledger's first entry.
func (s *Service) CreateProduct(ctx context.Context, actor shop.Principal, st shop.Store, in ProductInput) (shop.Product, error) {
	if err := access.CheckStore(actor, st.ID, access.CatalogWrite, "Store"); err != nil {
		return shop.Product{}, err
	}
	if f := in.validate(st, true); len(f) > 0 {
		return shop.Product{}, shop.Invalid(f...)
	}
	p := shop.Product{SKU: *in.SKU, Name: strings.TrimSpace(*in.Name), PriceAmount: in.Price.Amount, TaxClass: shop.TaxStandard}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.WeightGrams != nil {
		p.WeightGrams = *in.WeightGrams
	}
	if in.TaxClass != nil {
		p.TaxClass = *in.TaxClass
	}
	stock := 0
	if in.Stock != nil {
		stock = *in.Stock
	}
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if p.CategoryID, err = s.categoryID(ctx, tx, st.ID, in.Category); err != nil {
			return err
		}
		if err := tx.CreateProduct(ctx, st.ID, &p); err != nil {
			return err
		}
		if stock > 0 {
			if p.Stock, err = tx.MoveStock(ctx, st.ID, p.ID, stock, "opening stock", string(actor.UserID), ""); err != nil {
				return err
			}
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "product.create", TargetType: "product", TargetID: p.ID,
			Detail: map[string]string{"sku": p.SKU, "name": p.Name, "price": strconv.FormatInt(p.PriceAmount, 10), "stock": strconv.Itoa(stock)}})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) {
		return shop.Product{}, errDuplicateSKU
	}
	if err != nil {
		return shop.Product{}, err
	}
	return s.product(ctx, st.ID, p.ID)
}

func (s *Service) product(ctx context.Context, store shop.StoreID, id string) (shop.Product, error) {
	var p shop.Product
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { p, err = tx.ProductByID(ctx, store, id); return })
	return p, err
}

// UpdateProduct changes a product's details. The audit entry keeps each field's before and after.
func (s *Service) UpdateProduct(ctx context.Context, actor shop.Principal, st shop.Store, id string, in ProductInput) (shop.Product, error) {
	if err := access.CheckStore(actor, st.ID, access.CatalogWrite, "Product"); err != nil {
		return shop.Product{}, err
	}
	if in.Stock != nil {
		return shop.Product{}, shop.Invalid(shop.FieldError{Field: "stock", Message: "changes only through a stock adjustment with a reason"})
	}
	if f := in.validate(st, false); len(f) > 0 {
		return shop.Product{}, shop.Invalid(f...)
	}
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		p, err := tx.ProductByID(ctx, st.ID, id)
		if err != nil {
			return err
		}
		detail := map[string]string{}
		change := func(field string, dst *string, v *string) {
			if v != nil && *v != *dst {
				detail[field+"_before"], detail[field+"_after"] = *dst, *v
				*dst = *v
			}
		}
		change("sku", &p.SKU, in.SKU)
		change("name", &p.Name, in.Name)
		change("description", &p.Description, in.Description)
		if in.Price != nil && in.Price.Amount != p.PriceAmount {
			detail["price_before"], detail["price_after"] = strconv.FormatInt(p.PriceAmount, 10), strconv.FormatInt(in.Price.Amount, 10)
			p.PriceAmount = in.Price.Amount
		}
		if in.WeightGrams != nil && *in.WeightGrams != p.WeightGrams {
			detail["weight_grams_before"], detail["weight_grams_after"] = strconv.Itoa(p.WeightGrams), strconv.Itoa(*in.WeightGrams)
			p.WeightGrams = *in.WeightGrams
		}
		if in.TaxClass != nil && *in.TaxClass != p.TaxClass {
			detail["tax_class_before"], detail["tax_class_after"] = string(p.TaxClass), string(*in.TaxClass)
			p.TaxClass = *in.TaxClass
		}
		if in.Category != nil {
			cid, err := s.categoryID(ctx, tx, st.ID, in.Category)
			if err != nil {
				return err
			}
			if cid != p.CategoryID {
				detail["category_before"], detail["category_after"] = p.CategorySlug, *in.Category
				p.CategoryID = cid
			}
		}
		if len(detail) == 0 {
			return nil
		}
		if err := tx.UpdateProduct(ctx, st.ID, &p); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "product.update", TargetType: "product", TargetID: p.ID, Detail: detail})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) {
		return shop.Product{}, errDuplicateSKU
	}
	if err != nil {
		return shop.Product{}, err
	}
	return s.product(ctx, st.ID, id)
}

// ArchiveProduct takes a product out of the catalogue; orders that hold it keep it.
func (s *Service) ArchiveProduct(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) error {
	if err := access.CheckStore(actor, store, access.CatalogArchive, "Product"); err != nil {
		return err
	}
	return s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		p, err := tx.ProductByID(ctx, store, id)
		if err != nil || p.Status == shop.ProductArchived {
			return err
		}
		p.Status = shop.ProductArchived
		if err := tx.UpdateProduct(ctx, store, &p); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "product.archive", TargetType: "product", TargetID: p.ID,
			Detail: map[string]string{"sku": p.SKU}})
		return err
	})
}

// AdjustStock moves a product's stock by delta with a reason (a delivery, a count, breakage). A
// retry with the same Idempotency-Key moves it once and answers with the product (replayed).
func (s *Service) AdjustStock(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, delta int, reason string, idem shop.Idempotency) (shop.Product, bool, error) {
	if err := access.CheckStore(actor, store, access.InventoryAdjust, "Product"); err != nil {
		return shop.Product{}, false, err
	}
	var f []shop.FieldError
	if delta == 0 || delta < -1_000_000 || delta > 1_000_000 {
		f = append(f, shop.FieldError{Field: "delta", Message: "must be a non-zero whole number from -1000000 to 1000000"})
	}
	if reason = strings.TrimSpace(reason); reason == "" || !validText(reason, 200, false) {
		f = append(f, shop.FieldError{Field: "reason", Message: "must say why, in 1 to 200 characters"})
	}
	if err := idem.Check(false); err != nil {
		return shop.Product{}, false, err
	}
	if len(f) > 0 {
		return shop.Product{}, false, shop.Invalid(f...)
	}
	replay := ""
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if replay, err = tx.ReplayedKey(ctx, store, actor.UserID, idem); err != nil || replay != "" {
			return err
		}
		after, err := tx.MoveStock(ctx, store, id, delta, reason, string(actor.UserID), "")
		if errors.Is(err, sqlstore.ErrInsufficientStock) {
			return shop.Errorf(shop.KindConflict, "The stock cannot go below zero.")
		}
		if err != nil {
			return err
		}
		if err := tx.SaveKey(ctx, store, actor.UserID, idem, id); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "inventory.adjust", TargetType: "product", TargetID: id,
			Detail: map[string]string{"delta": strconv.Itoa(delta), "stock_before": strconv.Itoa(after - delta),
				"stock_after": strconv.Itoa(after), "reason": reason}})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) { // the same key, committed a moment ago by a concurrent request
		err, replay = nil, id
	}
	if err != nil {
		return shop.Product{}, false, err
	}
	p, err := s.product(ctx, store, id)
	return p, replay != "", err
}

// Ledger returns a product as staff see it (archived or not) and its stock changes, newest first.
func (s *Service) Ledger(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) (shop.Product, []shop.LedgerEntry, error) {
	if err := access.CheckStore(actor, store, access.InventoryAdjust, "Product"); err != nil {
		return shop.Product{}, nil, err
	}
	var p shop.Product
	var out []shop.LedgerEntry
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) {
		if p, err = tx.ProductByID(ctx, store, id); err != nil {
			return err
		}
		out, err = tx.Ledger(ctx, store, id, 200)
		return err
	})
	return p, out, err
}

// Seed describes a category and its products, for the demo catalogue.
type Seed struct {
	Category shop.Category
	Products []shop.Product
}

// Import adds categories and their products to store in one transaction, audited as one change.
// Each product's stock enters through the ledger.
func (s *Service) Import(ctx context.Context, actor shop.Principal, store shop.StoreID, seeds []Seed) (int, error) {
	if err := access.CheckStore(actor, store, access.CatalogWrite, "Store"); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		for _, sd := range seeds {
			c := sd.Category
			if err := tx.CreateCategory(ctx, store, &c); err != nil {
				return err
			}
			for _, p := range sd.Products {
				stock := p.Stock
				p.CategoryID, p.Stock = c.ID, 0
				if err := tx.CreateProduct(ctx, store, &p); err != nil {
					return err
				}
				if stock > 0 {
					if _, err := tx.MoveStock(ctx, store, p.ID, stock, "opening stock", string(actor.UserID), ""); err != nil {
						return err
					}
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
