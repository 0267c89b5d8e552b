package orders_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"secureshop/internal/kv"
	"secureshop/internal/orders"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

// BenchmarkCheckout: 64 customers check out one unit each at once, b.N times over; the carts are
// filled untimed, as the harness does. Each checkout reserves and opens a testpay session.
func BenchmarkCheckout(b *testing.B) {
	ctx := context.Background()
	db := testenv.OpenDB(b, testenv.SQLiteURL(b), sqlstore.Options{})
	st := shop.Store{Slug: "tea", Name: "Tea", Currency: "GBP"}
	if err := db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &st) }); err != nil {
		b.Fatal(err)
	}
	p := shop.Product{SKU: "EG-1", Name: "Earl Grey", PriceAmount: 450}
	const clients = 64
	users := make([]shop.Principal, clients)
	err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateProduct(ctx, st.ID, &p); err != nil {
			return err
		}
		if _, err := tx.MoveStock(ctx, st.ID, p.ID, 100_000_000, "opening stock", "", ""); err != nil {
			return err
		}
		for i := range users {
			u := shop.User{Email: fmt.Sprintf("c%d@example.com", i), Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
			if err := tx.CreateUser(ctx, st.ID, &u); err != nil {
				return err
			}
			if err := tx.MarkEmailVerified(ctx, st.ID, u.ID); err != nil {
				return err
			}
			users[i] = shop.Principal{UserID: u.ID, StoreID: st.ID, Role: shop.RoleCustomer}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	_, provider := testenv.Testpay(b, "http://127.0.0.1:9/")
	svc := orders.New(orders.Deps{DB: db, Provider: provider, Visitors: kv.NewMemoryCarts(0),
		BaseURL: "https://shop.example", Log: quiet})
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		for _, u := range users {
			if err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				return tx.SetCartItem(ctx, st.ID, u.UserID, p.ID, 1, p.PriceAmount)
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := svc.Checkout(ctx, u, st, orders.CheckoutRequest{Idempotency: key(shop.NewID())}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*clients)/b.Elapsed().Seconds(), "checkouts/s")
}
