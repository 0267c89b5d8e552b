package catalog_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"secureshop/internal/catalog"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	db                     *sqlstore.DB
	svc                    *catalog.Service
	st                     shop.Store
	admin, clerk, customer shop.Principal
}

func setUp(t *testing.T, url string) fixture {
	t.Helper()
	db := testenv.OpenDB(t, url, sqlstore.Options{})
	f := fixture{db: db, svc: catalog.New(db), st: shop.Store{Slug: "tea", Name: "Tea", Currency: "GBP"}}
	err := db.Update(context.Background(), "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &f.st) })
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.CreateCategory(ctx, f.st.ID, &shop.Category{Slug: "green", Name: "Green"})
	})
	if err != nil {
		t.Fatal(err)
	}
	who := func(r shop.Role) shop.Principal {
		return shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: f.st.ID, Role: r}
	}
	f.admin, f.clerk, f.customer = who(shop.RoleAdmin), who(shop.RoleClerk), who(shop.RoleCustomer)
	return f
}

func ptr[T any](v T) *T { return &v }

func (f fixture) create(t *testing.T, sku string, price int64, stock int) shop.Product {
	t.Helper()
	p, err := f.svc.CreateProduct(context.Background(), f.clerk, f.st, catalog.ProductInput{SKU: ptr(sku), Name: ptr("Tea " + sku),
		Price: &shop.Money{Amount: price}, Stock: ptr(stock), Category: ptr("green")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Products are created, edited, listed and archived by staff only, with their input checked; the
// opening stock is the ledger's first entry, and an archived product leaves the public catalogue.
func TestProducts_StaffKeepTheCatalogue(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f, ctx := setUp(t, url), context.Background()
		p := f.create(t, "GR-1", 450, 12)
		if p.Status != shop.ProductActive || p.Stock != 12 || p.CategorySlug != "green" {
			t.Fatalf("created %+v", p)
		}
		for _, c := range []struct {
			name string
			in   catalog.ProductInput
			kind shop.Kind
		}{
			{"no name", catalog.ProductInput{SKU: ptr("X-1"), Price: &shop.Money{Amount: 1}}, shop.KindInvalid},
			{"a bad SKU", catalog.ProductInput{SKU: ptr("bad sku!"), Name: ptr("x"), Price: &shop.Money{Amount: 1}}, shop.KindInvalid},
			{"a negative price", catalog.ProductInput{SKU: ptr("X-2"), Name: ptr("x"), Price: &shop.Money{Amount: -1}}, shop.KindInvalid},
			{"another currency", catalog.ProductInput{SKU: ptr("X-3"), Name: ptr("x"), Price: &shop.Money{Amount: 1, Currency: "EUR"}}, shop.KindInvalid},
			{"an unknown category", catalog.ProductInput{SKU: ptr("X-4"), Name: ptr("x"), Price: &shop.Money{Amount: 1}, Category: ptr("black")}, shop.KindInvalid},
			{"a taken SKU", catalog.ProductInput{SKU: ptr("GR-1"), Name: ptr("x"), Price: &shop.Money{Amount: 1}}, shop.KindConflict},
		} {
			if _, err := f.svc.CreateProduct(ctx, f.clerk, f.st, c.in); shop.KindOf(err) != c.kind {
				t.Errorf("%s: %v, want %s", c.name, err, c.kind)
			}
		}
		if _, err := f.svc.CreateProduct(ctx, f.customer, f.st, catalog.ProductInput{SKU: ptr("C-1"), Name: ptr("x"), Price: &shop.Money{Amount: 1}}); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a customer creates a product: %v", err)
		}
		p, err := f.svc.UpdateProduct(ctx, f.clerk, f.st, p.ID, catalog.ProductInput{Name: ptr("Gunpowder"), Price: &shop.Money{Amount: 500}})
		if err != nil || p.Name != "Gunpowder" || p.PriceAmount != 500 || p.Stock != 12 {
			t.Fatalf("edited %+v, %v", p, err)
		}
		if _, err := f.svc.UpdateProduct(ctx, f.clerk, f.st, p.ID, catalog.ProductInput{Stock: ptr(99)}); err == nil {
			if got, _ := f.svc.Product(ctx, f.st.ID, p.ID); got.Stock != 12 {
				t.Errorf("an edit moved the stock to %d without the ledger", got.Stock)
			}
		}
		page, err := f.svc.Products(ctx, f.st.ID, catalog.Query{Category: "green"})
		if err != nil || len(page.Products) != 1 || page.Products[0].Name != "Gunpowder" {
			t.Fatalf("listing %+v, %v", page, err)
		}
		if err := f.svc.ArchiveProduct(ctx, f.clerk, f.st.ID, p.ID); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a clerk archives: %v", err)
		}
		if err := f.svc.ArchiveProduct(ctx, f.admin, f.st.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Product(ctx, f.st.ID, p.ID); shop.KindOf(err) != shop.KindNotFound {
			t.Errorf("an archived product is still for sale: %v", err)
		}
		if page, _ := f.svc.Products(ctx, f.st.ID, catalog.Query{}); len(page.Products) != 0 {
			t.Errorf("an archived product is still listed: %+v", page.Products)
		}
		got, ledger, err := f.svc.Ledger(ctx, f.clerk, f.st.ID, p.ID)
		if err != nil || got.Status != shop.ProductArchived || len(ledger) != 1 || ledger[0].Delta != 12 {
			t.Fatalf("staff's view %+v, ledger %+v, %v", got, ledger, err)
		}
	})
}

