package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

// countProducts counts store's products with the given SKU, in a transaction of its own.
func countProducts(t *testing.T, db *sqlstore.DB, store shop.StoreID, sku string) int {
	t.Helper()
	var n int
	err := db.View(context.Background(), store, func(tx *sqlstore.Tx) (err error) {
		n, err = sqlstore.CountForTest(context.Background(), tx, `SELECT COUNT(*) FROM products WHERE sku = '`+sku+`'`)
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func addProduct(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID, sku string) error {
	p := shop.Product{SKU: sku, Name: sku, PriceAmount: 1, Stock: 1}
	return tx.CreateProduct(ctx, store, &p)
}

// A transaction that panics, or whose request is cancelled half-way, keeps nothing and leaves no
// transaction open on the connection it used: with a pool of one connection, the next
// transactions still commit, and are seen by others. A read-only transaction cannot write.
func TestTransactions_PanicCancelAndReadOnlyLeaveNothingBehind(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.OpenDB(t, url, sqlstore.Options{MaxOpenConns: 1})
		s := newStore(t, db, "tx")

		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic did not reach the caller")
				}
			}()
			_ = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				if err := addProduct(ctx, tx, s.ID, "PANIC"); err != nil {
					t.Error(err)
				}
				panic("boom")
			})
		}()

		cctx, cancel := context.WithCancel(ctx)
		err := db.Update(cctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := addProduct(cctx, tx, s.ID, "CANCELLED"); err != nil {
				return err
			}
			cancel()
			return addProduct(cctx, tx, s.ID, "CANCELLED-2")
		})
		if err == nil && url[:6] != "sqlite" {
			t.Fatal("a transaction whose context was cancelled half-way committed")
		}
		if err == nil && countProducts(t, db, s.ID, "CANCELLED-2") != 1 {
			// SQLite's group commit runs a started transaction to its end (batch_test.go); it
			// must then have kept all of it.
			t.Fatal("SQLite reported a cancelled transaction done but did not keep it")
		}

		err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error { return addProduct(ctx, tx, s.ID, "READONLY") })
		if err == nil {
			t.Fatal("a read-only transaction wrote a product")
		}

		if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return addProduct(ctx, tx, s.ID, "AFTER") }); err != nil {
			t.Fatalf("the transaction after them: %v", err)
		}
		other := testenv.OpenDB(t, url, sqlstore.Options{})
		for sku, want := range map[string]int{"PANIC": 0, "READONLY": 0, "AFTER": 1} {
			if n := countProducts(t, other, s.ID, sku); n != want {
				t.Errorf("products %s seen from another connection: %d, want %d", sku, n, want)
			}
		}
	})
}

// On PostgreSQL a failed statement aborts the whole transaction: a caller that ignores the
// error and returns nil is told that nothing was committed, and nothing is.
func TestUpdate_PostgresFailedStatementIgnoredCommitsNothing(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, testenv.PostgresURL(t))
	s := newStore(t, db, "abort")
	err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := addProduct(ctx, tx, s.ID, "KEPT?"); err != nil {
			return err
		}
		if err := addProduct(ctx, tx, s.ID, "KEPT?"); !errors.Is(err, shop.ErrDuplicate) {
			t.Errorf("second product with the same SKU: %v, want a duplicate", err)
		}
		return nil // the caller ignores the failure
	})
	if err == nil {
		t.Fatal("Update reported an aborted transaction committed")
	}
	if n := countProducts(t, db, s.ID, "KEPT?"); n != 0 {
		t.Fatalf("%d products kept from an aborted transaction", n)
	}

	// A transaction whose context ends before COMMIT is rolled back at once: it holds no row
	// locks afterwards, although its connection has gone back to the pool.
	cctx, cancel := context.WithCancel(ctx)
	err = db.Update(cctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := sqlstore.ExecForTest(cctx, tx, `UPDATE stores SET name = 'held' WHERE id = ?`, s.ID); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Fatal("a transaction whose context ended before COMMIT reported it committed")
	}
	other := testenv.OpenDB(t, testenv.PostgresURL(t), sqlstore.Options{})
	err = other.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := sqlstore.ExecForTest(ctx, tx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		return sqlstore.ExecForTest(ctx, tx, `UPDATE stores SET name = 'free' WHERE id = ?`, s.ID)
	})
	if err != nil {
		t.Fatalf("the store's row is still locked by the cancelled transaction: %v", err)
	}
}

