package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointEvery is how long the checkpointer lets commits gather before it copies them back;
// writerCheckpointPages is the size of log past which the writer checkpoints itself (see below).
const (
	checkpointEvery       = 200 * time.Millisecond
	writerCheckpointPages = 4000
)

// checkpointer copies SQLite's write-ahead log back into the database file in the background.
// SQLite does it by default in the connection that commits, once the log passes 1 000 pages: in
// the one writer, which then spends the checkpoint's writes and its two fsyncs (milliseconds each
// on a disk) while every write transaction waits behind it — a tenth of the writer's time under
// the checkout load. Instead this goroutine runs a PASSIVE checkpoint on a reader connection a
// moment after commits: PASSIVE waits for no one, the writer goes on appending to the log
// meanwhile, and readers keep reading. Only the writer can start the log again from its beginning,
// and only when a checkpoint has copied all of it, which under a steady stream of writes a
// checkpoint running beside them never quite does; so the writer still checkpoints itself, past
// 4 000 pages rather than 1 000, with little left to copy by then. Durability is unchanged (the
// log is what a commit writes; checkpoints only move pages on).
type checkpointer struct {
	pool   *sql.DB
	nudges chan struct{}
	quit   chan struct{}
	once   sync.Once
	done   sync.WaitGroup
}

func newCheckpointer(pool *sql.DB) *checkpointer {
	c := &checkpointer{pool: pool, nudges: make(chan struct{}, 1), quit: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c
}

// nudge tells the checkpointer that something was committed. It never blocks.
func (c *checkpointer) nudge() {
	select {
	case c.nudges <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-c.quit:
			return
		case <-c.nudges:
		}
		t.Reset(checkpointEvery) // let the commits of the next moments join this checkpoint
		select {
		case <-c.quit:
			t.Stop()
			return
		case <-t.C:
		}
		// A checkpoint that fails (the database closing, say) is retried after the next commit;
		// the log only grows meanwhile, and SQLite checkpoints it when the last connection closes.
		_, _ = c.pool.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// close stops the checkpointer; a checkpoint under way finishes first.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.quit) })
	c.done.Wait()
}