// Stock moves only through the ledger: never below zero, once per Idempotency-Key, audited, and
// the ledger adds up to the stock.
func TestAdjustStock_TheLedgerAddsUp(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f, ctx := setUp(t, url), context.Background()
		p := f.create(t, "GR-2", 300, 5)
		key := shop.Idempotency{Key: "k1", Hash: "h1"}
		for range 2 {
			got, _, err := f.svc.AdjustStock(ctx, f.clerk, f.st.ID, p.ID, 10, "delivery", key)
			if err != nil || got.Stock != 15 {
				t.Fatalf("delivery of 10 (with its retry): %+v, %v", got, err)
			}
		}
		if _, _, err := f.svc.AdjustStock(ctx, f.clerk, f.st.ID, p.ID, -16, "count", shop.Idempotency{}); shop.KindOf(err) != shop.KindConflict {
			t.Errorf("stock below zero: %v", err)
		}
		if _, _, err := f.svc.AdjustStock(ctx, f.clerk, f.st.ID, p.ID, -3, "", shop.Idempotency{}); shop.KindOf(err) != shop.KindInvalid {
			t.Errorf("no reason: %v", err)
		}
		if _, _, err := f.svc.AdjustStock(ctx, f.customer, f.st.ID, p.ID, 1, "gift", shop.Idempotency{}); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a customer adjusts stock: %v", err)
		}
		if _, _, err := f.svc.AdjustStock(ctx, f.clerk, f.st.ID, p.ID, -2, "breakage", shop.Idempotency{}); err != nil {
			t.Fatal(err)
		}
		got, ledger, err := f.svc.Ledger(ctx, f.clerk, f.st.ID, p.ID)
		sum := 0
		for _, e := range ledger {
			sum += e.Delta
		}
		if err != nil || got.Stock != 13 || sum != 13 || len(ledger) != 3 || ledger[0].Reason != "breakage" || ledger[0].StockAfter != 13 {
			t.Fatalf("stock %d, ledger %+v (sum %d), %v", got.Stock, ledger, sum, err)
		}
	})
}

// The CSV export reads back through the import unchanged; an import reports every row it cannot
// use, a dry run changes nothing, and existing SKUs are updated without touching their stock.
func TestCSV_ExportImportRoundTrip(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f, ctx := setUp(t, url), context.Background()
		f.create(t, "GR-3", 1250, 4)
		var out bytes.Buffer
		if err := f.svc.ExportCSV(ctx, f.clerk, f.st, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "GR-3") || !strings.Contains(out.String(), "12.50") {
			t.Fatalf("export:\n%s", out.String())
		}
		rep, err := f.svc.ImportCSV(ctx, f.clerk, f.st, out.Bytes(), false)
		if err != nil || rep.Rows != 1 || rep.Updated != 1 || rep.Created != 0 || len(rep.Rejected) != 0 {
			t.Fatalf("re-import of the export: %+v, %v", rep, err)
		}
		file := []byte("sku,name,price,stock\nGR-4,Sencha,3.20,7\nbad sku!,Nothing,1.00,1\nGR-3,Gyokuro,14.00,999\n")
		rep, err = f.svc.ImportCSV(ctx, f.clerk, f.st, file, true)
		if err != nil || !rep.DryRun || rep.Created != 1 || rep.Updated != 1 || len(rep.Rejected) != 1 || rep.Rejected[0].Row != 3 {
			t.Fatalf("dry run: %+v, %v", rep, err)
		}
		if page, _ := f.svc.ReadProducts(ctx, f.st.ID, catalog.Query{}); len(page.Products) != 1 {
			t.Fatalf("a dry run changed the catalogue: %+v", page.Products)
		}
		if _, err = f.svc.ImportCSV(ctx, f.clerk, f.st, file, false); err != nil {
			t.Fatal(err)
		}
		page, _ := f.svc.ReadProducts(ctx, f.st.ID, catalog.Query{Sort: shop.SortName})
		if len(page.Products) != 2 || page.Products[0].Name != "Gyokuro" || page.Products[0].Stock != 4 || page.Products[0].PriceAmount != 1400 ||
			page.Products[1].Name != "Sencha" || page.Products[1].Stock != 7 {
			t.Fatalf("after the import: %+v", page.Products)
		}
		if _, err := f.svc.ImportCSV(ctx, f.customer, f.st, file, false); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a customer imports: %v", err)
		}
		// Weight and tax class travel with the file; a class that is none is refused at its row.
		file = []byte("sku,name,price,weight_grams,tax_class\nGR-4,Sencha,3.20,250,zero\nGR-5,Matcha,9.00,80,luxury\n")
		rep, err = f.svc.ImportCSV(ctx, f.clerk, f.st, file, false)
		if err != nil || rep.Updated != 1 || len(rep.Rejected) != 1 || rep.Rejected[0].Errors[0].Field != "tax_class" {
			t.Fatalf("weights and classes: %+v, %v", rep, err)
		}
		out.Reset()
		if err := f.svc.ExportCSV(ctx, f.clerk, f.st, &out); err != nil || !strings.Contains(out.String(), "GR-4,Sencha,,3.20,7,,active,250,zero") {
			t.Fatalf("the export after: %s %v", out.String(), err)
		}
	})
}
