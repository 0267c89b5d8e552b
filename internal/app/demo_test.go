package app_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"secureshop/internal/app"
	"secureshop/internal/catalog"
	"secureshop/internal/testenv"
)

func demoSeeds() []catalog.Seed { return app.DemoCatalog(48)[:2] }

func TestSeedDemo_CreatesOnceAndCredentialsWork(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		var out bytes.Buffer
		creds, err := s.app.SeedDemo(context.Background(), &out, s.base)
		if err != nil {
			t.Fatal(err)
		}
		if len(creds) != 3 {
			t.Fatalf("%d demo accounts", len(creds))
		}
		for _, c := range creds {
			if !strings.Contains(out.String(), c.Password) {
				t.Fatalf("password of %s not printed", c.Email)
			}
			a := s.call("POST", "/api/v1/stores/demo/auth/login", "", map[string]string{"email": c.Email, "password": c.Password})
			expectStatus(t, "demo login "+c.Email, a, http.StatusOK)
		}
		out.Reset()
		again, err := s.app.SeedDemo(context.Background(), &out, s.base)
		if err != nil || again != nil {
			t.Fatalf("second seed: %v %v", again, err)
		}
		if strings.Contains(out.String(), creds[0].Password) {
			t.Fatal("credentials printed twice")
		}
		a := s.call("GET", "/api/v1/stores/demo/categories", "", nil)
		var cats struct{ Items []any }
		a.json(t, &cats)
		if len(cats.Items) < 3 {
			t.Fatalf("%d demo categories", len(cats.Items))
		}
		total, cursor := 0, ""
		for {
			a := s.call("GET", "/api/v1/stores/demo/products?limit=100&cursor="+cursor, "", nil)
			var page struct {
				Items      []any   `json:"items"`
				NextCursor *string `json:"next_cursor"`
			}
			a.json(t, &page)
			total += len(page.Items)
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		if total < 40 {
			t.Fatalf("%d demo products, want at least 40", total)
		}
	})
}

func TestDemoCatalog_Sizes(t *testing.T) {
	for _, n := range []int{0, 48, 1000} {
		total := 0
		skus := map[string]bool{}
		for _, sd := range app.DemoCatalog(n) {
			for _, p := range sd.Products {
				if skus[p.SKU] {
					t.Fatalf("SKU %s twice", p.SKU)
				}
				skus[p.SKU] = true
				total++
			}
		}
		if total < max(n, 48) {
			t.Fatalf("DemoCatalog(%d) has %d products", n, total)
		}
	}
}
