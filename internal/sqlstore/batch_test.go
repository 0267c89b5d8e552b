package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

// emails lists the addresses of a store's users.
func emails(t *testing.T, db *sqlstore.DB, store shop.StoreID) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := db.View(context.Background(), store, func(tx *sqlstore.Tx) error {
		page, err := tx.ListUsers(context.Background(), store, "", 1000)
		for _, u := range page.Users {
			out[u.Email] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUpdate_ConcurrentTransactionsKeepTheirOwnOutcome runs many write transactions at once —
// on SQLite they share commits — where some fail and one panics after writing: exactly the
// successful ones are kept, each caller learns its own outcome, and the panic reaches its caller.
func TestUpdate_ConcurrentTransactionsKeepTheirOwnOutcome(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		db := openDB(t, url)
		ctx := context.Background()
		st := newStore(t, db, "batch")
		before := sqlstore.CommitsForTest(db)

		// One transaction holds the writer while the others queue behind it.
		release := make(chan struct{})
		holding := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				close(holding)
				<-release
				return tx.CreateUser(ctx, st.ID, &shop.User{Email: "first@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true})
			})
			if err != nil {
				t.Error(err)
			}
		}()
		<-holding

		const n = 40
		errs := make([]error, n)
		panics := make([]any, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { panics[i] = recover() }()
				errs[i] = db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
					u := shop.User{Email: fmt.Sprintf("u%02d@example.com", i), Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
					if err := tx.CreateUser(ctx, st.ID, &u); err != nil {
						return err
					}
					switch {
					case i == 7:
						panic("boom")
					case i%3 == 0:
						return fmt.Errorf("refused %d", i)
					case i == 10:
						// A duplicate: the statement fails inside the shared transaction.
						return tx.CreateUser(ctx, st.ID, &shop.User{Email: "u10@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true})
					}
					return nil
				})
			}()
		}
		sqlstore.AwaitQueuedForTest(t, db, n)
		close(release)
		wg.Wait()

		got := emails(t, db, st.ID)
		if !got["first@example.com"] {
			t.Error("the first transaction was lost")
		}
		for i := range n {
			email := fmt.Sprintf("u%02d@example.com", i)
			switch {
			case i == 7:
				if panics[i] != "boom" || got[email] {
					t.Errorf("%d: panic %v, kept %v", i, panics[i], got[email])
				}
			case i%3 == 0:
				if errs[i] == nil || errs[i].Error() != fmt.Sprintf("refused %d", i) || got[email] {
					t.Errorf("%d: err %v, kept %v", i, errs[i], got[email])
				}
			case i == 10:
				if !errors.Is(errs[i], shop.ErrDuplicate) || got[email] {
					t.Errorf("%d: err %v, kept %v", i, errs[i], got[email])
				}
			default:
				if errs[i] != nil || panics[i] != nil || !got[email] {
					t.Errorf("%d: err %v, panic %v, kept %v", i, errs[i], panics[i], got[email])
				}
			}
		}
		if db.Dialect() == sqlstore.SQLite {
			// 41 transactions; they waited together, so they shared commits, each commit at
			// most MaxBatch of them: at least ceil(41/MaxBatch) commits, and not many more (a
			// goroutine slow to queue may start a batch of its own on a loaded machine).
			least := int64((n + 1 + sqlstore.MaxBatch - 1) / sqlstore.MaxBatch)
			if c := sqlstore.CommitsForTest(db) - before; c < least || c > least+2 {
				t.Errorf("%d commits for %d transactions queued together, want %d to %d (at most %d a commit)",
					c, n+1, least, least+2, sqlstore.MaxBatch)
			}
		}
	})
}

