package reports_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"secureshop/internal/reports"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSalesReport_EqualsDirectSQL writes a generated month of orders and refunds, then checks every
// figure of the report against SQL written independently of the repository.
func TestSalesReport_EqualsDirectSQL(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		clock := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
		db := testenv.OpenDB(t, url, sqlstore.Options{Now: func() time.Time { return clock }})
		st := shop.Store{Slug: "books", Name: "Books", Currency: "GBP"}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(db.Update(ctx, "", func(tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &st) }))
		var customers []shop.UserID
		var products []sqlstore.Product
		must(db.Update(ctx, st.ID, func(tx *sqlstore.Tx) error {
			for i := range 6 {
				u := shop.User{Email: fmt.Sprintf("c%d@example.com", i), Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
				if err := tx.CreateUser(ctx, st.ID, &u); err != nil {
					return err
				}
				customers = append(customers, u.ID)
			}
			for i := range 4 {
				p := sqlstore.Product{SKU: fmt.Sprintf("P%d", i), Name: fmt.Sprintf("Product %d", i), PriceAmount: int64(199 + 250*i), Stock: 1000}
				if err := tx.CreateProduct(ctx, st.ID, &p); err != nil {
					return err
				}
				products = append(products, p)
			}
			return nil
		}))
		rng := rand.New(rand.NewPCG(7, 11))
		statuses := []string{"paid", "processing", "shipped", "delivered", "cancelled", "pending_payment"}
		for day := range 40 {
			clock = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, day).Add(time.Duration(rng.IntN(14)) * time.Hour)
			for range rng.IntN(4) {
				o := sqlstore.Order{CustomerID: customers[rng.IntN(len(customers))], Status: statuses[rng.IntN(len(statuses))], Currency: "GBP"}
				for _, p := range products[:1+rng.IntN(len(products))] {
					q := 1 + rng.IntN(3)
					o.Lines = append(o.Lines, sqlstore.OrderLine{ProductID: p.ID, SKU: p.SKU, Name: p.Name, UnitPrice: p.PriceAmount, Quantity: q, LineTotal: p.PriceAmount * int64(q)})
					o.TotalAmount += p.PriceAmount * int64(q)
				}
				must(db.Update(ctx, st.ID, func(tx *sqlstore.Tx) error { return tx.InsertOrder(ctx, st.ID, &o, shop.System()) }))
				if o.Status != "cancelled" && o.Status != "pending_payment" && rng.IntN(3) == 0 {
					clock = clock.Add(time.Duration(1+rng.IntN(72)) * time.Hour) // refunded a little later, maybe another day
					amount := 1 + rng.Int64N(o.TotalAmount)
					must(db.Update(ctx, st.ID, func(tx *sqlstore.Tx) error { return tx.AddRefund(ctx, st.ID, o.ID, amount, "test", false, "admin") }))
				}
			}
		}
		from, to := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		admin := shop.Principal{UserID: "a", StoreID: st.ID, Role: shop.RoleAdmin}
		rep, err := reports.New(db).SalesReport(ctx, admin, st, from, to, reports.Day)
		must(err)

		raw := testenv.RawDB(t, url)
		day := `substr(created_at, 1, 10)`
		if !strings.HasPrefix(url, "sqlite:") {
			day = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
		}
		q := func(query string) map[string]int64 {
			rows, err := raw.Query(strings.ReplaceAll(query, "DAY", day), string(st.ID), from.Format(time.RFC3339), to.Format(time.RFC3339))
			must(err)
			defer func() { _ = rows.Close() }()
			out := map[string]int64{}
			for rows.Next() {
				var d string
				var n int64
				must(rows.Scan(&d, &n))
				out[d] = n
			}
			return out
		}
		pg := !strings.HasPrefix(url, "sqlite:")
		ph := func(s string) string {
			if !pg {
				return s
			}
			return strings.NewReplacer("?1", "$1", "?2", "$2::timestamptz", "?3", "$3::timestamptz").Replace(s)
		}
		gross := q(ph(`SELECT DAY, SUM(total_amount) FROM orders WHERE store_id = ?1 AND created_at >= ?2 AND created_at < ?3
			AND status NOT IN ('pending_payment', 'cancelled') GROUP BY DAY`))
		count := q(ph(`SELECT DAY, COUNT(*) FROM orders WHERE store_id = ?1 AND created_at >= ?2 AND created_at < ?3
			AND status NOT IN ('pending_payment', 'cancelled') GROUP BY DAY`))
		refunds := q(ph(`SELECT DAY, SUM(amount) FROM refunds WHERE store_id = ?1 AND created_at >= ?2 AND created_at < ?3 GROUP BY DAY`))
		var sumGross, sumRefunds int64
		for _, b := range rep.Buckets {
			d := b.Start.Format("2006-01-02")
			if b.Gross != gross[d] || int64(b.Orders) != count[d] || b.Refunds != refunds[d] || b.Net != gross[d]-refunds[d] {
				t.Errorf("%s: report gross %d orders %d refunds %d net %d; SQL %d %d %d", d, b.Gross, b.Orders, b.Refunds, b.Net, gross[d], count[d], refunds[d])
			}
			sumGross += gross[d]
			sumRefunds += refunds[d]
		}
		if rep.Total.Gross != sumGross || rep.Total.Refunds != sumRefunds || rep.Total.Net != sumGross-sumRefunds || sumGross == 0 || sumRefunds == 0 {
			t.Fatalf("totals %+v, SQL gross %d refunds %d", rep.Total, sumGross, sumRefunds)
		}
		// Weekly and monthly buckets add up to the same totals.
		for _, iv := range []string{reports.Week, reports.Month} {
			r2, err := reports.New(db).SalesReport(ctx, admin, st, from, to, iv)
			must(err)
			if r2.Total.Gross != rep.Total.Gross || r2.Total.Refunds != rep.Total.Refunds {
				t.Errorf("%s totals %+v differ from daily %+v", iv, r2.Total, rep.Total)
			}
		}
		// Top products match a direct sum over the order lines.
		top := q(ph(`SELECT l.product_id, SUM(l.line_total) FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE o.store_id = ?1 AND o.created_at >= ?2 AND o.created_at < ?3 AND o.status NOT IN ('pending_payment', 'cancelled') GROUP BY l.product_id`))
		for _, p := range rep.TopProducts {
			if top[p.ProductID] != p.Revenue {
				t.Errorf("product %s revenue %d, SQL %d", p.SKU, p.Revenue, top[p.ProductID])
			}
		}
		if len(rep.TopProducts) != len(top) {
			t.Errorf("%d top products, SQL %d", len(rep.TopProducts), len(top))
		}
		// A clerk may not read reports.
		if _, err := reports.New(db).SalesReport(ctx, shop.Principal{UserID: "c", StoreID: st.ID, Role: shop.RoleClerk}, st, from, to, reports.Day); shop.KindOf(err) != shop.KindForbidden {
			t.Fatalf("clerk: %v", err)
		}
	})
}
