package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

type productJSON struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Stock int        `json:"stock"`
	Price shop.Money `json:"price"`
}

// newProduct creates a product through the API as the store's admin.
func (s *testShop) newProduct(store, sku string, price int64, stock int) productJSON {
	s.t.Helper()
	admin := s.login(store, "admin@example.com")
	a := s.call("POST", "/api/v1/stores/"+store+"/products", admin.AccessToken, map[string]any{
		"sku": sku, "name": "Product " + sku, "description": "A fine " + sku, "price": map[string]any{"amount": price, "currency": "GBP"}, "stock": stock})
	expectStatus(s.t, "create product", a, http.StatusCreated)
	var p productJSON
	a.json(s.t, &p)
	return p
}

func (s *testShop) stockAndLedger(store, productID string) (int, int) {
	s.t.Helper()
	ctx := context.Background()
	st, _ := s.app.Stores.BySlug(ctx, store)
	var stock, sum int
	err := s.app.DB.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		p, err := tx.ProductByID(ctx, st.ID, productID)
		if err != nil {
			return err
		}
		stock = p.Stock
		sum, err = tx.LedgerSum(ctx, st.ID, productID)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return stock, sum
}

func TestCatalog_AdminAndClerkManageProducts(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("cat")
		p := s.newProduct("cat", "SKU-1", 500, 2)
		admin := s.login("cat", "admin@example.com").AccessToken
		clerk := s.login("cat", "clerk@example.com").AccessToken
		cust := s.login("cat", "customer@example.com").AccessToken
		dup := s.call("POST", "/api/v1/stores/cat/products", clerk, `{"sku":"SKU-1","name":"Again","price":{"amount":1,"currency":"GBP"}}`)
		expectStatus(t, "duplicate SKU", dup, http.StatusConflict)
		expectStatus(t, "customer creates a product", s.call("POST", "/api/v1/stores/cat/products", cust, `{"sku":"C-1","name":"x","price":{"amount":1}}`), 403)
		expectStatus(t, "wrong currency", s.call("POST", "/api/v1/stores/cat/products", clerk, `{"sku":"E-1","name":"x","price":{"amount":1,"currency":"EUR"}}`), 422)
		expectStatus(t, "stock by PATCH", s.call("PATCH", "/api/v1/stores/cat/products/"+p.ID, clerk, `{"stock":100}`), 422)
		a := s.call("PATCH", "/api/v1/stores/cat/products/"+p.ID, clerk, `{"name":"Renamed","price":{"amount":650,"currency":"GBP"}}`)
		expectStatus(t, "clerk edits", a, 200)
		expectStatus(t, "adjust without reason", s.call("POST", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":5,"reason":""}`), 422)
		expectStatus(t, "below zero", s.call("POST", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":-3,"reason":"count"}`), 409)
		a = s.call("POST", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":8,"reason":"delivery"}`)
		expectStatus(t, "delivery", a, 201)
		var got productJSON
		a.json(t, &got)
		if got.Stock != 10 || got.Price.Amount != 650 {
			t.Fatalf("product after edits %s", a.body)
		}
		a = s.call("GET", "/api/v1/stores/cat/products/"+p.ID+"/stock-adjustments", clerk, nil)
		if !strings.Contains(string(a.body), `"reason":"delivery"`) || !strings.Contains(string(a.body), `"stock_after":10`) {
			t.Fatalf("ledger %s", a.body)
		}
		expectStatus(t, "clerk archives", s.call("DELETE", "/api/v1/stores/cat/products/"+p.ID, clerk, nil), 403)
		expectStatus(t, "admin archives", s.call("DELETE", "/api/v1/stores/cat/products/"+p.ID, admin, nil), 204)
		expectStatus(t, "archived product is gone from the shop", s.call("GET", "/api/v1/stores/cat/products/"+p.ID, "", nil), 404)
		a = s.call("GET", "/api/v1/stores/cat/audit-events", admin, nil)
		for _, action := range []string{"product.create", "product.update", "inventory.adjust", "product.archive"} {
			if !strings.Contains(string(a.body), `"action":"`+action+`"`) {
				t.Errorf("audit log lacks %s", action)
			}
		}
	})
}

// Listings, the storefront's product grid and products are cached; every change made through the
// shop must show in the very next read: a rename, a price, a stock adjustment, a sale, an archive.
func TestCatalog_CachedListingsShowEveryChangeAtOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("fresh")
		p := s.newProduct("fresh", "FRESH-1", 500, 3)
		clerk := s.login("fresh", "clerk@example.com").AccessToken
		admin := s.login("fresh", "admin@example.com").AccessToken
		list := func() productJSON {
			t.Helper()
			var page struct{ Items []productJSON }
			s.call("GET", "/api/v1/stores/fresh/products?limit=24", "", nil).json(t, &page)
			for _, it := range page.Items {
				if it.ID == p.ID {
					return it
				}
			}
			return productJSON{}
		}
		storefront := func() string {
			t.Helper()
			a := s.call("GET", "/s/fresh/", "", nil)
			expectStatus(t, "storefront", a, http.StatusOK)
			return string(a.body)
		}
		// The product itself, through the API and its page; both must agree with the listing.
		one := func(want productJSON) {
			t.Helper()
			a := s.call("GET", "/api/v1/stores/fresh/products/"+p.ID, "", nil)
			page := s.call("GET", "/s/fresh/products/"+p.ID, "", nil)
			if want.ID == "" {
				expectStatus(t, "archived product", a, http.StatusNotFound)
				expectStatus(t, "archived product's page", page, http.StatusNotFound)
				return
			}
			var got productJSON
			a.json(t, &got)
			stock := fmt.Sprintf("%d in stock", want.Stock)
			if want.Stock == 0 {
				stock = "Out of stock"
			}
			if got.Name != want.Name || got.Price.Amount != want.Price.Amount || got.Stock != want.Stock ||
				!strings.Contains(string(page.body), want.Name) || !strings.Contains(string(page.body), stock) {
				t.Fatalf("the product reads %+v, its page %.300s; the listing %+v", got, page.body, want)
			}
		}
		// Each store's cached listing and grid are its own.
		s.store("other")
		foreign := s.newProduct("other", "OTHER-1", 999, 9)
		for range 2 { // the second round is served from the caches
			expectStatus(t, "another store's product", s.call("GET", "/api/v1/stores/other/products/"+foreign.ID, "", nil), http.StatusOK)
			expectStatus(t, "another store's product asked of this one", s.call("GET", "/api/v1/stores/fresh/products/"+foreign.ID, "", nil), http.StatusNotFound)
			expectStatus(t, "another store's product page", s.call("GET", "/s/fresh/products/"+foreign.ID, "", nil), http.StatusNotFound)
			for store, want := range map[string]string{"fresh": "Product FRESH-1", "other": "Product OTHER-1"} {
				page := string(s.call("GET", "/s/"+store+"/", "", nil).body)
				list := string(s.call("GET", "/api/v1/stores/"+store+"/products", "", nil).body)
				for _, got := range []string{page, list} {
					if !strings.Contains(got, want) || strings.Contains(got, "FRESH-1") != (store == "fresh") ||
						strings.Contains(got, "OTHER-1") != (store == "other") {
						t.Fatalf("store %s shows another store's products:\n%.400s", store, got)
					}
				}
			}
		}
		// Warm both caches, then change the product and read again at once.
		if got := list(); got.Stock != 3 || !strings.Contains(storefront(), "3 in stock") {
			t.Fatalf("before: %+v", got)
		}
		one(list())
		expectStatus(t, "rename", s.call("PATCH", "/api/v1/stores/fresh/products/"+p.ID, clerk, `{"name":"Fresh Figs","price":{"amount":725,"currency":"GBP"}}`), 200)
		if got := list(); got.Name != "Fresh Figs" || got.Price.Amount != 725 {
			t.Fatalf("listing after the rename: %+v", got)
		}
		if page := storefront(); !strings.Contains(page, "Fresh Figs") || !strings.Contains(page, "£7.25") {
			t.Fatal("storefront after the rename still shows the old product")
		}
		one(list())
		expectStatus(t, "delivery", s.call("POST", "/api/v1/stores/fresh/products/"+p.ID+"/stock-adjustments", clerk, `{"delta":4,"reason":"delivery"}`), 201)
		if got := list(); got.Stock != 7 || !strings.Contains(storefront(), "7 in stock") {
			t.Fatalf("after the delivery: %+v", got)
		}
		one(list())
		buyer := s.customer("fresh", "figs@example.com").AccessToken
		expectStatus(t, "add to cart", s.call("PUT", "/api/v1/stores/fresh/cart/items/"+p.ID, buyer, `{"quantity":7}`), http.StatusOK)
		expectStatus(t, "checkout", s.call("POST", "/api/v1/stores/fresh/checkout", buyer, checkoutBody, "Idempotency-Key", testenv.RandomName("k")), http.StatusCreated)
		if got := list(); got.Stock != 0 || !strings.Contains(storefront(), "Out of stock") {
			t.Fatalf("after the sale: %+v", got)
		}
		one(list())
		expectStatus(t, "archive", s.call("DELETE", "/api/v1/stores/fresh/products/"+p.ID, admin, nil), 204)
		if got := list(); got.ID != "" || strings.Contains(storefront(), "Fresh Figs") {
			t.Fatalf("the archived product is still listed: %+v", got)
		}
		one(productJSON{})
	})
}