// Writes that PostgreSQL holds back to the commit (emptying a cart, writing an order, taking
// stock) behave as if run at once, on both databases: a read after them sees them; a sale of
// more than is left fails the whole transaction with ErrInsufficientStock and keeps nothing
// written before it, also when the caller went on reading after it.
func TestHeldWrites_SeenByLaterReadsAndFailTheirTransaction(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.OpenDB(t, url, sqlstore.Options{})
		s := newStore(t, db, "held")
		u := newUser(t, db, s.ID, "ann@example.com", shop.RoleCustomer)
		p := shop.Product{SKU: "EG", Name: "Earl Grey", PriceAmount: 450, Stock: 2} // no opening ledger entry
		err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.CreateProduct(ctx, s.ID, &p); err != nil {
				return err
			}
			return tx.SetCartItem(ctx, s.ID, u.ID, p.ID, 2, 100)
		})
		if err != nil {
			t.Fatal(err)
		}
		read := func(tx *sqlstore.Tx) (cart, stock, ledger int, err error) {
			lines, err := tx.CartLines(ctx, s.ID, u.ID)
			if err != nil {
				return 0, 0, 0, err
			}
			got, err := tx.ProductByID(ctx, s.ID, p.ID)
			if err != nil {
				return 0, 0, 0, err
			}
			ledger, err = tx.LedgerSum(ctx, s.ID, p.ID)
			return len(lines), got.Stock, ledger, err
		}
		state := func() (cart, stock, ledger int) {
			t.Helper()
			err := db.View(ctx, s.ID, func(tx *sqlstore.Tx) (err error) { cart, stock, ledger, err = read(tx); return })
			if err != nil {
				t.Fatal(err)
			}
			return
		}

		// Too much: the emptied cart comes back, the stock and the ledger are untouched.
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.ClearCart(ctx, s.ID, u.ID); err != nil {
				return err
			}
			return tx.TakeStock(ctx, s.ID, p.ID, 3, string(u.ID), "")
		})
		if !errors.Is(err, sqlstore.ErrInsufficientStock) {
			t.Fatalf("selling 3 of 2: %v, want ErrInsufficientStock", err)
		}
		if cart, stock, ledger := state(); cart != 1 || stock != 2 || ledger != 0 {
			t.Fatalf("after a refused sale: cart lines %d, stock %d, ledger sum %d; want 1, 2, 0", cart, stock, ledger)
		}

		// A refused sale between other writes: those after it are not run, those before are undone.
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.ClearCart(ctx, s.ID, u.ID); err != nil {
				return err
			}
			if err := tx.TakeStock(ctx, s.ID, p.ID, 3, string(u.ID), ""); err != nil {
				return err
			}
			return tx.SetCartItem(ctx, s.ID, u.ID, p.ID, 1, 100)
		})
		if !errors.Is(err, sqlstore.ErrInsufficientStock) {
			t.Fatalf("selling 3 of 2 between writes: %v, want ErrInsufficientStock", err)
		}
		err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
			lines, err := tx.CartLines(ctx, s.ID, u.ID)
			if err == nil && (len(lines) != 1 || lines[0].Quantity != 2) {
				t.Errorf("after a refused sale between writes the cart is %+v, want the line of 2 as it was", lines)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// The same, with a read after the sale: the caller sees an error, and Update reports why.
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.TakeStock(ctx, s.ID, p.ID, 3, string(u.ID), ""); err != nil {
				return err
			}
			_, err := tx.ProductByID(ctx, s.ID, p.ID)
			if err == nil {
				t.Error("a read after a failed sale succeeded")
			}
			return err // "the transaction is aborted", on PostgreSQL
		})
		if !errors.Is(err, sqlstore.ErrInsufficientStock) {
			t.Fatalf("selling 3 of 2, then reading: %v, want ErrInsufficientStock", err)
		}

		// Enough: reads inside the transaction see the emptied cart and the lower stock.
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.ClearCart(ctx, s.ID, u.ID); err != nil {
				return err
			}
			if err := tx.TakeStock(ctx, s.ID, p.ID, 2, string(u.ID), ""); err != nil {
				return err
			}
			cart, stock, _, err := read(tx)
			if err != nil {
				return err
			}
			if cart != 0 || stock != 0 {
				t.Errorf("inside the transaction: cart lines %d, stock %d; want 0, 0", cart, stock)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if cart, stock, ledger := state(); cart != 0 || stock != 0 || ledger != -2 {
			t.Fatalf("after the sale: cart lines %d, stock %d, ledger sum %d; want 0, 0, -2", cart, stock, ledger)
		}

		// A transaction that fails after a held write keeps none of it.
		boom := errors.New("boom")
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.SetCartItem(ctx, s.ID, u.ID, p.ID, 1, 100); err != nil {
				return err
			}
			if err := tx.ClearCart(ctx, s.ID, u.ID); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("failed transaction: %v", err)
		}
		if cart, _, _ := state(); cart != 0 {
			t.Fatalf("a failed transaction left %d cart lines", cart)
		}
	})
}

