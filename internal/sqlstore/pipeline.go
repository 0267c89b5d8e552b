package sqlstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
)

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
	tx.held = append(tx.held, heldWrite{q: tx.db.rebind(q), args: tx.db.args(args)})
	return nil
}

// atCommit holds a write back (PostgreSQL) to go last, after every other held-back write, just
// before the COMMIT: for a row every transaction of a store waits for (the counter that numbers
// its orders), locked for no more than the COMMIT.
// Its one row (RETURNING) is scanned into dest as the COMMIT's answer comes.
func (tx *Tx) atCommit(ctx context.Context, dest []any, q string, args ...any) error {
	if err := tx.scoped(args); err != nil {
		return err
	}
	if tx.conn == nil {
		return tx.queryRow(ctx, dest, q, args...)
	}
	tx.last = append(tx.last, heldWrite{q: tx.db.rebind(q), args: tx.db.args(args), dest: dest})
	return nil
}

// flush sends the held-back writes (PostgreSQL), and the BEGIN when it has not gone yet, before a
// statement that may depend on them.
func (tx *Tx) flush(ctx context.Context) error {
	if tx.heldErr != nil || (len(tx.held) == 0 && tx.begun) || tx.conn == nil {
		return tx.heldErr
	}
	if err := tx.send(ctx, false); err != nil {
		tx.heldErr = translate(err)
	}
	return tx.heldErr
}

// send sends the held-back writes, followed by COMMIT when commit is set, in one round trip:
// pipelined through pgx's batch (database/sql sends one statement and waits for its answer before
// the next), each statement prepared once per connection, as database/sql's own are. The
// transaction's BEGIN and its store scope go first when they have not gone yet. In a pipeline
// PostgreSQL skips every statement after a failed one, the COMMIT with them.
func (tx *Tx) send(ctx context.Context, commit bool) error {
	held := tx.held
	tx.held = nil
	if commit {
		held, tx.last = append(held, tx.last...), nil
	}
	if !tx.begun {
		held = append([]heldWrite{{q: tx.begin}, {q: "SELECT set_config('app.store_id', $1, true)", args: []any{string(tx.store)}}}, held...)
		tx.begun = true
	}
	tx.db.trips.Add(1)
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
		for _, h := range held {
			var err error
			if h.dest != nil {
				err = br.QueryRow().Scan(h.dest...)
			} else {
				_, err = br.Exec()
			}
			if err != nil {
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
