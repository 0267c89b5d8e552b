package sqlstore

import (
	"context"

	"secureshop/internal/shop"
)

// Category groups products within a store.
type Category struct {
	ID        string `json:"id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	StoreID   shop.StoreID
	CreatedAt dbTime
}

// Product is a catalogue entry of one store.
type Product struct {
	ID           string
	StoreID      shop.StoreID
	SKU          string
	Name         string
	Description  string
	PriceAmount  int64
	Stock        int
	CategoryID   string
	CategorySlug string
	Status       string
	CreatedAt    dbTime
	UpdatedAt    dbTime
}

// CreateCategory adds a category to store. A taken slug returns shop.ErrDuplicate.
func (tx *Tx) CreateCategory(ctx context.Context, store shop.StoreID, c *Category) error {
	if c.ID == "" {
		c.ID = shop.NewID()
	}
	c.StoreID = store
	c.CreatedAt = dbTime{T: tx.now, Valid: true}
	_, err := tx.exec(ctx, `INSERT INTO categories (id, store_id, slug, name, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, store, c.Slug, c.Name, ts(tx.now))
	return err
}

// ListCategories returns the categories of store by name.
func (tx *Tx) ListCategories(ctx context.Context, store shop.StoreID) ([]Category, error) {
	rows, err := tx.query(ctx, `SELECT id, slug, name, created_at FROM categories WHERE store_id = ? ORDER BY name`, store)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Category
	for rows.Next() {
		c := Category{StoreID: store}
		if err := rows.Scan(&c.ID, &c.Slug, &c.Name, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateProduct adds a product to store. A taken SKU returns shop.ErrDuplicate; a category of
// another store is refused by the database's composite foreign key.
func (tx *Tx) CreateProduct(ctx context.Context, store shop.StoreID, p *Product) error {
	if p.ID == "" {
		p.ID = shop.NewID()
	}
	if p.Status == "" {
		p.Status = "active"
	}
	p.StoreID = store
	p.CreatedAt = dbTime{T: tx.now, Valid: true}
	p.UpdatedAt = p.CreatedAt
	_, err := tx.exec(ctx, `INSERT INTO products (id, store_id, sku, name, description, price_amount, stock,
		category_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, store, p.SKU, p.Name, p.Description, p.PriceAmount, p.Stock, nullStr(p.CategoryID), p.Status,
		ts(tx.now), ts(tx.now))
	return err
}

const productSelect = `SELECT p.id, p.sku, p.name, p.description, p.price_amount, p.stock,
	COALESCE(CAST(c.id AS TEXT), ''), COALESCE(c.slug, ''), p.status, p.created_at, p.updated_at
	FROM products p LEFT JOIN categories c ON c.id = p.category_id AND c.store_id = p.store_id `

func scanProduct(store shop.StoreID, scan func(...any) error) (Product, error) {
	p := Product{StoreID: store}
	err := scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.PriceAmount, &p.Stock, &p.CategoryID, &p.CategorySlug,
		&p.Status, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// ProductByID finds a product of store; another store's product is NotFound.
func (tx *Tx) ProductByID(ctx context.Context, store shop.StoreID, id string) (Product, error) {
	if !shop.ValidID(id) {
		return Product{}, shop.NotFound("Product")
	}
	row := tx.tx.QueryRowContext(ctx, tx.db.rebind(productSelect+`WHERE p.store_id = ? AND p.id = ?`), store, id)
	p, err := scanProduct(store, row.Scan)
	return p, notFound(err, "Product")
}

// ProductPage is one page of a product listing.
type ProductPage struct {
	Products   []Product
	NextCursor string
}

// ListProducts lists the active products of store in id order, limit at a time, after cursor.
func (tx *Tx) ListProducts(ctx context.Context, store shop.StoreID, cursor string, limit int) (ProductPage, error) {
	rows, err := tx.query(ctx, productSelect+`WHERE p.store_id = ? AND p.status = 'active' AND p.id > ?
		ORDER BY p.id LIMIT ?`, store, cursorOrMin(cursor), limit+1)
	if err != nil {
		return ProductPage{}, err
	}
	defer func() { _ = rows.Close() }()
	var page ProductPage
	for rows.Next() {
		p, err := scanProduct(store, rows.Scan)
		if err != nil {
			return ProductPage{}, err
		}
		page.Products = append(page.Products, p)
	}
	if len(page.Products) > limit {
		page.Products = page.Products[:limit]
		page.NextCursor = page.Products[limit-1].ID
	}
	return page, rows.Err()
}

// CountProducts counts the products of store, archived included.
func (tx *Tx) CountProducts(ctx context.Context, store shop.StoreID) (int, error) {
	var n int
	err := tx.queryRow(ctx, []any{&n}, `SELECT COUNT(*) FROM products WHERE store_id = ?`, store)
	return n, err
}