// The cart reads that save a round trip return what their separate reads would: the cart in
// product order, the product about to go in (never another store's), and whether the customer
// may check out (never another store's customer).
func TestCartReads_OneStatementEach(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.OpenDB(t, url, sqlstore.Options{})
		s, other := newStore(t, db, "reads"), newStore(t, db, "elsewhere")
		u := newUser(t, db, s.ID, "ann@example.com", shop.RoleCustomer)
		stranger := newUser(t, db, other.ID, "bob@example.com", shop.RoleCustomer)
		var ps []shop.Product
		var foreign shop.Product
		err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			for i, sku := range []string{"A", "B", "C"} {
				p := shop.Product{SKU: sku, Name: sku, PriceAmount: int64(100 * (i + 1)), Stock: 10 + i}
				if err := tx.CreateProduct(ctx, s.ID, &p); err != nil {
					return err
				}
				ps = append(ps, p)
			}
			return nil
		})
		if err == nil {
			err = db.Update(ctx, other.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				foreign = shop.Product{SKU: "X", Name: "X", PriceAmount: 1, Stock: 1}
				return tx.CreateProduct(ctx, other.ID, &foreign)
			})
		}
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			start, err := tx.CheckoutCart(ctx, s.ID, u.ID, shop.Idempotency{Key: "k1", Hash: "h1"})
			if err != nil || start.Verified || len(start.Lines) != 0 || start.Replay != "" {
				t.Errorf("new customer: %+v, %v; want not verified, no lines, no replay", start, err)
			}
			if err := tx.SetCartItem(ctx, s.ID, u.ID, ps[2].ID, 3, 100); err != nil {
				return err
			}
			if err := tx.SetCartItem(ctx, s.ID, u.ID, ps[0].ID, 1, 100); err != nil {
				return err
			}
			want, err := tx.CartLines(ctx, s.ID, u.ID)
			if err != nil || len(want) != 2 || want[0].ProductID != ps[0].ID || want[1].Quantity != 3 || want[1].Stock != 12 {
				t.Fatalf("cart lines %+v, %v", want, err)
			}
			have, p, err := tx.CartAndProduct(ctx, s.ID, u.ID, ps[1].ID)
			if err != nil || fmt.Sprint(have) != fmt.Sprint(want) || p.ProductID != ps[1].ID || p.Quantity != 0 || p.PriceAmount != 200 || p.Stock != 11 || p.Status != "active" {
				t.Errorf("cart and product B: %+v, %+v, %v", have, p, err)
			}
			have, p, err = tx.CartAndProduct(ctx, s.ID, u.ID, ps[2].ID) // one already in the cart
			if err != nil || fmt.Sprint(have) != fmt.Sprint(want) || p.ProductID != ps[2].ID || p.Quantity != 0 {
				t.Errorf("cart and product C: %+v, %+v, %v", have, p, err)
			}
			for name, id := range map[string]string{"another store's": foreign.ID, "an unknown": shop.NewID(), "a malformed": "x'--"} {
				if _, _, err := tx.CartAndProduct(ctx, s.ID, u.ID, id); shop.KindOf(err) != shop.KindNotFound {
					t.Errorf("cart and %s product: %v, want not found", name, err)
				}
			}
			if err := tx.MarkEmailVerified(ctx, s.ID, u.ID); err != nil {
				return err
			}
			start, err = tx.CheckoutCart(ctx, s.ID, u.ID, shop.Idempotency{})
			if err != nil || !start.Verified || fmt.Sprint(start.Lines) != fmt.Sprint(want) || start.Replay != "" {
				t.Errorf("verified customer: %+v, %v; want verified, %+v", start, err, want)
			}
			// The key's lookup rides along: a retry gets the first result, another request with the
			// key is refused, and the key of another customer is not theirs.
			if err := tx.SaveKey(ctx, s.ID, u.ID, shop.Idempotency{Key: "k1", Hash: "h1"}, ps[0].ID); err != nil {
				return err
			}
			start, err = tx.CheckoutCart(ctx, s.ID, u.ID, shop.Idempotency{Key: "k1", Hash: "h1"})
			if err != nil || start.Replay != ps[0].ID || len(start.Lines) != 2 {
				t.Errorf("retry: %+v, %v; want the first result", start, err)
			}
			if _, err := tx.CheckoutCart(ctx, s.ID, u.ID, shop.Idempotency{Key: "k1", Hash: "other"}); !errors.Is(err, shop.ErrKeyReused) {
				t.Errorf("the key with another request: %v, want ErrKeyReused", err)
			}
			if _, err := tx.CheckoutCart(ctx, s.ID, stranger.ID, shop.Idempotency{Key: "k1", Hash: "h1"}); shop.KindOf(err) != shop.KindNotFound {
				t.Errorf("another store's customer: %v, want not found", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A transaction is bound to its store: inside store A's, a read or a write that names store B is
// refused with ErrOtherStore and keeps nothing — on SQLite, which has no row-level security, as on
// PostgreSQL. Platform transactions ("") may name any store.
func TestTransactions_BoundToTheirStore(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.OpenDB(t, url, sqlstore.Options{})
		a, b := newStore(t, db, "bound-a"), newStore(t, db, "bound-b")
		var inB shop.Product
		if err := db.Update(ctx, b.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			inB = shop.Product{SKU: "B-1", Name: "B", PriceAmount: 1, Stock: 1}
			return tx.CreateProduct(ctx, b.ID, &inB)
		}); err != nil {
			t.Fatal(err)
		}
		reads := map[string]func(context.Context, *sqlstore.Tx) error{
			"product by id": func(ctx context.Context, tx *sqlstore.Tx) error {
				_, err := tx.ProductByID(ctx, b.ID, inB.ID)
				return err
			},
			"product by sku": func(ctx context.Context, tx *sqlstore.Tx) error {
				_, err := tx.ProductBySKU(ctx, b.ID, "B-1")
				return err
			},
			"categories": func(ctx context.Context, tx *sqlstore.Tx) error { _, err := tx.ListCategories(ctx, b.ID); return err },
			"order": func(ctx context.Context, tx *sqlstore.Tx) error {
				_, err := tx.OrderByID(ctx, b.ID, shop.NewID())
				return err
			},
		}
		for name, read := range reads {
			err := db.View(ctx, a.ID, func(tx *sqlstore.Tx) error { return read(ctx, tx) })
			if !errors.Is(err, sqlstore.ErrOtherStore) {
				t.Errorf("%s of store B in store A's read: %v, want ErrOtherStore", name, err)
			}
			err = db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return read(ctx, tx) })
			if !errors.Is(err, sqlstore.ErrOtherStore) {
				t.Errorf("%s of store B in store A's write: %v, want ErrOtherStore", name, err)
			}
		}
		writes := map[string]func(context.Context, *sqlstore.Tx) error{
			"create a product": func(ctx context.Context, tx *sqlstore.Tx) error { return addProduct(ctx, tx, b.ID, "B-2") },
			"move stock": func(ctx context.Context, tx *sqlstore.Tx) error {
				_, err := tx.MoveStock(ctx, b.ID, inB.ID, 5, "phantom", "", "")
				return err
			},
		}
		for name, write := range writes {
			err := db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				if err := addProduct(ctx, tx, a.ID, "A-"+name); err != nil { // its own store's write, kept only if all is
					return err
				}
				return write(ctx, tx)
			})
			if !errors.Is(err, sqlstore.ErrOtherStore) {
				t.Errorf("%s in store B from store A's transaction: %v, want ErrOtherStore", name, err)
			}
			if n := countProducts(t, db, a.ID, "A-"+name); n != 0 {
				t.Errorf("%s: the refused transaction kept %d of its own writes", name, n)
			}
		}
		if n := countProducts(t, db, b.ID, "B-2"); n != 0 {
			t.Errorf("store B got %d products from store A's transaction", n)
		}
		var p shop.Product
		if err := db.View(ctx, b.ID, func(tx *sqlstore.Tx) (err error) { p, err = tx.ProductByID(ctx, b.ID, inB.ID); return }); err != nil || p.Stock != 1 {
			t.Errorf("store B's product after store A's attempts: stock %d, %v; want 1", p.Stock, err)
		}
		// The platform's transactions are bound to no store.
		if err := db.View(ctx, "", func(tx *sqlstore.Tx) error { _, err := tx.StoreByID(ctx, b.ID); return err }); err != nil {
			t.Errorf("platform read of store B: %v", err)
		}
	})
}

