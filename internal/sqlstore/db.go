// Package sqlstore keeps the shop's records (package shop) in SQLite or PostgreSQL behind one set
// of repository methods on a transaction bound to one store. Queries are written once, in the
// portable subset of SQL, with `?` placeholders that are rewritten for PostgreSQL; the few real
// differences between the two live in small named functions. It holds no business rule: what may
// happen is decided by the services, and the database's constraints are the second wall.
//
// Files by idea: db.go opens and migrates; tx.go runs transactions (Update, View) and binds them
// to their store; batch.go is SQLite's group commit; pipeline.go holds PostgreSQL writes back to
// send them with the commit; errors.go translates each database's errors; values.go is how times
// and optional values go in and out; then one file per kind of record.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// also registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database behind a DB.
type Dialect string

// The two supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open shop database. SQLite gets a read pool and a single-connection write pool (it has
// one writer); PostgreSQL uses one pool for both.
type DB struct {
	dialect Dialect
	url     string // PostgreSQL: where it is, for the job queue's migrations (pool of their own)
	read    *sql.DB
	write   *sql.DB
	now     func() time.Time
	rebinds sync.Map // query text → PostgreSQL form

	readStmts, writeStmts *stmtCache    // SQLite only
	batch                 *batcher      // SQLite only: group commit of write transactions
	checkpoints           *checkpointer // SQLite only
	catalogGens           sync.Map      // store → *atomic.Uint64, see CatalogGeneration
	catalogAll            atomic.Uint64
	full                  atomic.Int64 // when a write last met a full disk (Unix nanoseconds), 0 after a write went through
	path                  string       // SQLite: the database file
	trips                 atomic.Int64 // PostgreSQL: round trips of the shop's transactions (see RoundTrips)
}

// Options tune Open.
type Options struct {
	MaxOpenConns int              // PostgreSQL pool size (default 16); SQLite readers (default 4)
	Now          func() time.Time // clock, injectable for tests
}

// Open connects to url: "sqlite:PATH" or "postgres://...". It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	db := &DB{now: opt.Now}
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		db.dialect = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
		db.path = path
		if path == "" {
			return nil, errors.New("sqlite: empty path")
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("sqlite: create directory: %w", err)
			}
		}
		// The file holds password hashes and personal data: create it readable by its owner only.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- the path is the operator's own configuration
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		_ = f.Close()
		common := "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_pragma=temp_store(MEMORY)"
		// The checkpointer copies the log back in the background (checkpoint.go); the writer does it
		// itself only past writerCheckpointPages, where a busy log that never comes to rest is reset.
		writer := fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_txlock=immediate", writerCheckpointPages)
		if db.write, err = sql.Open("sqlite", "file:"+path+"?"+common+writer); err != nil {
			return nil, err
		}
		db.write.SetMaxOpenConns(1)
		db.write.SetConnMaxIdleTime(0)
		readers := opt.MaxOpenConns
		if readers <= 0 {
			readers = 4
		}
		if db.read, err = sql.Open("sqlite", "file:"+path+"?"+common+"&_pragma=query_only(1)"); err != nil {
			return nil, err
		}
		db.read.SetMaxOpenConns(readers)
		db.read.SetMaxIdleConns(readers)
		db.readStmts, db.writeStmts = newStmtCache(db.read), newStmtCache(db.write)
		db.checkpoints = newCheckpointer(db.read)
		db.batch = newBatcher(db)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db.dialect = Postgres
		if _, err := url.Parse(rawURL); err != nil {
			return nil, errors.New("postgres: malformed URL")
		}
		db.url = rawURL
		pool, err := sql.Open("pgx", rawURL)
		if err != nil {
			return nil, err
		}
		n := opt.MaxOpenConns
		if n <= 0 {
			n = 16
		}
		pool.SetMaxOpenConns(n)
		pool.SetMaxIdleConns(n)
		pool.SetConnMaxLifetime(30 * time.Minute)
		db.read, db.write = pool, pool
	default:
		return nil, errors.New("database URL must start with sqlite: or postgres://")
	}
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// RoundTrips counts the round trips the shop's transactions made to PostgreSQL (each statement
// that answers, each pipeline of held-back writes), for metrics: what a request costs the
// database beyond its statements. Zero on SQLite, which is in process.
func (db *DB) RoundTrips() int64 { return db.trips.Load() }

// Stats reports the connection pools, for metrics: the write pool, and the read pool when it is another.
func (db *DB) Stats() map[string]*sql.DB {
	if db.read == db.write {
		return map[string]*sql.DB{"shop": db.write}
	}
	return map[string]*sql.DB{"shop_write": db.write, "shop_read": db.read}
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Now is the database's clock, truncated to the microsecond both databases keep.
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	return nil
}

// Close closes the pools.
func (db *DB) Close() error {
	if db.batch != nil {
		db.batch.close()
		db.checkpoints.close()
	}
	db.readStmts.close()
	db.writeStmts.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Migrate applies every embedded migration not yet applied, the job queue's with them. It is
// idempotent.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return db.migrateQueue(ctx)
}

// migrator is goose over this database's embedded migrations.
func (db *DB) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if db.dialect == Postgres {
		d = goose.DialectPostgres
	}
	return goose.NewProvider(d, db.write, sub)
}
