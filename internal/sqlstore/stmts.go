package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"

	"secureshop/internal/shop"
)

// maxStatements bounds a statement cache. The shop's queries are a fixed set of texts (values are
// always bound, never spliced in), well under this.
const maxStatements = 512

// stmtCache keeps prepared statements of one SQLite pool by query text, so that a hot query is
// compiled once per connection rather than on every call (PostgreSQL's driver caches its own).
// database/sql keeps each statement prepared on every connection that used it, and Tx.StmtContext
// reuses it on the transaction's connection.
//
// A statement is prepared in the background after its first use: preparing on the pool needs a
// free connection, which a transaction that already holds the only writer could wait for forever.
// Until it is ready the query runs unprepared, as it would without the cache.
type stmtCache struct {
	pool    *sql.DB
	mu      sync.Mutex
	ready   map[string]*sql.Stmt
	waiting map[string]bool // being prepared, or failed to prepare (never retried)
	closed  bool
	busy    sync.WaitGroup // background prepares in flight
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, ready: map[string]*sql.Stmt{}, waiting: map[string]bool{}}
}

// get returns the prepared statement for q, or nil (and starts preparing it) when there is none yet.
func (c *stmtCache) get(q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.ready[q]; s != nil {
		return s
	}
	if !c.closed && !c.waiting[q] && len(c.ready)+len(c.waiting) < maxStatements {
		c.waiting[q] = true
		c.busy.Add(1)
		go c.prepare(q)
	}
	return nil
}

func (c *stmtCache) prepare(q string) {
	defer c.busy.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.pool.PrepareContext(ctx, q)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		return // stays in waiting: this text runs unprepared from now on
	}
	if c.closed {
		_ = s.Close()
		return
	}
	delete(c.waiting, q)
	c.ready[q] = s
}

// close waits for the prepares in flight and releases every prepared statement, so that no
// connection is still busy (and no checkpoint still running) once the pool is closed.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.busy.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.ready {
		_ = s.Close()
		delete(c.ready, q)
	}
}

// stmt returns q prepared on tx's connection, or nil to run q unprepared. The statement bound to
// the SQLite transaction is kept for the transaction's next use of q (a batch's transactions share
// theirs): binding one is not free — database/sql makes a new Stmt and registers it in maps.
func (tx *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if b := tx.bound[q]; b != nil {
		return b
	}
	s := tx.stmts.get(q)
	if s == nil {
		return nil
	}
	b := tx.tx.StmtContext(ctx, s)
	if tx.bound == nil {
		tx.bound = map[string]*sql.Stmt{}
	}
	tx.bound[q] = b
	return b
}

// CatalogGeneration counts the committed transactions of this process that changed store's
// products or categories; a cache of its listings is current while the number is unchanged.
// A transaction not scoped to one store changes every store's generation.
func (db *DB) CatalogGeneration(store shop.StoreID) uint64 {
	n := db.catalogAll.Load()
	if g, ok := db.catalogGens.Load(store); ok {
		n += g.(*atomic.Uint64).Load()
	}
	return n
}

func (db *DB) bumpCatalog(store shop.StoreID) {
	if store == "" || store == AllStores {
		db.catalogAll.Add(1)
		return
	}
	g, _ := db.catalogGens.LoadOrStore(store, new(atomic.Uint64))
	g.(*atomic.Uint64).Add(1)
}

// changesCatalog marks a transaction that writes products or categories: when it commits, the
// store's catalogue generation moves on, and every cached listing of the store is stale. Every
// method that writes those tables calls it.
func (tx *Tx) changesCatalog() { tx.catalogChanged = true }

// ReleaseMemory asks SQLite to hand back the page cache of the writer's connection, which start-up
// work (migrations, the demo catalogue) fills; PostgreSQL keeps its memory in the server.
func (db *DB) ReleaseMemory(ctx context.Context) {
	if db.dialect == SQLite {
		_, _ = db.write.ExecContext(ctx, "PRAGMA shrink_memory")
	}
}