// TestUpdate_QueuedAndCancelledIsNotRun: a write whose caller gives up while it waits for the
// writer is not run later behind the caller's back.
func TestUpdate_QueuedAndCancelledIsNotRun(t *testing.T) {
	db := openDB(t, testenv.SQLiteURL(t))
	ctx := context.Background()
	st := newStore(t, db, "cancel")
	release, holding := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.Update(ctx, st.ID, func(context.Context, *sqlstore.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := db.Update(cctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.CreateUser(ctx, st.ID, &shop.User{Email: "late@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true})
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued write after its deadline: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	newUser(t, db, st.ID, "after@example.com", shop.RoleCustomer)
	if got := emails(t, db, st.ID); got["late@example.com"] || !got["after@example.com"] {
		t.Fatalf("users: %v", got)
	}
}

// TestUpdate_StartedRunsToItsEnd: on SQLite a transaction whose context ends while it runs still
// finishes (interrupting a statement could roll back the shared transaction, losing others' work).
func TestUpdate_StartedRunsToItsEnd(t *testing.T) {
	db := openDB(t, testenv.SQLiteURL(t))
	st := newStore(t, db, "detach")
	ctx, cancel := context.WithCancel(context.Background())
	err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateUser(ctx, st.ID, &shop.User{Email: "a@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true}); err != nil {
			return err
		}
		cancel()
		return tx.CreateUser(ctx, st.ID, &shop.User{Email: "b@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := emails(t, db, st.ID); !got["a@example.com"] || !got["b@example.com"] {
		t.Fatalf("users: %v", got)
	}
}

// TestUpdate_BrokenBatchAnswersNoCallerDone: when the shared transaction ends under the batch (here
// a transaction rolls it back itself, as SQLite does on some errors), every caller whose work was
// lost hears so — the one that broke it too. Whatever the order the batch ran them in, a caller
// is told "done" exactly when its row is there.
func TestUpdate_BrokenBatchAnswersNoCallerDone(t *testing.T) {
	db := openDB(t, testenv.SQLiteURL(t))
	ctx := context.Background()
	st := newStore(t, db, "broken")
	release, holding := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstErr = db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			close(holding)
			<-release
			return tx.CreateUser(ctx, st.ID, &shop.User{Email: "first@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true})
		})
	}()
	<-holding
	const n = 12
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				u := shop.User{Email: fmt.Sprintf("u%02d@example.com", i), Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
				if err := tx.CreateUser(ctx, st.ID, &u); err != nil {
					return err
				}
				if i == 5 {
					return sqlstore.ExecForTest(ctx, tx, "ROLLBACK")
				}
				return nil
			})
		}()
	}
	sqlstore.AwaitQueuedForTest(t, db, n)
	close(release)
	wg.Wait()
	got := emails(t, db, st.ID)
	if errs[5] == nil {
		t.Error("the transaction that ended the shared one was told it was done")
	}
	// The first transaction, whose batch the others joined, ran before the break and lost its work.
	if firstErr == nil || got["first@example.com"] {
		t.Errorf("first: err %v, kept %v", firstErr, got["first@example.com"])
	}
	for i := range n {
		email := fmt.Sprintf("u%02d@example.com", i)
		if (errs[i] == nil) != got[email] {
			t.Errorf("%d: err %v, kept %v", i, errs[i], got[email])
		}
	}
	// The shop writes on afterwards.
	newUser(t, db, st.ID, "after@example.com", shop.RoleCustomer)
}

// TestUpdate_BatchBindsAStatementOnce: on SQLite, a cached statement is bound to the shared write
// transaction once, and the transactions of a batch (and the savepoints around them) reuse it.
func TestUpdate_BatchBindsAStatementOnce(t *testing.T) {
	db := openDB(t, testenv.SQLiteURL(t))
	ctx := context.Background()
	st := newStore(t, db, "bound")
	const q = `SELECT COUNT(*) FROM users WHERE store_id = ?`
	// The cache prepares a statement in the background after its first use.
	for i := 0; ; i++ {
		var s any
		if err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			s, _ = sqlstore.BoundForTest(ctx, tx, q)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if s != nil {
			break
		}
		if i == 2 {
			t.Fatal("the statement was never prepared")
		}
		sqlstore.AwaitPreparesForTest(db)
	}

	// One transaction holds the writer while a second queues behind it: they share a batch.
	release, holding := make(chan struct{}), make(chan struct{})
	var first, second any
	var n1, n2 int
	before := sqlstore.CommitsForTest(db)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			first, n1 = sqlstore.BoundForTest(ctx, tx, q)
			if again, _ := sqlstore.BoundForTest(ctx, tx, q); again != first {
				t.Error("the same statement was bound twice in one transaction")
			}
			close(holding)
			<-release
			return nil
		}); err != nil {
			t.Error(err)
		}
	}()
	<-holding
	go func() {
		defer wg.Done()
		if err := db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			second, n2 = sqlstore.BoundForTest(ctx, tx, q)
			return nil
		}); err != nil {
			t.Error(err)
		}
	}()
	sqlstore.AwaitQueuedForTest(t, db, 1)
	close(release)
	wg.Wait()
	if c := sqlstore.CommitsForTest(db) - before; c != 1 {
		t.Fatalf("%d commits; the two transactions were meant to share one", c)
	}
	if first == nil || second != first {
		t.Errorf("second transaction of the batch used %p (%d bound), the first %p (%d bound)", second, n2, first, n1)
	}
}
