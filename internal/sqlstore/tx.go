package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"secureshop/internal/shop"
)

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
	// last: writes held back to go after every other, just before the COMMIT (see atCommit).
	last []heldWrite
	// begin: PostgreSQL's BEGIN, until it is sent with the transaction's first round trip
	// (see runPostgres); begun once it was.
	begin string
	begun bool
}

// heldWrite is a statement held back (PostgreSQL), its placeholders rebound, and its arguments.
type heldWrite struct {
	q    string
	args []any
	dest []any // where the statement's one row goes (RETURNING), when it has one
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
// store scope (for the row-level security policies) open with the transaction's first round trip:
// BEGIN and set_config go with the writes held back before the first statement that answers (see
// begin), or with the COMMIT, so that a transaction that only writes is one round trip, and one
// that does nothing is none. database/sql's Tx would send each on its own. Should anything leave
// the transaction open (a failed ROLLBACK), the driver refuses the connection when the pool hands
// it out again.
func (db *DB) runPostgres(ctx context.Context, store shop.StoreID, writing bool, fn func(*Tx) error) (err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", translate(err))
	}
	tx := &Tx{conn: conn, db: db, store: store, now: db.Now(), writing: writing, begin: "BEGIN READ ONLY"}
	if writing {
		tx.begin = "BEGIN READ WRITE"
	}
	ended := false
	defer func() {
		if !ended && tx.begun { // fn failed or panicked, or COMMIT failed
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = conn.ExecContext(rctx, "ROLLBACK")
			cancel()
		}
		_ = conn.Close()
	}()
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
	held := len(tx.held)+len(tx.last) > 0
	if !held && !tx.begun { // nothing was read or written: there is no transaction to end
		ended = true
		return nil
	}
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

// ready makes a statement ready to run in tx: it refuses another store's arguments, sends the
// writes held back for PostgreSQL, and returns the context to run it in and the statement
// prepared for q (nil: run q as text, rebound for the database).
func (tx *Tx) ready(ctx context.Context, q string, args []any) (context.Context, *sql.Stmt, error) {
	if err := tx.scoped(args); err != nil {
		return ctx, nil, err
	}
	ctx = tx.context(ctx)
	if err := tx.flush(ctx); err != nil {
		return ctx, nil, err
	}
	if tx.conn != nil {
		tx.db.trips.Add(1)
	}
	return ctx, tx.stmt(ctx, q), nil
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx, s, err := tx.ready(ctx, q, args)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	if s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = tx.querier().ExecContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
	}
	return res, translate(err)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx, s, err := tx.ready(ctx, q, args)
	if err != nil {
		return nil, err
	}
	var rows *sql.Rows
	if s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = tx.querier().QueryContext(ctx, tx.db.rebind(q), tx.db.args(args)...)
	}
	return rows, translate(err)
}

func (tx *Tx) queryRow(ctx context.Context, dest []any, q string, args ...any) error {
	return translate(tx.row(ctx, q, args...).Scan(dest...))
}

// row runs a query that returns at most one row; the caller scans it and translates the error.
func (tx *Tx) row(ctx context.Context, q string, args ...any) oneRow {
	ctx, s, err := tx.ready(ctx, q, args)
	if err != nil {
		return oneRow{err: err}
	}
	if s != nil {
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
