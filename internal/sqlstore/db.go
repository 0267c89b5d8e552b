// Package sqlstore keeps the shop's data in SQLite or PostgreSQL behind one set of repository
// methods. Queries are written once, in the portable subset of SQL, with `?` placeholders that are
// rewritten for PostgreSQL; the few real differences between the two live in small named functions.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"secureshop/internal/shop"
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

// Migrate applies every embedded migration not yet applied. It is idempotent.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
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

// AllStores is the scope of the few platform-wide reads that must see every store's rows (audit
// verification). Everything else runs scoped to one store, or to the platform ("").
const AllStores shop.StoreID = "*"

// Tx is a transaction scoped to one store (or to the platform, when the store is empty).
type Tx struct {
	tx      *sql.Tx   // SQLite
	conn    *sql.Conn // PostgreSQL: the connection the transaction is open on (see runPostgres)
	db      *DB
	store   shop.StoreID
	now     time.Time
	writing bool
	stmts   *stmtCache // nil on PostgreSQL
	// bound: the cached statements bound to tx (see stmt), shared by the transactions of a batch,
	// which are one SQLite transaction.
	bound map[string]*sql.Stmt
	// detached: statements ignore their context's cancellation (a batch's shared transaction).
	detached bool

	catalogChanged bool // a statement changed products or categories

	// PostgreSQL: writes held back (see later) to go out with the next statement or with COMMIT,
	// and the first error one of them met.
	held    []heldWrite
	heldErr error
}

// heldWrite is a statement held back (PostgreSQL), its placeholders rebound, and its arguments.
type heldWrite struct {
	q    string
	args []any
}

// Now is the transaction's timestamp: every row it writes carries the same time.
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a write transaction scoped to store ("" for platform-wide work) and commits
// when fn returns nil; when it returns an error (or panics), nothing fn wrote is kept. On SQLite
// the transactions of concurrent callers share one commit (see batcher); fn must not call Update.
//
// fn gets a context marked as a write transaction's (shop.WithinWriteTransaction): the adapters
// that call out of the shop — the payment gateway, mail — refuse it, so that nothing fn does waits
// on the outside world while the writer is held. fn records intents; callers call out after Update
// returns.
func (db *DB) Update(ctx context.Context, store shop.StoreID, fn func(context.Context, *Tx) error) error {
	var err error
	if db.batch != nil {
		err = db.batch.update(ctx, store, fn)
	} else {
		err = db.run(ctx, db.write, store, true, func(tx *Tx) error { return fn(shop.WithinWriteTransaction(ctx), tx) })
	}
	db.noteWrite(err)
	return err
}

// View runs fn in a read-only transaction scoped to store.
func (db *DB) View(ctx context.Context, store shop.StoreID, fn func(*Tx) error) error {
	return db.run(ctx, db.read, store, false, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, store shop.StoreID, writing bool, fn func(*Tx) error) error {
	if db.dialect == Postgres {
		return db.runPostgres(ctx, store, writing, fn)
	}
	sqltx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", translate(err))
	}
	tx := &Tx{tx: sqltx, db: db, store: store, now: db.Now(), writing: writing, stmts: db.readStmts}
	if writing {
		tx.stmts = db.writeStmts
	}
	if err := fn(tx); err != nil {
		_ = sqltx.Rollback()
		return err
	}
	if err := sqltx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	if tx.catalogChanged {
		db.bumpCatalog(store)
	}
	return nil
}

// errCommitRolledBack: PostgreSQL answered COMMIT with ROLLBACK (a statement had failed).
var errCommitRolledBack = errors.New("commit: the transaction was rolled back")

