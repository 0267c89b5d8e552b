package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// openDB opens and migrates a fresh database at url.
func openDB(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db := testenv.OpenDB(t, url, sqlstore.Options{})
	if err := db.Migrate(context.Background()); err != nil { // idempotent
		t.Fatalf("second migrate: %v", err)
	}
	return db
}

func newStore(t *testing.T, db *sqlstore.DB, slug string) shop.Store {
	t.Helper()
	s := shop.Store{Slug: slug, Name: strings.ToUpper(slug), Currency: "GBP"}
	if err := db.Update(context.Background(), "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(context.Background(), &s) }); err != nil {
		t.Fatal(err)
	}
	return s
}

func newUser(t *testing.T, db *sqlstore.DB, store shop.StoreID, email string, role shop.Role) shop.User {
	t.Helper()
	u := shop.User{Email: email, Role: role, PasswordHash: "x", Active: true}
	if err := db.Update(context.Background(), store, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.CreateUser(context.Background(), store, &u)
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestStoresAndUsers_TenantScoped(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		a, b := newStore(t, db, "store-a"), newStore(t, db, "store-b")

		// The same e-mail may exist in two stores, but only once per store.
		ua := newUser(t, db, a.ID, "Same@Example.com ", shop.RoleAdmin)
		ub := newUser(t, db, b.ID, "same@example.com", shop.RoleCustomer)
		if ua.Email != "same@example.com" {
			t.Errorf("e-mail not normalised: %q", ua.Email)
		}
		err := db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			u := shop.User{Email: "same@example.com", Role: shop.RoleClerk, PasswordHash: "x"}
			return tx.CreateUser(ctx, a.ID, &u)
		})
		if !errors.Is(err, shop.ErrDuplicate) {
			t.Fatalf("duplicate e-mail in one store: got %v, want ErrDuplicate", err)
		}
		if err := db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
			s := shop.Store{Slug: "store-a", Name: "x", Currency: "GBP"}
			return tx.CreateStore(ctx, &s)
		}); !errors.Is(err, shop.ErrDuplicate) {
			t.Fatalf("duplicate slug: got %v", err)
		}

		err = db.View(ctx, a.ID, func(tx *sqlstore.Tx) error {
			got, err := tx.UserByEmail(ctx, a.ID, "SAME@example.com")
			if err != nil {
				return err
			}
			if got.ID != ua.ID || got.Role != shop.RoleAdmin || !got.Active || got.StoreID != a.ID {
				t.Errorf("UserByEmail = %+v", got)
			}
			if got.CreatedAt.IsZero() {
				t.Error("created_at not read back")
			}
			// Store A asking for store B's user by id finds nothing.
			if _, err := tx.UserByID(ctx, a.ID, ub.ID); shop.KindOf(err) != shop.KindNotFound {
				t.Errorf("other store's user: got %v, want not found", err)
			}
			if _, err := tx.UserByID(ctx, a.ID, "not-a-uuid"); shop.KindOf(err) != shop.KindNotFound {
				t.Errorf("malformed id: got %v, want not found", err)
			}
			page, err := tx.ListUsers(ctx, a.ID, "", 10)
			if err != nil {
				return err
			}
			if len(page.Users) != 1 || page.Users[0].ID != ua.ID {
				t.Errorf("ListUsers(a) = %+v", page.Users)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// Deactivating store B's user through store A changes nothing.
		err = db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.SetUserActive(ctx, a.ID, ub.ID, false) })
		if shop.KindOf(err) != shop.KindNotFound {
			t.Fatalf("cross-store deactivate: got %v", err)
		}
		_ = db.View(ctx, b.ID, func(tx *sqlstore.Tx) error {
			u, err := tx.UserByID(ctx, b.ID, ub.ID)
			if err != nil || !u.Active {
				t.Errorf("store B's user changed by store A: %+v %v", u, err)
			}
			return nil
		})
	})
}

func TestListUsers_CursorPages(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		s := newStore(t, db, "paged")
		want := map[shop.UserID]bool{}
		for i := range 7 {
			u := newUser(t, db, s.ID, string(rune('a'+i))+"@example.com", shop.RoleCustomer)
			want[u.ID] = true
		}
		seen := map[shop.UserID]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			var page shop.UserPage
			if err := db.View(ctx, s.ID, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListUsers(ctx, s.ID, cursor, 3); return }); err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Users {
				if seen[u.ID] {
					t.Fatalf("user %s on two pages", u.ID)
				}
				seen[u.ID] = true
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != len(want) {
			t.Fatalf("saw %d users over all pages, want %d", len(seen), len(want))
		}
	})
}

