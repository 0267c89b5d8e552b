package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// The job queue (package jobs, River) keeps its tables in the shop's database, so that a job is
// written in the transaction of the change it follows from, and migrates them with the shop's.

// Pool is the connection pool the job queue shares: on SQLite the one writer (the queue's fetches
// and completions are short write transactions among the shop's; the work is done outside them),
// on PostgreSQL the shop's pool.
func (db *DB) Pool() *sql.DB { return db.write }

// migrateQueue applies River's own migrations (each in a transaction of its own: one may add a
// value to a type that the next uses). On PostgreSQL, through a small pool of its own, while it
// holds a lock that another instance migrating at the same moment waits for.
func (db *DB) migrateQueue(ctx context.Context) error {
	cfg := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	var err error
	if db.dialect == Postgres {
		err = db.migrateQueuePostgres(ctx, cfg)
	} else {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(db.write), cfg); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("migrate the job queue: %w", err)
	}
	return nil
}

func (db *DB) migrateQueuePostgres(ctx context.Context, cfg *rivermigrate.Config) error {
	pc, err := pgxpool.ParseConfig(db.url)
	if err != nil {
		return err
	}
	pc.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer pool.Close()
	lock, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer lock.Release()
	const key = 7316402
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return err
	}
	defer func() { _, _ = lock.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()
	m, err := rivermigrate.New(riverpgxv5.New(pool), cfg)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// InTransaction runs fn with tx's transaction as the job queue's drivers take it, so that what fn
// writes commits or rolls back with the rest of tx: on SQLite the *sql.Tx (pg is nil), on
// PostgreSQL the connection the transaction is open on, as a pgx.Tx that cannot end it (lite is
// nil). The writes tx held back go first.
func (tx *Tx) InTransaction(ctx context.Context, fn func(lite *sql.Tx, pg pgx.Tx) error) error {
	if !tx.writing {
		return errors.New("sqlstore: a job is written in a write transaction")
	}
	if tx.conn == nil {
		return fn(tx.tx, nil)
	}
	if err := tx.flush(ctx); err != nil {
		return err
	}
	return tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return fn(nil, openTx{c.Conn()})
	})
}

// openTx is a pgx.Tx over a connection whose transaction runPostgres opened and will end: its
// statements run in that transaction; it cannot commit, roll back or nest.
type openTx struct{ c *pgx.Conn }

var errOpenTx = errors.New("sqlstore: the transaction is the shop's to end")

func (t openTx) Begin(context.Context) (pgx.Tx, error) { return nil, errOpenTx }
func (t openTx) Commit(context.Context) error          { return errOpenTx }
func (t openTx) Rollback(context.Context) error        { return errOpenTx }
func (t openTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, cols, src)
}
func (t openTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}
func (t openTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (t openTx) Prepare(ctx context.Context, name, q string) (*pgconn.StatementDescription, error) {
	return t.c.Prepare(ctx, name, q)
}
func (t openTx) Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, q, args...)
}
func (t openTx) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, q, args...)
}
func (t openTx) QueryRow(ctx context.Context, q string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, q, args...)
}
func (t openTx) Conn() *pgx.Conn { return t.c }

// JobCounts counts the job queue's jobs by state (available, running, retryable, discarded, …),
// on the read pool.
func (db *DB) JobCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := db.View(ctx, AllStores, func(tx *Tx) error {
		rows, err := tx.query(ctx, "SELECT state, count(*) FROM river_job GROUP BY state")
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				return err
			}
			out[state] = n
		}
		return rows.Err()
	})
	return out, err
}
