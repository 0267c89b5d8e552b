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

// The storefront page around its rendered content (heading, categories, grid — kept per listing):
// what every catalogue request renders.
func BenchmarkRenderCataloguePage(b *testing.B) {
	pages, d := catalogueData(b)
	var content bytes.Buffer
	if err := pages["store"].ExecuteTemplate(&content, "content", &d); err != nil {
		b.Fatal(err)
	}
	page := pageData{Title: d.Title, Store: d.Store, Content: template.HTML(content.String())} // #nosec G203 -- rendered by html/template just above
	var out bytes.Buffer
	if err := pages["store"].Execute(&out, &page); err != nil || !strings.Contains(out.String(), "Product &lt;x&gt;") ||
		!strings.Contains(out.String(), `href="/s/demo/?category=bakery"`) {
		b.Fatalf("the page lacks its content: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := pages["store"].Execute(io.Discard, &page); err != nil {
			b.Fatal(err)
		}
	}
}