func TestCatalog_CategoryMustBelongToStore(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		a, b := newStore(t, db, "cat-a"), newStore(t, db, "cat-b")
		ca := shop.Category{Slug: "tea", Name: "Tea"}
		if err := db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateCategory(ctx, a.ID, &ca) }); err != nil {
			t.Fatal(err)
		}
		p := shop.Product{SKU: "T-1", Name: "Assam", PriceAmount: 450, Stock: 3, CategoryID: ca.ID}
		if err := db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateProduct(ctx, a.ID, &p) }); err != nil {
			t.Fatal(err)
		}
		// A product in store B may not point at store A's category.
		pb := shop.Product{SKU: "T-1", Name: "Stolen", PriceAmount: 1, Stock: 1, CategoryID: ca.ID}
		if err := db.Update(ctx, b.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateProduct(ctx, b.ID, &pb) }); err == nil {
			t.Fatal("product in store B accepted store A's category")
		}
		dup := shop.Product{SKU: "T-1", Name: "Again", PriceAmount: 1, Stock: 1}
		if err := db.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateProduct(ctx, a.ID, &dup) }); !errors.Is(err, shop.ErrDuplicate) {
			t.Fatalf("duplicate SKU: got %v", err)
		}
		err := db.View(ctx, b.ID, func(tx *sqlstore.Tx) error {
			if _, err := tx.ProductByID(ctx, b.ID, p.ID); shop.KindOf(err) != shop.KindNotFound {
				t.Errorf("store B sees store A's product: %v", err)
			}
			n, err := tx.CountProducts(ctx, b.ID)
			if n != 0 {
				t.Errorf("store B counts %d products", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(ctx, a.ID, func(tx *sqlstore.Tx) error {
			got, err := tx.ProductByID(ctx, a.ID, p.ID)
			if err != nil {
				return err
			}
			if got.Name != "Assam" || got.PriceAmount != 450 || got.CategoryID != ca.ID {
				t.Errorf("ProductByID = %+v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestAudit_ChainDetectsEditsAndDeletes(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		s := newStore(t, db, "audited")
		actor := shop.Principal{UserID: "u1", Role: shop.RoleAdmin, StoreID: s.ID, IP: "127.0.0.1"}
		var events []audit.Event
		for i := range 5 {
			err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				e, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "product.create", TargetType: "product",
					TargetID: string(rune('a' + i)), Detail: map[string]string{"name": "n"}})
				events = append(events, e)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		verify := func() []audit.Problem {
			var probs []audit.Problem
			err := db.View(ctx, "", func(tx *sqlstore.Tx) error {
				chains, err := tx.AuditChains(ctx)
				if err != nil {
					return err
				}
				for _, c := range chains {
					p, err := tx.VerifyAuditChain(ctx, c)
					if err != nil {
						return err
					}
					probs = append(probs, p...)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return probs
		}
		if p := verify(); len(p) != 0 {
			t.Fatalf("intact chain reported problems: %+v", p)
		}
		// The application cannot edit or delete entries: the database refuses.
		if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			return sqlstore.ExecForTest(ctx, tx, `UPDATE audit_events SET action = 'x' WHERE id = ?`, events[2].ID)
		}); err == nil {
			t.Fatal("audit row update was allowed")
		}
		// Someone with the database's owner rights goes around the trigger and edits row 3.
		sqlstore.TamperForTest(t, db, `UPDATE audit_events SET detail = '{"name":"forged"}' WHERE id = ?`, events[2].ID)
		p := verify()
		if len(p) == 0 || p[0].EventID != events[2].ID || p[0].Seq != 3 {
			t.Fatalf("edit of entry 3 not named: %+v", p)
		}
		// Deleting the newest entry is caught through the chain head.
		sqlstore.TamperForTest(t, db, `DELETE FROM audit_events WHERE id = ?`, events[4].ID)
		found := false
		for _, pr := range verify() {
			if strings.Contains(pr.Reason, "head") {
				found = true
			}
		}
		if !found {
			t.Fatal("deleted newest entry not detected")
		}
	})
}

func TestProducts_SearchSortAndPages(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		s := newStore(t, db, "search")
		other := newStore(t, db, "search-other")
		names := []string{"Earl Grey Tea", "Green Tea", "Teapot", "Coffee Beans", "Dark Chocolate", "Chocolate Tea", "Zebra Mug"}
		err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			for i, n := range names {
				p := shop.Product{SKU: "S" + string(rune('A'+i)), Name: n, Description: "about " + strings.ToLower(n), PriceAmount: int64(1000 - i*100), Stock: 1}
				if err := tx.CreateProduct(ctx, s.ID, &p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Update(ctx, other.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			p := shop.Product{SKU: "O", Name: "Other Tea", PriceAmount: 1, Stock: 1}
			return tx.CreateProduct(ctx, other.ID, &p)
		})
		list := func(f shop.ProductFilter) []string {
			var out []string
			for {
				var page shop.ProductPage
				if err := db.View(ctx, s.ID, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListProducts(ctx, s.ID, f); return }); err != nil {
					t.Fatal(err)
				}
				for _, p := range page.Products {
					out = append(out, p.Name)
				}
				if page.NextCursor == "" {
					return out
				}
				f.Cursor = page.NextCursor
			}
		}
		got := strings.Join(list(shop.ProductFilter{Query: "tea", Limit: 2}), ",")
		if got != "Chocolate Tea,Earl Grey Tea,Green Tea,Teapot" {
			t.Errorf("search tea: %s", got)
		}
		if got := strings.Join(list(shop.ProductFilter{Query: `"chocolate*" -(`, Limit: 10}), ","); got != "Chocolate Tea,Dark Chocolate" {
			t.Errorf("search with query syntax: %s", got)
		}
		if got := strings.Join(list(shop.ProductFilter{Query: "choc tea", Limit: 10}), ","); got != "Chocolate Tea" {
			t.Errorf("two words must both match: %s", got)
		}
		if got := list(shop.ProductFilter{Query: `'; DROP TABLE products; --`, Limit: 10}); len(got) != 0 {
			t.Errorf("search of SQL: %v", got)
		}
		if got := strings.Join(list(shop.ProductFilter{Sort: shop.SortPrice, Limit: 3}), ","); got != "Zebra Mug,Chocolate Tea,Dark Chocolate,Coffee Beans,Teapot,Green Tea,Earl Grey Tea" {
			t.Errorf("by price: %s", got)
		}
		if got := list(shop.ProductFilter{Sort: shop.SortName, Limit: 3}); len(got) != 7 || got[0] != "Chocolate Tea" || got[6] != "Zebra Mug" {
			t.Errorf("by name: %v", got)
		}
		if got := list(shop.ProductFilter{Sort: shop.SortNewest, Limit: 4}); len(got) != 7 {
			t.Errorf("newest: %v", got)
		}
		err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
			_, err := tx.ListProducts(ctx, s.ID, shop.ProductFilter{Sort: shop.SortPrice, Cursor: "garbage", Limit: 3})
			return err
		})
		if shop.KindOf(err) != shop.KindInvalid {
			t.Errorf("forged cursor: %v", err)
		}
	})
}

func TestOrderLines_AreImmutable(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		s := newStore(t, db, "immutable")
		u := newUser(t, db, s.ID, "c@example.com", shop.RoleCustomer)
		var o shop.Order
		err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			p := shop.Product{SKU: "A", Name: "A", PriceAmount: 300, Stock: 5}
			if err := tx.CreateProduct(ctx, s.ID, &p); err != nil {
				return err
			}
			o = shop.Order{CustomerID: u.ID, Status: "paid", Currency: "GBP", Subtotal: 600, TotalAmount: 600,
				Lines: []shop.OrderLine{{ProductID: p.ID, SKU: "A", Name: "A", UnitPrice: 300, Quantity: 2, LineTotal: 600}}}
			return tx.InsertOrder(ctx, s.ID, &o, shop.Principal{UserID: u.ID, Role: shop.RoleCustomer})
		})
		if err != nil {
			t.Fatal(err)
		}
		// An order's figures, addresses and number are as immutable as its lines.
		for _, q := range []string{`UPDATE order_lines SET unit_price = 1 WHERE order_id = ?`, `DELETE FROM order_lines WHERE order_id = ?`,
			`UPDATE orders SET total_amount = 1, subtotal_amount = 1 WHERE id = ?`, `UPDATE orders SET number = 99999 WHERE id = ?`,
			`UPDATE orders SET shipping_address = '{}' WHERE id = ?`, `UPDATE orders SET tax_amount = tax_amount + 1, total_amount = total_amount + 1 WHERE id = ?`} {
			err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return sqlstore.ExecForTest(ctx, tx, q, o.ID) })
			if err == nil {
				t.Errorf("%s was allowed", q)
			}
		}
		err = db.View(ctx, s.ID, func(tx *sqlstore.Tx) error {
			got, err := tx.OrderByID(ctx, s.ID, o.ID)
			if err == nil && (len(got.Lines) != 1 || got.Lines[0].UnitPrice != 300) {
				t.Errorf("lines changed: %+v", got.Lines)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// A line whose total does not match its price and quantity is refused by the database.
		err = db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			bad := shop.Order{CustomerID: u.ID, Status: "paid", Currency: "GBP", Subtotal: 1, TotalAmount: 1,
				Lines: []shop.OrderLine{{ProductID: o.Lines[0].ProductID, SKU: "A", Name: "A", UnitPrice: 300, Quantity: 2, LineTotal: 1}}}
			return tx.InsertOrder(ctx, s.ID, &bad, shop.Principal{UserID: u.ID})
		})
		if err == nil {
			t.Error("inconsistent line total accepted")
		}
	})
}

