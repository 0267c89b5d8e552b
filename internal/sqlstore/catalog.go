package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"secureshop/internal/shop"
)

// CreateCategory adds a category to store. A taken slug returns shop.ErrDuplicate.
func (tx *Tx) CreateCategory(ctx context.Context, store shop.StoreID, c *shop.Category) error {
	if c.ID == "" {
		c.ID = shop.NewID()
	}
	c.StoreID = store
	c.CreatedAt = tx.now
	tx.changesCatalog()
	_, err := tx.exec(ctx, `INSERT INTO categories (id, store_id, slug, name, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, store, c.Slug, c.Name, ts(tx.now))
	return err
}

// ListCategories returns the categories of store by name.
func (tx *Tx) ListCategories(ctx context.Context, store shop.StoreID) ([]shop.Category, error) {
	rows, err := tx.query(ctx, `SELECT id, slug, name, created_at FROM categories WHERE store_id = ? ORDER BY name`, store)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []shop.Category
	for rows.Next() {
		c := shop.Category{StoreID: store}
		if err := rows.Scan(&c.ID, &c.Slug, &c.Name, timeCol(&c.CreatedAt)); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CategoryBySlug finds a category of store.
func (tx *Tx) CategoryBySlug(ctx context.Context, store shop.StoreID, slug string) (shop.Category, error) {
	c := shop.Category{StoreID: store}
	err := tx.queryRow(ctx, []any{&c.ID, &c.Slug, &c.Name, timeCol(&c.CreatedAt)},
		`SELECT id, slug, name, created_at FROM categories WHERE store_id = ? AND slug = ?`, store, slug)
	return c, notFound(err, "Category")
}

// CreateProduct adds a product to store. A taken SKU returns shop.ErrDuplicate; a category of
// another store is refused by the database's composite foreign key.
func (tx *Tx) CreateProduct(ctx context.Context, store shop.StoreID, p *shop.Product) error {
	if p.ID == "" {
		p.ID = shop.NewID()
	}
	if p.Status == "" {
		p.Status = shop.ProductActive
	}
	p.StoreID = store
	p.CreatedAt = tx.now
	p.UpdatedAt = p.CreatedAt
	tx.changesCatalog()
	if p.TaxClass == "" {
		p.TaxClass = shop.TaxStandard
	}
	_, err := tx.exec(ctx, `INSERT INTO products (id, store_id, sku, name, description, price_amount, stock,
		category_id, status, weight_grams, tax_class, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, store, p.SKU, p.Name, p.Description, p.PriceAmount, p.Stock, nullStr(p.CategoryID), p.Status,
		p.WeightGrams, p.TaxClass, ts(tx.now), ts(tx.now))
	return err
}

// UpdateProduct writes a product's editable fields (not its stock, which moves only through the
// ledger). A taken SKU returns shop.ErrDuplicate.
func (tx *Tx) UpdateProduct(ctx context.Context, store shop.StoreID, p *shop.Product) error {
	p.UpdatedAt = tx.now
	tx.changesCatalog()
	if p.TaxClass == "" {
		p.TaxClass = shop.TaxStandard
	}
	res, err := tx.exec(ctx, `UPDATE products SET sku = ?, name = ?, description = ?, price_amount = ?, category_id = ?,
		status = ?, weight_grams = ?, tax_class = ?, updated_at = ? WHERE store_id = ? AND id = ?`,
		p.SKU, p.Name, p.Description, p.PriceAmount, nullStr(p.CategoryID), p.Status, p.WeightGrams, p.TaxClass, ts(tx.now), store, p.ID)
	return mustAffect(res, err, "Product")
}

const productSelect = `SELECT p.id, p.sku, p.name, p.description, p.price_amount, p.stock,
	COALESCE(CAST(c.id AS TEXT), ''), COALESCE(c.slug, ''), p.status, p.weight_grams, p.tax_class, p.created_at, p.updated_at
	FROM products p LEFT JOIN categories c ON c.id = p.category_id AND c.store_id = p.store_id `

func scanProduct(store shop.StoreID, scan func(...any) error) (shop.Product, error) {
	p := shop.Product{StoreID: store}
	err := scan(&p.ID, &p.SKU, &p.Name, &p.Description, &p.PriceAmount, &p.Stock, &p.CategoryID, &p.CategorySlug,
		&p.Status, &p.WeightGrams, &p.TaxClass, timeCol(&p.CreatedAt), timeCol(&p.UpdatedAt))
	return p, err
}

// ProductByID finds a product of store, archived or not; another store's product is NotFound.
func (tx *Tx) ProductByID(ctx context.Context, store shop.StoreID, id string) (shop.Product, error) {
	if !shop.ValidID(id) {
		return shop.Product{}, shop.NotFound("Product")
	}
	row := tx.row(ctx, productSelect+`WHERE p.store_id = ? AND p.id = ?`, store, id)
	p, err := scanProduct(store, row.Scan)
	return p, notFound(err, "Product")
}

// productCursor is where a page ended: the sort key and id of its last product.
type productCursor struct {
	Sort  string `json:"s"`
	Key   string `json:"k"`
	Price int64  `json:"p"`
	ID    string `json:"i"`
}

func encodeCursor(c productCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, sort string) (productCursor, bool) {
	var c productCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Sort != sort || !shop.ValidID(c.ID) || len(c.Key) > 1000 {
		return productCursor{}, false
	}
	if sort == shop.SortNewest {
		if _, err := time.Parse(time.RFC3339Nano, c.Key); err != nil {
			return productCursor{}, false
		}
	}
	return c, true
}

// ListProducts lists the products of store that match f, a page at a time, with a keyset cursor
// on the sort key and id so that pages never skip or repeat a product.
func (tx *Tx) ListProducts(ctx context.Context, store shop.StoreID, f shop.ProductFilter) (shop.ProductPage, error) {
	if f.Sort == "" {
		f.Sort = shop.SortName
	}
	if f.Limit <= 0 {
		f.Limit = 20
	}
	var where strings.Builder
	args := []any{store}
	where.WriteString(`WHERE p.store_id = ?`)
	if !f.IncludeArchived {
		where.WriteString(` AND p.status = ?`)
		args = append(args, shop.ProductActive)
	}
	if f.CategoryID != "" {
		where.WriteString(` AND p.category_id = ?`)
		args = append(args, f.CategoryID)
	}
	if q := tx.db.searchTerms(f.Query); q != "" {
		where.WriteString(` AND ` + tx.db.searchClause())
		args = append(args, q)
	} else if strings.TrimSpace(f.Query) != "" {
		return shop.ProductPage{}, nil // nothing searchable in the query: no match
	}
	order := ``
	switch f.Sort {
	case shop.SortName:
		order = ` ORDER BY p.name, p.id`
	case shop.SortPrice:
		order = ` ORDER BY p.price_amount, p.id`
	case shop.SortNewest:
		order = ` ORDER BY p.created_at DESC, p.id DESC`
	default:
		return shop.ProductPage{}, shop.Invalid(shop.FieldError{Field: "sort", Message: "must be name, price or newest"})
	}
	if f.Cursor != "" {
		c, ok := decodeCursor(f.Cursor, f.Sort)
		if !ok {
			return shop.ProductPage{}, shop.Invalid(shop.FieldError{Field: "cursor", Message: "is not a cursor this listing gave out"})
		}
		switch f.Sort {
		case shop.SortName:
			where.WriteString(` AND (p.name > ? OR (p.name = ? AND p.id > ?))`)
			args = append(args, c.Key, c.Key, c.ID)
		case shop.SortPrice:
			where.WriteString(` AND (p.price_amount > ? OR (p.price_amount = ? AND p.id > ?))`)
			args = append(args, c.Price, c.Price, c.ID)
		case shop.SortNewest:
			where.WriteString(` AND (p.created_at < ? OR (p.created_at = ? AND p.id < ?))`)
			args = append(args, c.Key, c.Key, c.ID)
		}
	}
	args = append(args, f.Limit+1)
	rows, err := tx.query(ctx, productSelect+where.String()+order+` LIMIT ?`, args...)
	if err != nil {
		return shop.ProductPage{}, err
	}
	defer func() { _ = rows.Close() }()
	var page shop.ProductPage
	for rows.Next() {
		p, err := scanProduct(store, rows.Scan)
		if err != nil {
			return shop.ProductPage{}, err
		}
		page.Products = append(page.Products, p)
	}
	if len(page.Products) > f.Limit {
		page.Products = page.Products[:f.Limit]
		last := page.Products[f.Limit-1]
		c := productCursor{Sort: f.Sort, ID: last.ID, Key: last.Name, Price: last.PriceAmount}
		if f.Sort == shop.SortNewest {
			c.Key = ts(last.CreatedAt)
		}
		page.NextCursor = encodeCursor(c)
	}
	return page, rows.Err()
}

// searchClause is the one place the two databases' full-text search differs.
func (db *DB) searchClause() string {
	if db.dialect == Postgres {
		return `p.search @@ to_tsquery('english', ?)`
	}
	return `p.rowid IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?)`
}

// searchTerms turns what a visitor typed into a safe query: words only, never the database's
// query syntax. Every word must match, as a prefix, in both databases.
func (db *DB) searchTerms(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 8 {
		words = words[:8]
	}
	if len(words) == 0 {
		return ""
	}
	if db.dialect == Postgres {
		for i, w := range words {
			words[i] = w + ":*"
		}
		return strings.Join(words, " & ")
	}
	for i, w := range words {
		words[i] = `"` + w + `"*`
	}
	return strings.Join(words, " ")
}

// CountProducts counts the products of store, archived included.
func (tx *Tx) CountProducts(ctx context.Context, store shop.StoreID) (int, error) {
	var n int
	err := tx.queryRow(ctx, []any{&n}, `SELECT COUNT(*) FROM products WHERE store_id = ?`, store)
	return n, err
}

// ProductBySKU finds a product of store by its SKU.
func (tx *Tx) ProductBySKU(ctx context.Context, store shop.StoreID, sku string) (shop.Product, error) {
	row := tx.row(ctx, productSelect+`WHERE p.store_id = ? AND p.sku = ?`, store, sku)
	p, err := scanProduct(store, row.Scan)
	return p, notFound(err, "Product")
}
