package tenancy

import (
	"context"
	"testing"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var operator = shop.Principal{UserID: shop.UserID(shop.NewID()), Role: shop.RoleOperator}

// Only platform operators open, list, suspend and resume stores; what they give is checked, a
// taken slug is a conflict, and every change is in the platform's audit chain.
func TestStores_OperatorsRunThem(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		db, ctx := testenv.OpenDB(t, url, sqlstore.Options{}), context.Background()
		s := New(db)
		st, err := s.Create(ctx, operator, NewStore{Slug: "tea-house", Name: " Tea House ", Currency: "JPY"})
		if err != nil || st.Name != "Tea House" || st.Currency != "JPY" || st.Status != shop.StoreActive {
			t.Fatalf("created %+v, %v", st, err)
		}
		for _, in := range []NewStore{{Slug: "A", Name: "x"}, {Slug: "ok-slug", Name: ""}, {Slug: "ok-slug", Name: "x", Currency: "XYZ"}} {
			if _, err := s.Create(ctx, operator, in); shop.KindOf(err) != shop.KindInvalid {
				t.Errorf("%+v: %v, want invalid", in, err)
			}
		}
		if _, err := s.Create(ctx, operator, NewStore{Slug: "tea-house", Name: "Again"}); shop.KindOf(err) != shop.KindConflict {
			t.Errorf("a taken slug: %v", err)
		}
		admin := shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: st.ID, Role: shop.RoleAdmin}
		if _, err := s.Create(ctx, admin, NewStore{Slug: "mine", Name: "Mine"}); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a store admin opens a store: %v", err)
		}
		if _, err := s.SetStatus(ctx, admin, "tea-house", shop.StoreSuspended); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a store admin suspends: %v", err)
		}
		if _, err := s.SetStatus(ctx, operator, "tea-house", "closed"); shop.KindOf(err) != shop.KindInvalid {
			t.Errorf("an unknown status: %v", err)
		}
		if _, err := s.BySlug(ctx, "tea-house"); err != nil { // now in the lookup cache
			t.Fatal(err)
		}
		if got, err := s.SetStatus(ctx, operator, "tea-house", shop.StoreSuspended); err != nil || got.Status != shop.StoreSuspended {
			t.Fatalf("suspended: %+v, %v", got, err)
		}
		if got, _ := s.BySlug(ctx, "tea-house"); got.Status != shop.StoreSuspended {
			t.Errorf("the lookup still says %s after a suspension through this process", got.Status)
		}
		list, err := s.List(ctx, operator)
		if err != nil || len(list) != 1 || list[0].Slug != "tea-house" {
			t.Fatalf("list %+v, %v", list, err)
		}
		var actions []string
		err = db.View(ctx, sqlstore.AllStores, func(tx *sqlstore.Tx) error {
			page, err := tx.ListAudit(ctx, "", 0, 10)
			for _, e := range page.Events {
				actions = append(actions, e.Action)
			}
			return err
		})
		if err != nil || len(actions) != 2 || actions[0] != "store.status" || actions[1] != "store.create" {
			t.Fatalf("platform audit: %v, %v", actions, err)
		}
	})
}

// A store looked up by slug is remembered for storeTTL: a change another process makes is seen
// once that has passed, never later.
func TestBySlug_ChangesElsewhereAreSeenWithinTheTTL(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		db, ctx := testenv.OpenDB(t, url, sqlstore.Options{}), context.Background()
		here, elsewhere := New(db), New(db)
		clock := time.Now()
		here.now = func() time.Time { return clock }
		if _, err := here.Create(ctx, operator, NewStore{Slug: "shared", Name: "Shared"}); err != nil {
			t.Fatal(err)
		}
		if _, err := here.BySlug(ctx, "shared"); err != nil {
			t.Fatal(err)
		}
		if _, err := elsewhere.SetStatus(ctx, operator, "shared", shop.StoreSuspended); err != nil {
			t.Fatal(err)
		}
		if got, _ := here.BySlug(ctx, "shared"); got.Status != shop.StoreActive {
			t.Fatalf("within the TTL the remembered store is answered; got %s", got.Status)
		}
		clock = clock.Add(storeTTL)
		if got, _ := here.BySlug(ctx, "shared"); got.Status != shop.StoreSuspended {
			t.Fatalf("after the TTL the lookup still says %s", got.Status)
		}
		if _, err := here.BySlug(ctx, "no-such-store"); shop.KindOf(err) != shop.KindNotFound {
			t.Errorf("an unknown store: %v", err)
		}
	})
}

// A store's admin sets its password rule; a clerk may not, and the change is audited once.
func TestSettings_AdminsSetThem(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		db, ctx := testenv.OpenDB(t, url, sqlstore.Options{}), context.Background()
		s := New(db)
		st, err := s.Create(ctx, operator, NewStore{Slug: "rules", Name: "Rules"})
		if err != nil {
			t.Fatal(err)
		}
		admin := shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: st.ID, Role: shop.RoleAdmin}
		clerk := shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: st.ID, Role: shop.RoleClerk}
		if _, err := s.SetPasswordComposition(ctx, clerk, st.ID, true); shop.KindOf(err) != shop.KindForbidden {
			t.Errorf("a clerk sets the rule: %v", err)
		}
		for range 2 {
			if _, err := s.SetPasswordComposition(ctx, admin, st.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Settings(ctx, admin, st.ID); err != nil || !got.PasswordComposition {
			t.Fatalf("settings %+v, %v", got, err)
		}
		n := 0
		err = db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
			page, err := tx.ListAudit(ctx, st.ID, 0, 10)
			for _, e := range page.Events {
				if e.Action == "store.settings" {
					n++
				}
			}
			return err
		})
		if err != nil || n != 1 {
			t.Fatalf("%d audit entries for one change (%v)", n, err)
		}
	})
}
