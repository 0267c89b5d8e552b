package auditlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"secureshop/internal/audit"
	"secureshop/internal/auditlog"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A store's admins read its audit log in pages, newest first, and nobody else does; the chains
// verify until a row is altered behind the shop's back, and the break is named.
func TestAuditLog_ReadInPagesAndVerified(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		db, ctx := testenv.OpenDB(t, url, sqlstore.Options{}), context.Background()
		svc := auditlog.New(db)
		var stores [2]shop.Store
		for i := range stores {
			stores[i] = shop.Store{Slug: fmt.Sprintf("log-%d", i), Name: "Log", Currency: "GBP"}
			if err := db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &stores[i]) }); err != nil {
				t.Fatal(err)
			}
		}
		st := stores[0]
		admin := shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: st.ID, Role: shop.RoleAdmin}
		for i := range 5 {
			err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				_, err := tx.AppendAudit(ctx, audit.Record{Actor: admin, Action: "test.step", TargetType: "step", TargetID: fmt.Sprint(i)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var seen []string
		before := int64(0)
		for {
			page, err := svc.List(ctx, admin, st.ID, before, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				seen = append(seen, e.TargetID)
			}
			if before = page.NextCursor; before == 0 {
				break
			}
		}
		if fmt.Sprint(seen) != "[4 3 2 1 0]" {
			t.Fatalf("pages gave %v, want newest first", seen)
		}
		for _, p := range []shop.Principal{
			{UserID: admin.UserID, StoreID: st.ID, Role: shop.RoleClerk},
			{UserID: admin.UserID, StoreID: st.ID, Role: shop.RoleCustomer},
			{UserID: admin.UserID, StoreID: stores[1].ID, Role: shop.RoleAdmin}, // another store's admin
		} {
			if _, err := svc.List(ctx, p, st.ID, 0, 10); err == nil {
				t.Errorf("%s of %s read the log", p.Role, p.StoreID)
			}
		}
		chains, problems, err := svc.Verify(ctx, "")
		if err != nil || chains != 1 || len(problems) != 0 { // one store has written to its chain
			t.Fatalf("verify: %d chains, %v, %v", chains, problems, err)
		}
		// Someone with the database's own keys edits a row, past its append-only triggers.
		raw := testenv.RawDB(t, url)
		tamper := []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`, `UPDATE audit_events SET target_id = 'forged' WHERE target_id = '2'`}
		if strings.HasPrefix(url, "sqlite:") {
			tamper = []string{`DROP TRIGGER audit_events_no_update`, tamper[1]}
		}
		for _, q := range tamper {
			if _, err := raw.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		_, problems, err = svc.Verify(ctx, st.ID)
		if err != nil || len(problems) == 0 || problems[0].Chain != audit.ChainFor(st.ID) {
			t.Fatalf("an altered row: %v, %v", problems, err)
		}
		if _, problems, _ := svc.Verify(ctx, stores[1].ID); len(problems) != 0 {
			t.Errorf("the other store's chain broke too: %v", problems)
		}
	})
}