// runPostgres runs fn in a transaction on one connection of the pool. The transaction and its
// store scope (for the row-level security policies) are opened in one round trip: BEGIN and
// set_config sent together through the simple protocol, in which pgx quotes the argument itself.
// database/sql's Tx would send them one after the other. Should anything leave the transaction
// open (a failed ROLLBACK), the driver refuses the connection when the pool hands it out again.
func (db *DB) runPostgres(ctx context.Context, store shop.StoreID, writing bool, fn func(*Tx) error) (err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", translate(err))
	}
	ended := false
	defer func() {
		if !ended { // fn failed or panicked, or COMMIT failed
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = conn.ExecContext(rctx, "ROLLBACK")
			cancel()
		}
		_ = conn.Close()
	}()
	begin := "BEGIN READ ONLY; SELECT set_config('app.store_id', $1, true)"
	if writing {
		begin = "BEGIN READ WRITE; SELECT set_config('app.store_id', $1, true)"
	}
	if _, err := conn.ExecContext(ctx, begin, pgx.QueryExecModeSimpleProtocol, string(store)); err != nil {
		return fmt.Errorf("begin: %w", translate(err))
	}
	tx := &Tx{conn: conn, db: db, store: store, now: db.Now(), writing: writing}
	if err := fn(tx); err != nil {
		if tx.heldErr != nil { // a held-back write failed, and so did the statement after it
			return tx.heldErr
		}
		return err
	}
	if tx.heldErr != nil {
		return tx.heldErr
	}
	// The held-back writes go with the COMMIT, in one round trip: should one fail, PostgreSQL
	// skips the rest and the COMMIT, and the deferred ROLLBACK ends the transaction.
	held := len(tx.held) > 0
	if err := tx.send(ctx, true); err != nil { // the deferred ROLLBACK ends a transaction COMMIT did not (a cancelled context)
		if held {
			return translate(err)
		}
		return fmt.Errorf("commit: %w", translate(err))
	}
	ended = true
	if tx.catalogChanged {
		db.bumpCatalog(store)
	}
	return nil
}

// querier runs tx's statements: the SQLite transaction, or the PostgreSQL connection it is open on.
func (tx *Tx) querier() interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
} {
	if tx.conn != nil {
		return tx.conn
	}
	return tx.tx
}

// rebind rewrites `?` placeholders as `$1, $2, ...` for PostgreSQL. Queries never contain a
// literal question mark.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	if v, ok := db.rebinds.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	db.rebinds.Store(q, out)
	return out
}

// args hands the store and user ids to PostgreSQL as plain strings: pgx first tries to encode a
// named string type into a uuid column in binary, fails (building an error each time), and only
// then sends it as text. It rewrites args in place (same values, plain type).
func (db *DB) args(args []any) []any {
	if db.dialect != Postgres {
		return args
	}
	for i, a := range args {
		switch v := a.(type) {
		case shop.StoreID:
			args[i] = string(v)
		case shop.UserID:
			args[i] = string(v)
		}
	}
	return args
}

// context is the context tx's statements run under.
func (tx *Tx) context(ctx context.Context) context.Context {
	if tx.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// ErrOtherStore refuses a statement, in a transaction bound to one store, that names another
// store: a bug, loudly refused on both databases (PostgreSQL's row-level security would hide or
// refuse the rows too; SQLite has none, so this is the wall there).
var ErrOtherStore = errors.New("sqlstore: a statement for another store inside a store's transaction")

// scoped checks that every store a statement names is the transaction's own. A transaction for
// the platform ("") or for every store (AllStores) may name any.
func (tx *Tx) scoped(args []any) error {
	if tx.store == "" || tx.store == AllStores {
		return nil
	}
	for _, a := range args {
		if s, ok := a.(shop.StoreID); ok && s != tx.store {
			return fmt.Errorf("%w: %s in %s's", ErrOtherStore, s, tx.store)
		}
	}
	return nil
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := tx.scoped(args); err != nil {
		return nil, err
	}
	ctx = tx.context(ctx)
	tx.notice(q)
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	if s := tx.stmt(ctx, q); s != nil {
		res, err := s.ExecContext(ctx, args...)
		return res, translate(err)
	}
	res, err := tx.querier().ExecContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
	return res, translate(err)
}

// later runs a write whose result is not needed: at once on SQLite (in process, nothing to
// save); on PostgreSQL it is held back and sent with the transaction's next statement or its
// COMMIT, in one round trip. Its error, if any, fails that statement or the commit instead —
// whatever fn does next, the transaction does not commit, and Update returns that error.
func (tx *Tx) later(ctx context.Context, q string, args ...any) error {
	if err := tx.scoped(args); err != nil {
		return err
	}
	if tx.conn == nil {
		_, err := tx.exec(ctx, q, args...)
		return err
	}
	tx.notice(q)
	tx.held = append(tx.held, heldWrite{q: tx.db.rebind(q), args: tx.db.args(args)})
	return nil
}

// flush sends the held-back writes (PostgreSQL) before a statement that may depend on them.
func (tx *Tx) flush(ctx context.Context) error {
	if tx.heldErr != nil || len(tx.held) == 0 {
		return tx.heldErr
	}
	if err := tx.send(ctx, false); err != nil {
		tx.heldErr = translate(err)
	}
	return tx.heldErr
}

// send sends the held-back writes, followed by COMMIT when commit is set, in one round trip:
// pipelined through pgx's batch (database/sql sends one statement and waits for its answer before
// the next), each statement prepared once per connection, as database/sql's own are. In a
// pipeline PostgreSQL skips every statement after a failed one, the COMMIT with them.
func (tx *Tx) send(ctx context.Context, commit bool) error {
	held := tx.held
	tx.held = nil
	return tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		b := &pgx.Batch{}
		for _, h := range held {
			b.Queue(h.q, h.args...)
		}
		if commit {
			b.Queue("COMMIT")
		}
		br := c.Conn().SendBatch(ctx, b)
		for range held {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return err
			}
		}
		if commit {
			tag, err := br.Exec()
			if err == nil && tag.String() != "COMMIT" {
				err = errCommitRolledBack
			}
			if err != nil {
				_ = br.Close()
				return err
			}
		}
		return br.Close()
	})
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := tx.scoped(args); err != nil {
		return nil, err
	}
	ctx = tx.context(ctx)
	tx.notice(q)
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	if s := tx.stmt(ctx, q); s != nil {
		rows, err := s.QueryContext(ctx, args...)
		return rows, translate(err)
	}
	rows, err := tx.querier().QueryContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
	return rows, translate(err)
}