// On PostgreSQL a transaction opens with its first round trip: BEGIN and the store's scope go with
// the writes held back before it, so that a transaction that only writes is one round trip (its
// writes pass the row-level security policies' check, so the scope went first), one that does
// nothing is none, and a write that fails there fails the transaction, keeps nothing and leaves
// the connection ready for the next.
func TestPostgres_TransactionsOpenWithTheirFirstRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := testenv.OpenDB(t, testenv.PostgresURL(t), sqlstore.Options{MaxOpenConns: 1})
	s := newStore(t, db, "trips")
	u := newUser(t, db, s.ID, "ann@example.com", shop.RoleCustomer)
	p := shop.Product{SKU: "EG", Name: "Earl Grey", PriceAmount: 450, Stock: 2}
	if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateProduct(ctx, s.ID, &p) }); err != nil {
		t.Fatal(err)
	}
	trips := func(name string, want int64, fn func(context.Context, *sqlstore.Tx) error) error {
		t.Helper()
		before := db.RoundTrips()
		err := db.Update(ctx, s.ID, fn)
		if got := db.RoundTrips() - before; got != want {
			t.Errorf("%s: %d round trips, want %d", name, got, want)
		}
		return err
	}
	cart := func() []shop.CartLine {
		t.Helper()
		var lines []shop.CartLine
		if err := db.View(ctx, s.ID, func(tx *sqlstore.Tx) (err error) { lines, err = tx.CartLines(ctx, s.ID, u.ID); return }); err != nil {
			t.Fatal(err)
		}
		return lines
	}

	if err := trips("writes only", 1, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.SetCartItem(ctx, s.ID, u.ID, p.ID, 2, 450)
	}); err != nil {
		t.Fatal(err)
	}
	if lines := cart(); len(lines) != 1 || lines[0].Quantity != 2 {
		t.Fatalf("after a transaction of writes only the cart is %+v, want 2 of %s", lines, p.SKU)
	}
	if err := trips("nothing", 0, func(context.Context, *sqlstore.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Writes, a read that sees them, the COMMIT.
	if err := trips("writes then a read", 3, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.SetCartItem(ctx, s.ID, u.ID, p.ID, 1, 450); err != nil {
			return err
		}
		lines, err := tx.CartLines(ctx, s.ID, u.ID)
		if err == nil && (len(lines) != 1 || lines[0].Quantity != 1) {
			t.Errorf("inside the transaction the cart is %+v, want 1 of %s", lines, p.SKU)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A product that does not exist: refused by the foreign key, in the transaction's one round trip.
	err := trips("a failing write", 1, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.ClearCart(ctx, s.ID, u.ID); err != nil {
			return err
		}
		return tx.SetCartItem(ctx, s.ID, u.ID, shop.NewID(), 1, 1)
	})
	if err == nil {
		t.Fatal("a cart line of a product that does not exist was written")
	}
	if lines := cart(); len(lines) != 1 || lines[0].Quantity != 1 {
		t.Fatalf("after a failed transaction the cart is %+v, want it as it was", lines)
	}
	// The one connection is clean: the next transaction commits.
	if err := trips("writes only, after a failure", 1, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.ClearCart(ctx, s.ID, u.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if lines := cart(); len(lines) != 0 {
		t.Fatalf("the cart is %+v, want it empty", lines)
	}
}
