package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"secureshop/internal/sqlstore"
)

// TestCheckpointInBackground: the one writer no longer copies SQLite's log back into the database
// file itself (not before 4 000 pages); the checkpointer does, a moment after a commit, with no
// further commit needed. Seen from outside: the database file alone, without its log, holds a
// store created a moment ago.
func TestCheckpointInBackground(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.db")
	db, err := sqlstore.Open(ctx, "sqlite:"+path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, db, "checkpointed") // one small commit, far below 4 000 pages of log

	inFile := func() bool {
		b, err := os.ReadFile(path) // #nosec G304 -- the test's own file
		if err != nil {
			t.Fatal(err)
		}
		copyDir := t.TempDir()
		if err := os.WriteFile(filepath.Join(copyDir, "copy.db"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := sql.Open("sqlite", "file:"+filepath.Join(copyDir, "copy.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		var n int
		if err := c.QueryRow(`SELECT COUNT(*) FROM stores WHERE id = ?`, string(s.ID)).Scan(&n); err != nil {
			return false // caught in the middle of a checkpoint's writes: look again
		}
		return n == 1
	}
	deadline := time.Now().Add(5 * time.Second)
	for !inFile() {
		if time.Now().After(deadline) {
			t.Fatal("the commit has not reached the database file 5 s later: nothing checkpointed the log")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
