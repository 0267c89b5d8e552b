package sqlstore_test

import (
	"context"
	"testing"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

// TestMigrations_KeepTheRowsWrittenBefore: rows written at version 5 — a paid order with two lines,
// its history, a refund, a stock change and a cart line — are all there after migrations 6 (SQLite's
// WITHOUT ROWID tables) and 7 (the payments ledger), with the order's payment and refund now rows
// of the ledger, and again after going back down. References are still enforced.
func TestMigrations_KeepTheRowsWrittenBefore(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := sqlstore.Open(ctx, url, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := sqlstore.MigrateToForTest(ctx, db, 5); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, db, "old")
		u := newUser(t, db, s.ID, "buyer@example.com", shop.RoleCustomer)
		const at = "2026-11-01T10:00:00.000000Z"
		p, q, o := shop.NewID(), shop.NewID(), shop.NewID()
		raw := []string{
			`INSERT INTO products (id, store_id, sku, name, price_amount, stock, created_at, updated_at) VALUES ('` + p + `', '` + string(s.ID) + `', 'P', 'Pen', 300, 3, '` + at + `', '` + at + `')`,
			`INSERT INTO products (id, store_id, sku, name, price_amount, stock, created_at, updated_at) VALUES ('` + q + `', '` + string(s.ID) + `', 'Q', 'Quill', 700, 2, '` + at + `', '` + at + `')`,
			`INSERT INTO orders (id, store_id, customer_id, status, currency, total_amount, refunded_amount, card_brand, card_last4, payment_ref, created_at, updated_at)
				VALUES ('` + o + `', '` + string(s.ID) + `', '` + string(u.ID) + `', 'partially_refunded', 'GBP', 1300, 100, 'visa', '4242', 'ref-x', '` + at + `', '` + at + `')`,
			`INSERT INTO order_lines (id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total) VALUES
				('` + shop.NewID() + `', '` + string(s.ID) + `', '` + o + `', '` + p + `', 'P', 'Pen', 300, 2, 600),
				('` + shop.NewID() + `', '` + string(s.ID) + `', '` + o + `', '` + q + `', 'Q', 'Quill', 700, 1, 700)`,
			`INSERT INTO order_history (id, store_id, order_id, from_status, to_status, actor_id, actor_role, note, created_at) VALUES
				('` + shop.NewID() + `', '` + string(s.ID) + `', '` + o + `', '', 'pending_payment', 'u', 'customer', '', '` + at + `'),
				('` + shop.NewID() + `', '` + string(s.ID) + `', '` + o + `', 'pending_payment', 'paid', 'u', 'customer', 'payment ref-x', '` + at + `')`,
			`INSERT INTO inventory_ledger (id, store_id, product_id, delta, stock_after, reason, actor_id, order_id, created_at)
				VALUES ('` + shop.NewID() + `', '` + string(s.ID) + `', '` + p + `', -2, 3, 'sold', 'u', '` + o + `', '` + at + `')`,
			`INSERT INTO refunds (id, store_id, order_id, amount, reason, restocked, actor_id, created_at)
				VALUES ('` + shop.NewID() + `', '` + string(s.ID) + `', '` + o + `', 100, 'scratched', false, 'admin', '` + at + `')`,
			`INSERT INTO cart_items (store_id, user_id, product_id, quantity, updated_at) VALUES ('` + string(s.ID) + `', '` + string(u.ID) + `', '` + q + `', 2, '` + at + `')`,
		}
		for _, stmt := range raw {
			if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return sqlstore.ExecForTest(ctx, tx, stmt) }); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var got shop.Order
		var ledger []shop.LedgerEntry
		var cart []shop.CartLine
		err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
			var err error
			if got, err = tx.OrderByID(ctx, s.ID, o); err != nil {
				return err
			}
			if ledger, err = tx.Ledger(ctx, s.ID, p, 10); err != nil {
				return err
			}
			cart, err = tx.CartLines(ctx, s.ID, u.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		charge, ok := got.Charge()
		if got.PaidAmount != 1300 || got.RefundedAmount != 100 || !ok || charge.ProviderRef != "ref-x" || len(got.Payments) != 2 ||
			got.Payments[1].Reason != "scratched" || len(got.Lines) != 2 || len(got.History) != 2 || got.History[1].Note != "payment ref-x" ||
			len(ledger) != 1 || ledger[0].Delta != -2 || len(cart) != 1 || cart[0].Quantity != 2 || cart[0].PriceChanged() {
			t.Fatalf("after the migrations: %+v ledger %+v cart %+v", got, ledger, cart)
		}
		// References are enforced: a line of an order that does not exist, an order of a customer
		// who does not exist, a payment of no order; order lines cannot change.
		for _, stmt := range []string{
			`INSERT INTO order_lines (id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total)
				VALUES ('0196a000-0000-7000-8000-000000000001', '` + string(s.ID) + `', '0196a000-0000-7000-8000-000000000002', '` + p + `', 'P', 'Pen', 1, 1, 1)`,
			`INSERT INTO orders (id, store_id, customer_id, status, currency, total_amount, created_at, updated_at)
				VALUES ('0196a000-0000-7000-8000-000000000003', '` + string(s.ID) + `', '0196a000-0000-7000-8000-000000000004', 'paid', 'GBP', 1, '` + at + `', '` + at + `')`,
			`INSERT INTO payments (id, store_id, order_id, kind, state, amount, currency, provider, actor_id, created_at)
				VALUES ('0196a000-0000-7000-8000-000000000005', '` + string(s.ID) + `', '0196a000-0000-7000-8000-000000000006', 'charge', 'pending', 1, 'GBP', 'x', 'u', '` + at + `')`,
			`UPDATE order_lines SET unit_price = 1`,
		} {
			if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return sqlstore.ExecForTest(ctx, tx, stmt) }); err == nil {
				t.Errorf("allowed after the migration: %s", stmt)
			}
		}
		// And back down: the refund and the payment reference are the order's columns again.
		if err := sqlstore.MigrateToForTest(ctx, db, 5); err != nil {
			t.Fatal(err)
		}
		var refunded, refunds int64
		var ref string
		err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
			if err := sqlstore.ScanForTest(ctx, tx, `SELECT refunded_amount, payment_ref FROM orders WHERE id = '`+o+`'`, &refunded, &ref); err != nil {
				return err
			}
			return sqlstore.ScanForTest(ctx, tx, `SELECT COUNT(*) FROM refunds`, &refunds)
		})
		if err != nil || refunded != 100 || ref != "ref-x" || refunds != 1 {
			t.Fatalf("after going back down: refunded %d ref %q refunds %d (%v)", refunded, ref, refunds, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
