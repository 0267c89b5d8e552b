package shop

import "time"

// ProductStatus is whether a product is for sale.
type ProductStatus string

// Product statuses. An archived product stays in the orders that sold it, but is no longer shown
// or sold.
const (
	ProductActive   ProductStatus = "active"
	ProductArchived ProductStatus = "archived"
)

// ForSale reports whether a product in this status may be shown and sold.
func (s ProductStatus) ForSale() bool { return s == ProductActive }

// Category groups products within a store.
type Category struct {
	ID        string
	Slug      string
	Name      string
	StoreID   StoreID
	CreatedAt time.Time
}

// Product is a catalogue entry of one store. PriceAmount is in the store's currency's minor units.
type Product struct {
	ID           string
	StoreID      StoreID
	SKU          string
	Name         string
	Description  string
	PriceAmount  int64
	Stock        int
	CategoryID   string
	CategorySlug string
	Status       ProductStatus
	WeightGrams  int      // what one weighs packed, for shipping by weight
	TaxClass     TaxClass // the rate it is taxed at: standard unless set
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Product sort orders.
const (
	SortName   = "name"
	SortPrice  = "price"
	SortNewest = "newest"
)

// ProductFilter selects and orders a product listing.
type ProductFilter struct {
	Query           string // full-text search over name and description
	CategoryID      string
	Sort            string // SortName (default), SortPrice or SortNewest
	IncludeArchived bool
	Cursor          string
	Limit           int
}

// ProductPage is one page of a product listing.
type ProductPage struct {
	Products   []Product
	NextCursor string
}

// LedgerEntry is one stock change of the inventory ledger: a product's stock is the sum of its
// entries.
type LedgerEntry struct {
	ID         string
	ProductID  string
	Delta      int
	StockAfter int
	Reason     string
	ActorID    string
	OrderID    string
	CreatedAt  time.Time
}
