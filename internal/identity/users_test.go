package identity_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/tenancy"
	"secureshop/internal/testenv"
)

// TestUpdateUser_LastAdminHoldsUnderRaces: a store with two admins, and two demotions at once —
// each admin demoting the other, or one admin (in two sessions) demoting the other and themself.
// Each alone would leave an admin; together they must not leave none. On PostgreSQL they run at
// once; without the lock on the store's members they left no admin in half the rounds.
func TestUpdateUser_LastAdminHoldsUnderRaces(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := testenv.OpenDB(t, url, sqlstore.Options{})
		svc := serviceOn(db, &clock{t: time.Now()}, nil)
		st, err := tenancy.New(db).Create(ctx, shop.System(), tenancy.NewStore{Slug: "admins", Name: "Admins"})
		if err != nil {
			t.Fatal(err)
		}
		var admins []shop.User
		for i := range 2 {
			u, err := svc.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: fmt.Sprintf("a%d@example.com", i), Role: shop.RoleAdmin, Password: "twelve chars long"})
			if err != nil {
				t.Fatal(err)
			}
			admins = append(admins, u)
		}
		as := func(u shop.User) shop.Principal {
			return shop.Principal{UserID: u.ID, StoreID: st.ID, Role: shop.RoleAdmin}
		}
		clerk := shop.RoleClerk
		admin := shop.RoleAdmin
		for round := range 20 {
			a, b := admins[0], admins[1]
			moves := [2][2]shop.User{{a, b}, {b, a}} // each demotes the other
			if round%2 == 1 {
				moves = [2][2]shop.User{{a, b}, {a, a}} // a demotes b, and a demotes a
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, m := range moves {
				wg.Add(1)
				go func(actor, target shop.User) {
					defer wg.Done()
					<-start
					_, _ = svc.UpdateUser(ctx, as(actor), st.ID, target.ID, identity.UserPatch{Role: &clerk})
				}(m[0], m[1])
			}
			close(start)
			wg.Wait()
			var n int
			if err := db.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) { n, err = tx.CountActiveAdmins(ctx, st.ID); return }); err != nil {
				t.Fatal(err)
			}
			if n < 1 {
				t.Fatalf("round %d: the store has no active admin left", round)
			}
			for _, u := range admins { // both admins again for the next round
				_, _ = svc.UpdateUser(ctx, shop.System(), st.ID, u.ID, identity.UserPatch{Role: &admin})
			}
		}
	})
}
