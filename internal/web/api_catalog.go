package web

import (
	"net/http"
	"strconv"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

type productView struct {
	ID          string     `json:"id"`
	SKU         string     `json:"sku"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Price       shop.Money `json:"price"`
	Stock       int        `json:"stock"`
	Category    string     `json:"category"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func viewProduct(p sqlstore.Product, currency string) productView {
	return productView{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description,
		Price: shop.Money{Amount: p.PriceAmount, Currency: currency}, Stock: p.Stock, Category: p.CategorySlug,
		Status: p.Status, CreatedAt: p.CreatedAt.T, UpdatedAt: p.UpdatedAt.T}
}

func (s *Server) apiProducts(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	st := infoOf(r).store
	page, err := s.catalog.Products(r.Context(), st.ID, cursor, limit)
	if err != nil {
		return err
	}
	items := make([]productView, len(page.Products))
	for i, p := range page.Products {
		items[i] = viewProduct(p, st.Currency)
	}
	return writeJSON(w, http.StatusOK, newList(items, page.NextCursor))
}

func (s *Server) apiProduct(w http.ResponseWriter, r *http.Request) error {
	st := infoOf(r).store
	p, err := s.catalog.Product(r.Context(), st.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewProduct(p, st.Currency))
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
