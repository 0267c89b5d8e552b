package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
	"secureshop/internal/testenv"
)

// TestMoney_MinorUnitsPerCurrency: a yen store prices 1,267 yen as ¥1,267 — not ¥12.67 — in its
// pages, its CSV and its mail, and takes prices typed as yen; an unknown currency is refused with a
// clear error; money has one shape, {amount, currency}, in every answer, the sales report's included.
func TestMoney_MinorUnitsPerCurrency(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	_, err := s.app.Stores.Create(context.Background(), shop.System(), tenancy.NewStore{Slug: "xyz", Name: "XYZ", Currency: "XYZ"})
	if e := shop.AsError(err); e == nil || e.Kind != shop.KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "currency" {
		t.Fatalf("a store in XYZ: %v", err)
	}
	s.storeIn("yen", "JPY")
	admin := s.login("yen", "admin@example.com").AccessToken
	a := s.call("POST", "/api/v1/stores/yen/products", admin, map[string]any{"sku": "TEA", "name": "Matcha", "price": map[string]any{"amount": 1267, "currency": "JPY"}, "stock": 5})
	expectStatus(t, "create a yen product", a, http.StatusCreated)
	var p productJSON
	a.json(t, &p)
	_, page := (&browser{t: t, s: s, cookies: map[string]*http.Cookie{}}).do("GET", "/s/yen/products/"+p.ID, nil)
	if !strings.Contains(page, "¥1,267") || strings.Contains(page, "12.67") {
		t.Fatalf("the product page does not say ¥1,267:\n%s", page)
	}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/stores/yen/products/export", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req) // #nosec G107 -- the test's own shop
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(csv), "TEA,Matcha,,1267,5") {
		t.Fatalf("CSV export:\n%s", csv)
	}
	// The back office's form takes yen as yen: "1500" is 1,500 yen, and "12.5" is no yen amount.
	staff := s.browserLogin("/s/yen/login", "admin@example.com")
	_, form := staff.do("GET", "/s/yen/admin/products/"+p.ID, nil)
	resp2, _ := staff.do("POST", "/s/yen/admin/products/"+p.ID, url.Values{"csrf": {csrfOf(t, form)}, "price": {"1500"}})
	if resp2.StatusCode != http.StatusSeeOther {
		t.Fatalf("price typed in yen: %d", resp2.StatusCode)
	}
	resp2, bad := staff.do("POST", "/s/yen/admin/products/"+p.ID, url.Values{"csrf": {csrfOf(t, form)}, "price": {"12.5"}})
	if resp2.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad, "1250") {
		t.Fatalf("a price with decimals in yen: %d\n%s", resp2.StatusCode, bad)
	}
	s.call("GET", "/api/v1/stores/yen/products/"+p.ID, "", nil).json(t, &p)
	if p.Price.Amount != 1500 || p.Price.Currency != "JPY" {
		t.Fatalf("price after the form: %+v", p.Price)
	}
	// A paid order: its mail says the yen right, and the sales report's money is {amount, currency}.
	tok := s.login("yen", "customer@example.com").AccessToken
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/yen/cart/items/"+p.ID, tok, `{"quantity":2}`), http.StatusOK)
	co := s.call("POST", "/api/v1/stores/yen/checkout", tok, checkoutBody, "Idempotency-Key", "yen-1")
	expectStatus(t, "checkout", co, http.StatusCreated)
	s.pay("yen", tok, co, "4242424242424242")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if body, ok := s.findMail("customer@example.com", "order confirmation"); ok {
			if !strings.Contains(body, "¥3,000") {
				t.Fatalf("confirmation mail:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no confirmation mail")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep := s.call("GET", "/api/v1/stores/yen/reports/sales", admin, nil)
	expectStatus(t, "report", rep, http.StatusOK)
	if !strings.Contains(string(rep.body), `"gross":{"amount":3000,"currency":"JPY"}`) ||
		!strings.Contains(string(rep.body), `"revenue":{"amount":3000,"currency":"JPY"}`) ||
		!strings.Contains(string(rep.body), `"spent":{"amount":3000,"currency":"JPY"}`) {
		t.Fatalf("report money: %s", rep.body)
	}
}
