package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// A write that met a full disk makes the database unwritable, as Writable reports it, until a
// write goes through again or fullFor has passed (then the next writes find out again): a load
// balancer asking /readyz stops sending work here meanwhile, and comes back by itself.
const (
	fullFor = 10 * time.Second
	// minRoom is the free room below which a SQLite database counts as unwritable: its write-ahead
	// log grows by the pages each commit writes until a checkpoint copies them back.
	minRoom = 16 << 20
)

func (db *DB) noteWrite(err error) {
	switch {
	case err == nil:
		if db.full.Load() != 0 {
			db.full.Store(0)
		}
	case errors.Is(err, ErrStorageFull):
		db.full.Store(db.now().UnixNano())
	}
}

// Writable reports whether the database can take writes: not when a write met a full disk a moment
// ago, nor (SQLite) when its disk has less than minRoom free.
func (db *DB) Writable(_ context.Context) error {
	if at := db.full.Load(); at != 0 && db.now().Sub(time.Unix(0, at)) < fullFor {
		return fmt.Errorf("database unwritable: %w", ErrStorageFull)
	}
	if db.dialect == SQLite {
		var st unix.Statfs_t
		if err := unix.Statfs(filepath.Dir(db.path), &st); err == nil && st.Bavail*uint64(st.Bsize) < minRoom { // #nosec G115 -- a block size is positive
			return fmt.Errorf("database unwritable: %d bytes free: %w", st.Bavail*uint64(st.Bsize), ErrStorageFull) // #nosec G115 -- as above
		}
	}
	return nil
}

// SetMaxSize bounds a SQLite database's size to about limit bytes (PRAGMA max_page_count on its one
// writer); writes that would grow it further are refused with ErrStorageFull, as on a full disk.
// It returns the bound in bytes. A no-op on PostgreSQL.
func (db *DB) SetMaxSize(ctx context.Context, limit int64) (int64, error) {
	if db.dialect != SQLite {
		return 0, nil
	}
	var size int64
	if err := db.write.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	var pages int64
	err := db.write.QueryRowContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", max(limit/size, 1))).Scan(&pages) // #nosec G202 -- a number
	return pages * size, err
}