func TestAccountLocks(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openDB(t, url)
		s := newStore(t, db, "locks")
		now := time.Now().UTC()
		until := now.Add(15 * time.Minute)
		for i := 1; i <= 3; i++ {
			var n int
			var locked bool
			if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
				n, locked, err = tx.RecordFailure(ctx, s.ID, "Who@Example.com", 3, until)
				return
			}); err != nil {
				t.Fatal(err)
			}
			if n != i || locked != (i == 3) {
				t.Fatalf("failure %d: count %d locked %v", i, n, locked)
			}
		}
		lockedUntil := func(store shop.StoreID, at time.Time) *time.Time {
			var u *time.Time
			if err := db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { u, err = tx.LockedUntil(ctx, store, "who@example.com", at); return }); err != nil {
				t.Fatal(err)
			}
			return u
		}
		if u := lockedUntil(s.ID, now); u == nil || u.Sub(until).Abs() > time.Millisecond {
			t.Fatalf("locked until %v, want %v", u, until)
		}
		if lockedUntil("", now) != nil {
			t.Fatal("the lock reached the platform scope")
		}
		if lockedUntil(s.ID, until.Add(time.Second)) != nil {
			t.Fatal("lock outlived its end")
		}
		if err := db.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			return tx.ClearFailures(ctx, s.ID, "who@example.com")
		}); err != nil {
			t.Fatal(err)
		}
		if lockedUntil(s.ID, now) != nil {
			t.Fatal("unlock did not lift the lock")
		}
	})
}

