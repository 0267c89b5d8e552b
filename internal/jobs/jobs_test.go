package jobs_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"secureshop/internal/jobs"
	"secureshop/internal/mail"
	"secureshop/internal/orders"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
	"secureshop/internal/vault"
)

func newQueue(t *testing.T, url string) (*sqlstore.DB, *jobs.Queue) {
	t.Helper()
	db := testenv.OpenDB(t, url, sqlstore.Options{})
	v, err := vault.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(context.Background(), db, url, jobs.Config{Vault: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Stop)
	return db, q
}

func waiting(t *testing.T, db *sqlstore.DB) int64 {
	t.Helper()
	n, err := db.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n["available"]
}

// TestQueue_AJobCommitsAndRollsBackWithItsTransaction: a job written in a transaction that rolls
// back is never there; one written in a transaction that commits is, with the rest of it — on
// PostgreSQL after writes the transaction held back.
func TestQueue_AJobCommitsAndRollsBackWithItsTransaction(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, q := newQueue(t, url)
		job := orders.MailJob{Store: shop.StoreID(shop.NewID()), Order: shop.NewID(), Mail: "paid"}
		boom := errors.New("refused")
		err := db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
			if err := q.InsertTx(ctx, tx, job); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("update: %v", err)
		}
		if n := waiting(t, db); n != 0 {
			t.Fatalf("a rolled-back transaction left %d jobs", n)
		}
		err = db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
			st := shop.Store{Slug: "jobs", Name: "Jobs", Currency: "GBP"}
			if err := tx.CreateStore(ctx, &st); err != nil {
				return err
			}
			return q.InsertTx(ctx, tx, job)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := waiting(t, db); n != 1 {
			t.Fatalf("after a commit: %d jobs waiting, want 1", n)
		}
		if err := db.View(ctx, "", func(tx *sqlstore.Tx) error { _, err := tx.StoreBySlug(ctx, "jobs"); return err }); err != nil {
			t.Fatalf("the store written with the job: %v", err)
		}
		// Outside the shop's transaction a job goes on its own; inside, only with the transaction.
		err = db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error { return q.Insert(ctx, job) })
		if err == nil {
			t.Fatal("a job inserted on its own inside a write transaction was taken (on SQLite it waits for the writer the transaction holds)")
		}
		if err := q.Insert(ctx, job); err != nil {
			t.Fatal(err)
		}
		if n := waiting(t, db); n != 2 {
			t.Fatalf("%d jobs waiting, want 2", n)
		}
	})
}

// TestMailer_MailIsSealedInTheQueueAndDelivered: a mail sent through the queue is delivered by
// its worker, and while it waits its row holds neither the code nor the address in the clear.
func TestMailer_MailIsSealedInTheQueueAndDelivered(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, q := newQueue(t, url)
		code := "Your sign-in code is 481516"
		if err := q.Mailer().Send(ctx, mail.Message{To: "secret.person@example.com", Subject: "Your sign-in code", Body: code}); err != nil {
			t.Fatal(err)
		}
		var args string
		if err := testenv.RawDB(t, url).QueryRow("SELECT CAST(args AS TEXT) FROM river_job WHERE kind = 'mail'").Scan(&args); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(args, "481516") || strings.Contains(args, "secret.person") || !strings.Contains(args, "sealed") {
			t.Fatalf("the mail job's row holds the mail in the clear: %s", args)
		}
		dir := filepath.Join(t.TempDir(), "mail")
		if err := q.Start(ctx, jobs.Work{Mailer: mail.Dir{Path: dir, From: "shop <shop@example.com>"}}); err != nil {
			t.Fatal(err)
		}
		m := testenv.AwaitMail(t, dir, func(m testenv.Mail) bool { return m.To == "secret.person@example.com" })
		if !strings.Contains(m.Body, code) {
			t.Fatalf("delivered: %q", m.Body)
		}
		for deadline := time.Now().Add(5 * time.Second); waiting(t, db) != 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if n := waiting(t, db); n != 0 {
			t.Fatalf("%d jobs still waiting after delivery", n)
		}
	})
}

// TestQueue_OnlyItsStoresAdminsAndTheOperatorsSeeFailedJobs: the queue checks who asks, whatever
// route asked it: a store's jobs to that store's admins, every job to the platform's operators.
func TestQueue_OnlyItsStoresAdminsAndTheOperatorsSeeFailedJobs(t *testing.T) {
	ctx := context.Background()
	_, q := newQueue(t, testenv.SQLiteURL(t))
	store, other := shop.StoreID(shop.NewID()), shop.StoreID(shop.NewID())
	who := func(role shop.Role, in shop.StoreID) shop.Principal {
		return shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: in, Role: role}
	}
	for _, c := range []struct {
		name  string
		actor shop.Principal
		store shop.StoreID
		kind  shop.Kind
	}{
		{"the store's clerk", who(shop.RoleClerk, store), store, shop.KindForbidden},
		{"the store's customer", who(shop.RoleCustomer, store), store, shop.KindForbidden},
		{"another store's admin", who(shop.RoleAdmin, other), store, shop.KindNotFound},
		{"an operator, through a store", who(shop.RoleOperator, ""), store, shop.KindNotFound},
		{"a store's admin, every job", who(shop.RoleAdmin, store), "", shop.KindForbidden},
		{"nobody", shop.Principal{}, store, shop.KindUnauthenticated},
	} {
		if _, err := q.Failed(ctx, c.actor, c.store); shop.KindOf(err) != c.kind {
			t.Errorf("%s lists failed jobs: %v, want %s", c.name, err, c.kind)
		}
		if _, err := q.Retry(ctx, c.actor, c.store, 1); shop.KindOf(err) != c.kind {
			t.Errorf("%s retries a job: %v, want %s", c.name, err, c.kind)
		}
	}
	for _, c := range []struct {
		actor shop.Principal
		store shop.StoreID
	}{{who(shop.RoleAdmin, store), store}, {who(shop.RoleOperator, ""), ""}} {
		if _, err := q.Failed(ctx, c.actor, c.store); err != nil {
			t.Errorf("%s of %q lists failed jobs: %v", c.actor.Role, c.store, err)
		}
	}
}