func (tx *Tx) queryRow(ctx context.Context, dest []any, q string, args ...any) error {
	return translate(tx.row(ctx, q, args...).Scan(dest...))
}

// row runs a query that returns at most one row; the caller scans it and translates the error.
func (tx *Tx) row(ctx context.Context, q string, args ...any) oneRow {
	if err := tx.scoped(args); err != nil {
		return oneRow{err: err}
	}
	ctx = tx.context(ctx)
	tx.notice(q)
	_ = tx.flush(ctx) // should it fail, so does this query (the transaction is aborted), and Update returns its error
	if s := tx.stmt(ctx, q); s != nil {
		return oneRow{row: s.QueryRowContext(ctx, args...)}
	}
	return oneRow{row: tx.querier().QueryRowContext(ctx, tx.db.rebind(q), tx.db.args(args)...)}
}

// oneRow is a query's one row, or the error that kept the query from running.
type oneRow struct {
	row *sql.Row
	err error
}

// Scan copies the row's columns into dest, as sql.Row's Scan does.
func (r oneRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// ErrUnavailable answers every query while the database does not: a clear 503, never a 500.
var ErrUnavailable = &shop.Error{Kind: shop.KindUnavailable, Message: "The shop's database is not answering; try again in a moment."}

// ErrStorageFull answers a write the database refused for want of room (a full disk, SQLite's
// SQLITE_FULL or PostgreSQL's 53100): a 503 with Retry-After, nothing written, never a 500.
var ErrStorageFull = &shop.Error{Kind: shop.KindUnavailable, Code: shop.CodeStorageFull, RetryAfter: 30 * time.Second,
	Message: "The shop cannot store anything right now: its disk is full. Nothing was changed; try again later."}

// unreachable reports whether err means the database cannot be reached (down, restarting, or the
// connection was cut), as opposed to a query that failed.
func unreachable(err error) bool {
	var ne net.Error
	var pg *pgconn.PgError
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &ne), errors.As(err, &ce), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &pg):
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P") // connection exception, operator intervention
	}
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "conn closed")
}

// translate turns each database's "unique violation" and "no rows" into the shared sentinels, and
// a lost database into ErrUnavailable.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return shop.ErrNoRows
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%w: %s: %w", shop.ErrDuplicate, pg.ConstraintName, err)
	}
	if errors.As(err, &pg) && pg.Code == "23514" && pg.ConstraintName == "products_stock_check" {
		return ErrInsufficientStock // a sale held back to the commit (TakeStock)
	}
	if errors.As(err, &pg) && (pg.Code == "53100" || pg.Code == "53000") { // disk_full, insufficient_resources
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	var sq *sqlite.Error
	if errors.As(err, &sq) {
		switch sq.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", shop.ErrDuplicate, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %w", ErrStorageFull, err)
		}
	}
	return err
}

// ts is how a time goes into a query: RFC 3339 in UTC with fixed microseconds, which sorts as text
// in SQLite and parses as timestamptz in PostgreSQL.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// nullTS is ts for an optional time.
func nullTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// dbTime scans a time column from either database (time.Time from PostgreSQL, text from SQLite).
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = x.UTC(), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	d.T, d.Valid = t.UTC(), true
	return nil
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

// timeCol scans a time column into t, as dbTime does.
func timeCol(t *time.Time) sql.Scanner { return (*timeInto)(t) }

type timeInto time.Time

func (d *timeInto) Scan(v any) error {
	var t dbTime
	if err := t.Scan(v); err != nil {
		return err
	}
	*d = timeInto(t.T)
	return nil
}

// nullStr stores "" as NULL, for optional foreign keys.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