func TestRowLevelSecurity_UnfilteredQuerySeesOnlyItsStore(t *testing.T) {
	ctx := context.Background()
	ownerURL := testenv.PostgresURL(t)
	owner := openDB(t, ownerURL)
	a, b := newStore(t, owner, "rls-a"), newStore(t, owner, "rls-b")
	for _, s := range []shop.Store{a, b} {
		err := owner.Update(ctx, s.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			for i := range 3 {
				p := shop.Product{SKU: "P" + string(rune('0'+i)), Name: s.Slug, PriceAmount: 1, Stock: 1}
				if err := tx.CreateProduct(ctx, s.ID, &p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	app, err := sqlstore.Open(ctx, testenv.AppRole(t, ownerURL), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	count := func(store shop.StoreID, q string) int {
		var n int
		if err := app.View(ctx, store, func(tx *sqlstore.Tx) (err error) { n, err = sqlstore.CountForTest(ctx, tx, q); return }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(a.ID, `SELECT COUNT(*) FROM products`); n != 3 {
		t.Fatalf("unfiltered query under store A's setting sees %d products, want A's 3", n)
	}
	if n := count(a.ID, `SELECT COUNT(*) FROM products WHERE name = 'rls-b'`); n != 0 {
		t.Fatalf("store A's transaction sees %d of store B's products", n)
	}
	if n := count("", `SELECT COUNT(*) FROM products`); n != 0 {
		t.Fatalf("a platform transaction sees %d products", n)
	}
	// Writing a row for another store is refused too.
	err = app.Update(ctx, a.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		p := shop.Product{SKU: "X", Name: "x", PriceAmount: 1, Stock: 1}
		return tx.CreateProduct(ctx, b.ID, &p)
	})
	if err == nil {
		t.Fatal("store A's transaction wrote a product of store B")
	}
	// The repository, used as meant, still works for both.
	for _, s := range []shop.Store{a, b} {
		var page shop.ProductPage
		if err := app.View(ctx, s.ID, func(tx *sqlstore.Tx) (err error) {
			page, err = tx.ListProducts(ctx, s.ID, shop.ProductFilter{Limit: 10})
			return
		}); err != nil || len(page.Products) != 3 {
			t.Fatalf("store %s lists %d products (%v)", s.Slug, len(page.Products), err)
		}
	}
}

// SQLite statements are prepared once and reused; the prepared path must give the same answers
// as the first, unprepared one, and preparing must never wait on the single writer a transaction
// already holds.
func TestStatementCache_ReusedInsideTransactions(t *testing.T) {
	db := openDB(t, testenv.SQLiteURL(t))
	ctx := context.Background()
	st := newStore(t, db, "stmts")
	for i := range 50 {
		email := fmt.Sprintf("u%02d@example.com", i)
		newUser(t, db, st.ID, email, shop.RoleCustomer)
		err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			u, err := tx.UserByEmail(ctx, st.ID, email)
			if err != nil || u.Email != email {
				return fmt.Errorf("round %d: %v %q", i, err, u.Email)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
			page, err := tx.ListUsers(ctx, st.ID, "", 100)
			if err == nil && len(page.Users) != i+1 {
				err = fmt.Errorf("round %d: %d users listed", i, len(page.Users))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sqlstore.AwaitPreparesForTest(db)
	}
	if r, w := sqlstore.PreparedForTest(db); r == 0 || w == 0 {
		t.Fatalf("prepared statements: %d read, %d write; want both in use", r, w)
	}
}

// The catalogue generation of a store moves on with every committed write to its products or
// categories — and only then: a write elsewhere, a rolled-back write or another store's write
// leaves its cached listings valid.
func TestCatalogGeneration_MovesWithCatalogueWrites(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		db, ctx := openDB(t, url), context.Background()
		st, other := newStore(t, db, "gen-a"), newStore(t, db, "gen-b")
		u := newUser(t, db, st.ID, "gen@example.com", shop.RoleCustomer)
		p := shop.Product{SKU: "G-1", Name: "Green", PriceAmount: 300}
		write := func(store shop.StoreID, fn func(ctx context.Context, tx *sqlstore.Tx) error) {
			t.Helper()
			if err := db.Update(ctx, store, fn); err != nil {
				t.Fatal(err)
			}
		}
		moves := []struct {
			name    string
			store   shop.StoreID
			changes bool
			fn      func(ctx context.Context, tx *sqlstore.Tx) error
		}{
			{"a category", st.ID, true, func(ctx context.Context, tx *sqlstore.Tx) error {
				return tx.CreateCategory(ctx, st.ID, &shop.Category{Slug: "green", Name: "Green"})
			}},
			{"a product", st.ID, true, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateProduct(ctx, st.ID, &p) }},
			{"an edit", st.ID, true, func(ctx context.Context, tx *sqlstore.Tx) error {
				p.Name = "Green tea"
				return tx.UpdateProduct(ctx, st.ID, &p)
			}},
			{"a stock change", st.ID, true, func(ctx context.Context, tx *sqlstore.Tx) error {
				_, err := tx.MoveStock(ctx, st.ID, p.ID, 5, "delivery", "", "")
				return err
			}},
			{"a sale", st.ID, true, func(ctx context.Context, tx *sqlstore.Tx) error {
				return tx.TakeStock(ctx, st.ID, p.ID, 1, "", "")
			}},
			{"a cart line", st.ID, false, func(ctx context.Context, tx *sqlstore.Tx) error {
				return tx.SetCartItem(ctx, st.ID, u.ID, p.ID, 1, p.PriceAmount)
			}},
			{"another store's product", other.ID, false, func(ctx context.Context, tx *sqlstore.Tx) error {
				return tx.CreateProduct(ctx, other.ID, &shop.Product{SKU: "B-1", Name: "Black", PriceAmount: 200})
			}},
		}
		for _, m := range moves {
			before := db.CatalogGeneration(st.ID)
			write(m.store, m.fn)
			if moved := db.CatalogGeneration(st.ID) != before; moved != m.changes {
				t.Errorf("%s: generation moved %v, want %v", m.name, moved, m.changes)
			}
		}
		before := db.CatalogGeneration(st.ID)
		err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := tx.CreateProduct(ctx, st.ID, &shop.Product{SKU: "G-2", Name: "Gone", PriceAmount: 100}); err != nil {
				return err
			}
			return errors.New("changed my mind")
		})
		if err == nil || db.CatalogGeneration(st.ID) != before {
			t.Errorf("a rolled-back product moved the generation (%v)", err)
		}
	})
}
