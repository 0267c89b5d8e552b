package web

import (
	"io"
	"testing"
	"time"

	"secureshop/internal/shop"
)

func BenchmarkRenderCataloguePage(b *testing.B) {
	pages, err := parsePages()
	if err != nil {
		b.Fatal(err)
	}
	st := &shop.Store{Slug: "demo", Name: "Demo", Currency: "GBP"}
	d := pageData{Title: "Demo", Store: st}
	for i := range 24 {
		d.Products = append(d.Products, productView{ID: shop.NewID(), Name: "Product <" + string(rune('a'+i)) + ">",
			Price: shop.Money{Amount: int64(100 * i), Currency: "GBP"}, Stock: i, CreatedAt: time.Now().Format(time.RFC3339Nano)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := pages["store"].Execute(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}
