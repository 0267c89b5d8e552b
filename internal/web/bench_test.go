package web

import (
	"bytes"
	"html/template"
	"io"
	"strings"
	"testing"
	"time"

	"secureshop/internal/shop"
)

func catalogueData(b *testing.B) (map[string]*template.Template, pageData) {
	pages, err := parsePages()
	if err != nil {
		b.Fatal(err)
	}
	st := &shop.Store{Slug: "demo", Name: "Demo", Currency: "GBP"}
	d := pageData{Title: "Demo", Store: st, Categories: []categoryView{{"tea", "Tea"}, {"bakery", "Bakery"}}}
	for i := range 24 {
		d.Products = append(d.Products, productView{ID: shop.NewID(), Name: "Product <" + string(rune('a'+i)) + ">",
			Price: shop.Money{Amount: int64(100 * i), Currency: "GBP"}, Stock: i, CreatedAt: time.Now().Format(time.RFC3339Nano)})
	}
	return pages, d
}

// The product grid of 24 products: rendered once per listing (then cached, see pageStore).
func BenchmarkRenderCatalogueGrid(b *testing.B) {
	pages, d := catalogueData(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := pages["store"].ExecuteTemplate(io.Discard, "grid", &d); err != nil {
			b.Fatal(err)
		}
	}
}

// The storefront page around a rendered grid: what every catalogue request renders.
func BenchmarkRenderCataloguePage(b *testing.B) {
	pages, d := catalogueData(b)
	var grid bytes.Buffer
	if err := pages["store"].ExecuteTemplate(&grid, "grid", &d); err != nil {
		b.Fatal(err)
	}
	d.Grid = template.HTML(grid.String()) // #nosec G203 -- rendered by html/template just above
	var page bytes.Buffer
	if err := pages["store"].Execute(&page, &d); err != nil || !strings.Contains(page.String(), "Product &lt;x&gt;") {
		b.Fatalf("the page lacks its grid: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := pages["store"].Execute(io.Discard, &d); err != nil {
			b.Fatal(err)
		}
	}
}
