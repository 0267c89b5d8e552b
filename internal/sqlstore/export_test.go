package sqlstore

import (
	"context"
	"testing"
	"time"
)

// ExecForTest runs a raw statement in tx, as application code would.
func ExecForTest(ctx context.Context, tx *Tx, q string, args ...any) error {
	_, err := tx.exec(ctx, q, args...)
	return err
}

// TamperForTest runs q with the append-only triggers out of the way, as someone with the
// database owner's rights could.
func TamperForTest(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	off, on := []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`}, []string{`ALTER TABLE audit_events ENABLE TRIGGER USER`}
	if db.dialect == SQLite {
		off, on = []string{`DROP TRIGGER IF EXISTS audit_events_no_update`, `DROP TRIGGER IF EXISTS audit_events_no_delete`}, nil
	}
	for _, s := range off {
		if _, err := db.write.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.write.ExecContext(ctx, db.rebind(q), args...); err != nil {
		t.Fatal(err)
	}
	for _, s := range on {
		if _, err := db.write.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

// CountForTest runs a raw counting query in tx, as a careless repository method would.
func CountForTest(ctx context.Context, tx *Tx, q string) (int, error) {
	var n int
	err := tx.queryRow(ctx, []any{&n}, q)
	return n, err
}

// PreparedForTest reports how many statements the SQLite read and write caches hold ready.
func PreparedForTest(db *DB) (read, write int) {
	count := func(c *stmtCache) int {
		if c == nil {
			return 0
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.ready)
	}
	return count(db.readStmts), count(db.writeStmts)
}

// AwaitPreparesForTest waits for the statements being prepared in the background to be ready.
func AwaitPreparesForTest(db *DB) {
	for _, c := range []*stmtCache{db.readStmts, db.writeStmts} {
		if c != nil {
			c.busy.Wait()
		}
	}
}

// MaxBatch is how many write transactions share one SQLite commit at most.
const MaxBatch = maxBatch

// CommitsForTest reports how many commits SQLite's group commit has issued.
func CommitsForTest(db *DB) int64 {
	if db.batch == nil {
		return 0
	}
	return db.batch.commits.Load()
}

// AwaitQueuedForTest waits until n write transactions wait for SQLite's writer to take them. On
// PostgreSQL, where each transaction has a connection of its own, nothing queues here.
func AwaitQueuedForTest(t *testing.T, db *DB, n int64) {
	t.Helper()
	if db.batch == nil {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); db.batch.queued.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", db.batch.queued.Load(), n)
		}
	}
}

// MigrateToForTest moves the schema up or down to version.
func MigrateToForTest(ctx context.Context, db *DB, version int64) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	now, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if version < now {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	return err
}

// BoundForTest returns the statement tx runs q with (nil when q runs unprepared) and how many
// cached statements are bound to tx's SQLite transaction.
func BoundForTest(ctx context.Context, tx *Tx, q string) (any, int) {
	s := tx.stmt(ctx, q)
	if s == nil {
		return nil, len(tx.bound)
	}
	return s, len(tx.bound)
}

// ScanForTest runs a raw query returning one row in tx and scans it into dest.
func ScanForTest(ctx context.Context, tx *Tx, q string, dest ...any) error {
	return tx.queryRow(ctx, dest, q)
}
