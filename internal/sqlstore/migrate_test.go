package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// TestCompactOrderTables: migration 6 rebuilds SQLite's cart, order and ledger tables as WITHOUT
// ROWID tables. Rows written before it are all there after it (and after going back down), the
// references between them still hold and are still enforced.
func TestCompactOrderTables(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "shop.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := sqlstore.MigrateToForTest(ctx, db, 5); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, db, "old")
	u := newUser(t, db, s.ID, "buyer@example.com", shop.RoleCustomer)
	actor := shop.Principal{UserID: u.ID, Role: shop.RoleCustomer}
	var p, q sqlstore.Product
	var o sqlstore.Order
	err = db.Update(ctx, s.ID, func(tx *sqlstore.Tx) error {
		p, q = sqlstore.Product{SKU: "P", Name: "Pen", PriceAmount: 300, Stock: 5}, sqlstore.Product{SKU: "Q", Name: "Quill", PriceAmount: 700, Stock: 2}
		for _, x := range []*sqlstore.Product{&p, &q} {
			if err := tx.CreateProduct(ctx, s.ID, x); err != nil {
				return err
			}
		}
		o = sqlstore.Order{CustomerID: u.ID, Status: "pending_payment", Currency: "GBP", TotalAmount: 1300,
			Lines: []sqlstore.OrderLine{{ProductID: p.ID, SKU: "P", Name: "Pen", UnitPrice: 300, Quantity: 2, LineTotal: 600},
				{ProductID: q.ID, SKU: "Q", Name: "Quill", UnitPrice: 700, Quantity: 1, LineTotal: 700}}}
		if err := tx.InsertOrder(ctx, s.ID, &o, actor, sqlstore.OrderMove{To: "paid", Note: "payment x"}); err != nil {
			return err
		}
		if err := tx.TakeStock(ctx, s.ID, p.ID, 2, string(u.ID), o.ID); err != nil {
			return err
		}
		if err := tx.AddRefund(ctx, s.ID, o.ID, 100, "scratched", false, string(u.ID)); err != nil {
			return err
		}
		return tx.SetCartItem(ctx, s.ID, u.ID, q.ID, 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	type snapshot struct {
		order  sqlstore.Order
		ledger []sqlstore.LedgerEntry
		cart   []sqlstore.CartLine
		refund int
	}
	read := func() (snap snapshot) {
		t.Helper()
		err := db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
			var err error
			if snap.order, err = tx.OrderByID(ctx, s.ID, o.ID); err != nil {
				return err
			}
			if snap.ledger, err = tx.Ledger(ctx, s.ID, p.ID, 10); err != nil {
				return err
			}
			if snap.cart, err = tx.CartLines(ctx, s.ID, u.ID); err != nil {
				return err
			}
			refunds, err := tx.Refunds(ctx, s.ID, o.CreatedAt.AddDate(0, 0, -1), o.CreatedAt.AddDate(0, 0, 1))
			snap.refund = len(refunds)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	before := read()
	if len(before.order.Lines) != 2 || len(before.order.History) != 2 || len(before.ledger) != 1 || len(before.cart) != 1 || before.refund != 1 {
		t.Fatalf("before the migration: %+v", before)
	}
	same := func(when string, got snapshot) {
		t.Helper()
		if got.order.ID != o.ID || got.order.RefundedAmount != before.order.RefundedAmount || got.order.Status != "paid" ||
			len(got.order.Lines) != 2 || got.order.Lines[1] != before.order.Lines[1] ||
			len(got.order.History) != 2 || got.order.History[1].Note != "payment x" ||
			len(got.ledger) != len(before.ledger) || got.ledger[0] != before.ledger[0] ||
			len(got.cart) != 1 || got.cart[0] != before.cart[0] || got.refund != 1 {
			t.Errorf("%s:\n got %+v\nwant %+v", when, got, before)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	same("after migration 6", read())
	// The tables have no rowid any more.
	err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
		_, err := sqlstore.CountForTest(ctx, tx, `SELECT rowid FROM order_history`)
		return err
	})
	if err == nil {
		t.Error("order_history still has a rowid")
	}
	// References are enforced again: a line of an order that does not exist and an order of a
	// customer who does not exist are refused; so is a change to an order line.
	for _, stmt := range []string{
		`INSERT INTO order_lines (id, store_id, order_id, product_id, sku, name, unit_price, quantity, line_total)
			VALUES ('0196a000-0000-7000-8000-000000000001', '` + string(s.ID) + `', '0196a000-0000-7000-8000-000000000002', '` + p.ID + `', 'P', 'Pen', 1, 1, 1)`,
		`INSERT INTO orders (id, store_id, customer_id, status, currency, total_amount, created_at, updated_at)
			VALUES ('0196a000-0000-7000-8000-000000000003', '` + string(s.ID) + `', '0196a000-0000-7000-8000-000000000004', 'paid', 'GBP', 1, '', '')`,
		`UPDATE order_lines SET unit_price = 1`,
	} {
		if err := db.Update(ctx, s.ID, func(tx *sqlstore.Tx) error { return sqlstore.ExecForTest(ctx, tx, stmt) }); err == nil {
			t.Errorf("allowed after the migration: %s", stmt)
		}
	}
	// A checkout's writes go on as before.
	err = db.Update(ctx, s.ID, func(tx *sqlstore.Tx) error {
		o2 := sqlstore.Order{CustomerID: u.ID, Status: "paid", Currency: "GBP", TotalAmount: 700,
			Lines: []sqlstore.OrderLine{{ProductID: q.ID, SKU: "Q", Name: "Quill", UnitPrice: 700, Quantity: 1, LineTotal: 700}}}
		if err := tx.InsertOrder(ctx, s.ID, &o2, actor); err != nil {
			return err
		}
		if err := tx.ClearCart(ctx, s.ID, u.ID); err != nil {
			return err
		}
		return tx.TakeStock(ctx, s.ID, q.ID, 1, string(u.ID), o2.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	// And back down: the rows written before the migration are still there.
	if err := sqlstore.MigrateToForTest(ctx, db, 5); err != nil {
		t.Fatal(err)
	}
	got := read()
	got.cart = before.cart // emptied by the checkout above
	same("after going back down", got)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}