// A cursor carries the last product's name; names of the full 200 characters, in any script, must
// page as well as short ones, by every sort.
func TestCatalog_PagesThroughLongNames(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("long")
		clerk := s.login("long", "clerk@example.com").AccessToken
		for i, r := range []string{"é", "ж", "漢", "a"} {
			name := strings.Repeat(r, 199) + fmt.Sprint(i)
			expectStatus(t, "create", s.call("POST", "/api/v1/stores/long/products", clerk, map[string]any{
				"sku": fmt.Sprintf("L-%d", i), "name": name, "price": map[string]any{"amount": 100 + i, "currency": "GBP"}, "stock": 1}), http.StatusCreated)
		}
		for _, bad := range []string{strings.Repeat("A", 2049), "bm90IGEgY3Vyc29y", strings.Repeat("é", 100)} {
			a := s.call("GET", "/api/v1/stores/long/products?cursor="+bad, "", nil)
			expectStatus(t, "a cursor the API never gave out", a, http.StatusUnprocessableEntity)
		}
		for _, sort := range []string{"name", "price", "newest"} {
			seen := map[string]bool{}
			cursor := ""
			for page := 0; page < 10; page++ {
				a := s.call("GET", "/api/v1/stores/long/products?limit=1&sort="+sort+"&cursor="+cursor, "", nil)
				expectStatus(t, "page "+sort, a, http.StatusOK)
				var l struct {
					Items      []productJSON
					NextCursor *string `json:"next_cursor"`
				}
				a.json(t, &l)
				for _, p := range l.Items {
					seen[p.ID] = true
				}
				if l.NextCursor == nil {
					break
				}
				cursor = *l.NextCursor
			}
			if len(seen) != 4 {
				t.Fatalf("sort %s: paged through %d of 4 products", sort, len(seen))
			}
		}
	})
}
