package main

import (
	"context"
	"database/sql"
	"strconv"
	"sync/atomic"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// bareCheckouts measures checkout's baselines with the same concurrency and no HTTP, no orders
// service: the shop's own storage code (sqlstore, opened on the shop's database as the shop opens
// it) running a write transaction that does what checkout's first does — the order with its line
// and its history, and the conditional stock update with its ledger row —, the baseline of the
// target; and, straight on the shop's write connection, a stock update and an order insert on two
// minimal tables made for it (an integer-keyed stock row, a four-column order table), the
// harness's earliest baseline, still reported.
func bareCheckouts(ld load, s *server, product string) (same, minimal Result) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, s.dbURL, sqlstore.Options{})
	if err != nil {
		fail(err)
	}
	defer func() { _ = db.Close() }()
	var st shop.Store
	var customer shop.User
	var p shop.Product
	err = db.View(ctx, "", func(tx *sqlstore.Tx) (err error) { st, err = tx.StoreBySlug(ctx, "demo"); return })
	if err == nil {
		err = db.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) {
			if customer, err = tx.UserByEmail(ctx, st.ID, customerEmail(0)); err == nil {
				p, err = tx.ProductByID(ctx, st.ID, product)
			}
			return err
		})
	}
	if err != nil {
		fail(err)
	}
	actor := shop.Principal{UserID: customer.ID, StoreID: st.ID, Role: shop.RoleCustomer}
	same = ld.measure("bare transaction (checkout baseline)", func(int) error {
		return db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			o := shop.Order{CustomerID: customer.ID, Status: shop.OrderPaid, Currency: st.Currency, Subtotal: p.PriceAmount, TotalAmount: p.PriceAmount,
				Lines: []shop.OrderLine{{ProductID: p.ID, SKU: p.SKU, Name: p.Name,
					UnitPrice: p.PriceAmount, Quantity: 1, LineTotal: p.PriceAmount}}}
			if err := tx.InsertOrder(ctx, st.ID, &o, actor); err != nil {
				return err
			}
			return tx.TakeStock(ctx, st.ID, p.ID, 1, string(customer.ID), o.ID)
		})
	})

	pools := db.Stats()
	conn := pools["shop_write"]
	if conn == nil {
		conn = pools["shop"]
	}
	for _, q := range []string{`CREATE TABLE IF NOT EXISTS bench_stock (id INTEGER PRIMARY KEY, stock INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS bench_orders (id TEXT PRIMARY KEY, product INTEGER NOT NULL, amount INTEGER NOT NULL, created_at TEXT NOT NULL)`,
		`INSERT INTO bench_stock (id, stock) VALUES (1, 100000000) ON CONFLICT (id) DO NOTHING`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			fail(err)
		}
	}
	take := `UPDATE bench_stock SET stock = stock - 1 WHERE id = 1 AND stock >= 1`
	record := `INSERT INTO bench_orders (id, product, amount, created_at) VALUES (?, 1, 999, ?)`
	if db.Dialect() == sqlstore.Postgres {
		record = `INSERT INTO bench_orders (id, product, amount, created_at) VALUES ($1, 1, 999, $2)`
	}
	var seq atomic.Int64
	minimal = ld.measure("bare transaction, minimal tables (earlier baseline)", func(int) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		res, err := tx.ExecContext(ctx, take)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return sql.ErrNoRows // out of stock
		}
		id := strconv.FormatInt(seq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := tx.ExecContext(ctx, record, id, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		return tx.Commit()
	})
	return same, minimal
}
