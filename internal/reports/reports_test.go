package reports_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"secureshop/internal/kv"
	"secureshop/internal/orders"
	"secureshop/internal/payment/testpay"
	"secureshop/internal/reports"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSalesReport_EqualsDirectSQL runs six weeks of a shop through the orders service — paid
// orders, checkouts never paid (their reservations expire), declined cards, cancellations of paid orders, partial refunds with and without restock,
// refunds retried with their key — then checks every figure of the report against SQL written
// independently of the repository, over the payments ledger, and every product's stock against
// its inventory ledger.
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
		must(db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &st) }))
		var customers []shop.Principal
		var products []shop.Product
		must(db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			for i := range 6 {
				u := shop.User{Email: fmt.Sprintf("c%d@example.com", i), Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
				if err := tx.CreateUser(ctx, st.ID, &u); err != nil {
					return err
				}
				if err := tx.MarkEmailVerified(ctx, st.ID, u.ID); err != nil {
					return err
				}
				customers = append(customers, shop.Principal{UserID: u.ID, StoreID: st.ID, Role: shop.RoleCustomer})
			}
			for i := range 4 {
				p := shop.Product{SKU: fmt.Sprintf("P%d", i), Name: fmt.Sprintf("Product %d", i), PriceAmount: int64(199 + 250*i)}
				if err := tx.CreateProduct(ctx, st.ID, &p); err != nil {
					return err
				}
				if _, err := tx.MoveStock(ctx, st.ID, p.ID, 1000, "opening stock", "admin", ""); err != nil {
					return err
				}
				products = append(products, p)
			}
			return nil
		}))
		// testpay's webhooks are not needed here: the return page's question to the provider
		// (Refresh) marks an order paid, and refunds are confirmed in the provider's answer.
		ack := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(ack.Close)
		_, provider := testenv.Testpay(t, ack.URL)
		svc := orders.New(orders.Deps{DB: db, Provider: provider, Visitors: kv.NewMemoryCarts(0), BaseURL: "https://shop.example",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		admin := shop.Principal{UserID: "0196a000-0000-7000-8000-0000000000aa", StoreID: st.ID, Role: shop.RoleAdmin}
		rng := rand.New(rand.NewPCG(7, 11))
		key := 0
		idem := func() shop.Idempotency {
			key++
			return shop.Idempotency{Key: fmt.Sprintf("k%d", key), Hash: fmt.Sprint(key)}
		}
		var cancelled, refunded, retried, restocked, declined int
		for day := range 40 {
			clock = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC).AddDate(0, 0, day).Add(time.Duration(rng.IntN(14)) * time.Hour)
			for range rng.IntN(4) {
				c := customers[rng.IntN(len(customers))]
				must(db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
					for _, p := range products[:1+rng.IntN(len(products))] {
						if err := tx.SetCartItem(ctx, st.ID, c.UserID, p.ID, 1+rng.IntN(3), p.PriceAmount); err != nil {
							return err
						}
					}
					return nil
				}))
				o, _, err := svc.Checkout(ctx, c, st, orders.CheckoutRequest{Idempotency: idem()})
				must(err)
				charge, _ := o.Charge()
				if rng.IntN(8) == 0 { // declined, and never paid: the reservation expires
					if status := testenv.PayOnPage(t, charge.RedirectURL, testpay.DeclinedCard); status != http.StatusPaymentRequired {
						t.Fatalf("declined card: %d", status)
					}
					declined++
					_, err := svc.ExpireReservations(ctx) // the deadline (the database's clock) is long past the service's
					must(err)
					continue
				}
				if status := testenv.PayOnPage(t, charge.RedirectURL, "4242424242424242"); status != http.StatusSeeOther {
					t.Fatalf("paying: %d", status)
				}
				if o, err = svc.Refresh(ctx, c, st.ID, o.ID); err != nil || o.Status != shop.OrderPaid {
					t.Fatalf("after paying: %s %v", o.Status, err)
				}
				clock = clock.Add(time.Duration(1+rng.IntN(72)) * time.Hour) // what follows comes a little later, maybe another day
				switch rng.IntN(5) {
				case 0: // cancelled by the customer: everything comes back, money and goods
					_, _, err := svc.Cancel(ctx, c, st.ID, o.ID, shop.Idempotency{})
					must(err)
					cancelled++
				case 1, 2: // a partial refund, sometimes with some of a line back on the shelf, sometimes retried
					req := orders.RefundRequest{Amount: &shop.Money{Amount: 1 + rng.Int64N(o.TotalAmount), Currency: "GBP"}, Reason: "test", Idempotency: idem()}
					if rng.IntN(2) == 0 {
						l := o.Lines[rng.IntN(len(o.Lines))]
						req.Restock = []orders.Return{{LineID: l.ID, Quantity: 1 + rng.IntN(l.Quantity)}}
						restocked++
					}
					_, _, err := svc.Refund(ctx, admin, st.ID, o.ID, req)
					must(err)
					refunded++
					if rng.IntN(2) == 0 {
						_, replayed, err := svc.Refund(ctx, admin, st.ID, o.ID, req)
						if err != nil || !replayed {
							t.Fatalf("retried refund: replayed %v, %v", replayed, err)
						}
						retried++
					}
				}
			}
		}
		if cancelled == 0 || refunded == 0 || retried == 0 || restocked == 0 || declined == 0 {
			t.Fatalf("the generated month lacks a case: %d cancelled, %d refunded, %d retried, %d restocked, %d declined",
				cancelled, refunded, retried, restocked, declined)
		}
		from, to := time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		rep, err := reports.New(db).SalesReport(ctx, admin, st, from, to, reports.Day)
		must(err)

		raw := testenv.RawDB(t, url)
		pg := !strings.HasPrefix(url, "sqlite:")
		day := `substr(settled_at, 1, 10)`
		if pg {
			day = `to_char(settled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
		}
		ph := func(s string) string {
			if !pg {
				return s
			}
			return strings.NewReplacer("?1", "$1", "?2", "$2::timestamptz", "?3", "$3::timestamptz").Replace(s)
		}
		q := func(query string) map[string]int64 {
			rows, err := raw.Query(ph(strings.ReplaceAll(query, "DAY", day)), string(st.ID), from.Format(time.RFC3339), to.Format(time.RFC3339))
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
		gross := q(`SELECT DAY, SUM(amount) FROM payments WHERE store_id = ?1 AND settled_at >= ?2 AND settled_at < ?3
			AND kind = 'charge' AND state = 'succeeded' GROUP BY DAY`)
		count := q(`SELECT DAY, COUNT(*) FROM payments WHERE store_id = ?1 AND settled_at >= ?2 AND settled_at < ?3
			AND kind = 'charge' AND state = 'succeeded' GROUP BY DAY`)
		refunds := q(`SELECT DAY, SUM(amount) FROM payments WHERE store_id = ?1 AND settled_at >= ?2 AND settled_at < ?3
			AND kind = 'refund' AND state = 'succeeded' GROUP BY DAY`)
		var sumGross, sumRefunds int64
		for _, b := range rep.Buckets {
			d := b.Start.Format("2006-01-02")
			if b.Gross.Amount != gross[d] || int64(b.Orders) != count[d] || b.Refunds.Amount != refunds[d] || b.Net.Amount != gross[d]-refunds[d] {
				t.Errorf("%s: report gross %v orders %d refunds %v net %v; SQL %d %d %d", d, b.Gross, b.Orders, b.Refunds, b.Net, gross[d], count[d], refunds[d])
			}
			if b.Gross.Currency != "GBP" {
				t.Errorf("%s: money without its currency: %+v", d, b.Gross)
			}
			sumGross += gross[d]
			sumRefunds += refunds[d]
		}
		if rep.Total.Gross.Amount != sumGross || rep.Total.Refunds.Amount != sumRefunds || rep.Total.Net.Amount != sumGross-sumRefunds || sumGross == 0 || sumRefunds == 0 {
			t.Fatalf("totals %+v, SQL gross %d refunds %d", rep.Total, sumGross, sumRefunds)
		}
		// Every refund of the period is a row of the ledger, and none is left pending or failed.
		if n := q(`SELECT 'x', COUNT(*) FROM payments WHERE store_id = ?1 AND created_at >= ?2 AND created_at < ?3 AND state = 'pending'`)["x"]; n != 0 {
			t.Errorf("%d payments left pending", n)
		}
		// A cancelled paid order is refunded in full: for each, refunds equal the charge.
		off := q(`SELECT o.id, COALESCE((SELECT SUM(amount) FROM payments p WHERE p.store_id = o.store_id AND p.order_id = o.id AND p.kind = 'charge' AND p.state = 'succeeded'), 0)
			- COALESCE((SELECT SUM(amount) FROM payments p WHERE p.store_id = o.store_id AND p.order_id = o.id AND p.kind = 'refund' AND p.state = 'succeeded'), 0)
			FROM orders o WHERE o.store_id = ?1 AND o.status = 'cancelled' AND o.created_at >= ?2 AND o.created_at < ?3`)
		for id, left := range off {
			if left != 0 {
				t.Errorf("cancelled order %s keeps %d of its payment", id, left)
			}
		}
		// Weekly and monthly buckets add up to the same totals.
		for _, iv := range []string{reports.Week, reports.Month} {
			r2, err := reports.New(db).SalesReport(ctx, admin, st, from, to, iv)
			must(err)
			if r2.Total.Gross != rep.Total.Gross || r2.Total.Refunds != rep.Total.Refunds {
				t.Errorf("%s totals %+v differ from daily %+v", iv, r2.Total, rep.Total)
			}
		}
		// Top products match a direct sum over the lines of the orders paid in the period and kept, less
		// what came back.
		paidIn := `FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN payments p ON p.order_id = o.id AND p.kind = 'charge' AND p.state = 'succeeded'
			WHERE o.store_id = ?1 AND p.settled_at >= ?2 AND p.settled_at < ?3 AND o.status <> 'cancelled' GROUP BY l.product_id`
		top := q(`SELECT l.product_id, SUM(l.line_total) ` + paidIn)
		sold := q(`SELECT l.product_id, SUM(l.quantity) - COALESCE(SUM((SELECT SUM(r.quantity) FROM order_returns r WHERE r.line_id = l.id)), 0) ` + paidIn)
		for _, p := range rep.TopProducts {
			if top[p.ProductID] != p.Revenue.Amount || sold[p.ProductID] != p.Quantity {
				t.Errorf("product %s revenue %v quantity %d, SQL %d %d", p.SKU, p.Revenue, p.Quantity, top[p.ProductID], sold[p.ProductID])
			}
		}
		if len(rep.TopProducts) != len(top) {
			t.Errorf("%d top products, SQL %d", len(rep.TopProducts), len(top))
		}
		// The inventory ledger adds up to every product's stock, returns and declined cards included.
		for _, p := range products {
			var stock, sum int
			must(db.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) {
				got, err := tx.ProductByID(ctx, st.ID, p.ID)
				stock = got.Stock
				if err == nil {
					sum, err = tx.LedgerSum(ctx, st.ID, p.ID)
				}
				return err
			}))
			if stock != sum || stock == 1000 {
				t.Errorf("%s: stock %d, ledger sum %d", p.SKU, stock, sum)
			}
		}
		// A clerk may not read reports.
		if _, err := reports.New(db).SalesReport(ctx, shop.Principal{UserID: "c", StoreID: st.ID, Role: shop.RoleClerk}, st, from, to, reports.Day); shop.KindOf(err) != shop.KindForbidden {
			t.Fatalf("clerk: %v", err)
		}
	})
}
