package web

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/catalog"
	"secureshop/internal/shop"
)

type productView struct {
	ID          string             `json:"id"`
	SKU         string             `json:"sku"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Price       shop.Money         `json:"price"`
	Stock       int                `json:"stock"`
	Category    string             `json:"category"`
	Status      shop.ProductStatus `json:"status"`
	WeightGrams int                `json:"weight_grams"`
	TaxClass    shop.TaxClass      `json:"tax_class"`
	CreatedAt   string             `json:"created_at"` // RFC 3339, as time.Time encodes, without its slower Marshaler path
	UpdatedAt   string             `json:"updated_at"`
}

func viewProduct(p shop.Product, currency string) productView {
	return productView{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description,
		Price: shop.Money{Amount: p.PriceAmount, Currency: currency}, Stock: p.Stock, Category: p.CategorySlug,
		Status: p.Status, WeightGrams: p.WeightGrams, TaxClass: p.TaxClass, CreatedAt: p.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: p.UpdatedAt.Format(time.RFC3339Nano)}
}

func viewProducts(ps []shop.Product, currency string) []productView {
	out := make([]productView, len(ps))
	for i, p := range ps {
		out[i] = viewProduct(p, currency)
	}
	return out
}

// catalogQuery reads ?q=&category=&sort=&limit=&cursor=.
func catalogQuery(r *http.Request) (catalog.Query, error) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return catalog.Query{}, err
	}
	q := r.URL.Query()
	return catalog.Query{Text: q.Get("q"), Category: q.Get("category"), Sort: q.Get("sort"), Cursor: cursor, Limit: limit}, nil
}

func (s *Server) apiProducts(w http.ResponseWriter, r *http.Request) error {
	q, err := catalogQuery(r)
	if err != nil {
		return err
	}
	st := infoOf(r).store
	// Listings are the same for every caller: each is encoded once and kept while the catalogue
	// is unchanged, as the storefront's content is (see pageStore).
	key, gen, now := q.Key(st.ID)+"\x00"+st.Currency, s.catalog.Generation(st.ID), time.Now()
	body, ok := s.listings.Get(key, gen, now)
	if !ok {
		page, err := s.catalog.ReadProducts(r.Context(), st.ID, q)
		if err != nil {
			return err
		}
		if body, err = json.Marshal(newList(viewProducts(page.Products, st.Currency), page.NextCursor)); err != nil {
			return err
		}
		body = append(body, '\n')
		s.listings.Put(key, gen, now, body)
	}
	return writeEncoded(w, http.StatusOK, body)
}

func (s *Server) apiProduct(w http.ResponseWriter, r *http.Request) error {
	st := infoOf(r).store
	p, err := s.catalog.Product(r.Context(), st.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewProduct(p, st.Currency))
}

// productBody is a product as a client sends it; nil fields are absent.
type productBody struct {
	SKU         *string        `json:"sku"`
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Price       *shop.Money    `json:"price"`
	Stock       *int           `json:"stock"`
	Category    *string        `json:"category"`
	WeightGrams *int           `json:"weight_grams"`
	TaxClass    *shop.TaxClass `json:"tax_class"`
}

func (b productBody) input() catalog.ProductInput {
	return catalog.ProductInput{SKU: b.SKU, Name: b.Name, Description: b.Description, Price: b.Price, Stock: b.Stock, Category: b.Category,
		WeightGrams: b.WeightGrams, TaxClass: b.TaxClass}
}

func (s *Server) apiCreateProduct(w http.ResponseWriter, r *http.Request) error {
	var in productBody
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	p, err := s.catalog.CreateProduct(r.Context(), info.principal, *info.store, in.input())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/stores/"+info.store.Slug+"/products/"+p.ID)
	return writeJSON(w, http.StatusCreated, viewProduct(p, info.store.Currency))
}

func (s *Server) apiUpdateProduct(w http.ResponseWriter, r *http.Request) error {
	var in productBody
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	p, err := s.catalog.UpdateProduct(r.Context(), info.principal, *info.store, r.PathValue("id"), in.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewProduct(p, info.store.Currency))
}

func (s *Server) apiArchiveProduct(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.catalog.ArchiveProduct(r.Context(), info.principal, info.store.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiAdjustStock(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Delta  *int   `json:"delta"`
		Reason string `json:"reason"`
	}
	raw, err := decodeRaw(r, &in)
	if err != nil {
		return err
	}
	if in.Delta == nil {
		return shop.Invalid(shop.FieldError{Field: "delta", Message: "is required"})
	}
	info := infoOf(r)
	p, replayed, err := s.catalog.AdjustStock(r.Context(), info.principal, info.store.ID, r.PathValue("id"), *in.Delta, in.Reason, s.idempotency(r, raw))
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	return writeJSON(w, http.StatusCreated, viewProduct(p, info.store.Currency))
}

func (s *Server) apiLedger(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	_, entries, err := s.catalog.Ledger(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	items := make([]ledgerView, len(entries))
	for i, e := range entries {
		items[i] = ledgerView{e.ID, e.ProductID, e.Delta, e.StockAfter, e.Reason, e.ActorID, e.OrderID, e.CreatedAt}
	}
	return writeJSON(w, http.StatusOK, newList(items, ""))
}

// ledgerView is a row of a product's inventory ledger.
type ledgerView struct {
	ID         string    `json:"id"`
	ProductID  string    `json:"product_id"`
	Delta      int       `json:"delta"`
	StockAfter int       `json:"stock_after"`
	Reason     string    `json:"reason"`
	ActorID    string    `json:"actor_id"`
	OrderID    string    `json:"order_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *Server) apiCategories(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.catalog.Categories(r.Context(), infoOf(r).store.ID)
	if err != nil {
		return err
	}
	type view struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
		Name string `json:"name"`
	}
	items := make([]view, len(cs))
	for i, c := range cs {
		items[i] = view{c.ID, c.Slug, c.Name}
	}
	return writeJSON(w, http.StatusOK, newList(items, ""))
}

func (s *Server) apiAuditEvents(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	var before int64
	if cursor != "" {
		if before, err = strconv.ParseInt(cursor, 10, 64); err != nil || before < 1 {
			return shop.Invalid(shop.FieldError{Field: "cursor", Message: "is not a cursor this API gave out"})
		}
	}
	info := infoOf(r)
	page, err := s.audit.List(r.Context(), info.principal, info.store.ID, before, limit)
	if err != nil {
		return err
	}
	next := ""
	if page.NextCursor > 0 {
		next = strconv.FormatInt(page.NextCursor, 10)
	}
	events := page.Events
	if events == nil {
		events = []audit.Event{}
	}
	return writeJSON(w, http.StatusOK, newList(events, next))
}

func (s *Server) apiExportCatalog(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	return s.catalog.ExportCSV(r.Context(), info.principal, *info.store, w)
}

// apiImportCatalog takes a text/csv body; ?dry_run=true only reports.
func (s *Server) apiImportCatalog(w http.ResponseWriter, r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		return errMediaType
	}
	file, err := io.ReadAll(r.Body) // all of it, before the import's transaction opens
	if err != nil {
		return err
	}
	info := infoOf(r)
	rep, err := s.catalog.ImportCSV(r.Context(), info.principal, *info.store, file, r.URL.Query().Get("dry_run") == "true")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
