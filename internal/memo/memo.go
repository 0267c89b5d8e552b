// Package memo keeps computed values — catalogue listings, rendered fragments — for as long as
// the data they came from is unchanged, and never longer than a time-to-live.
//
// The caller supplies a generation: a number that moves whenever the underlying data changes in
// this process (see sqlstore.DB.CatalogGeneration). An entry is served only while its generation
// is current and its time-to-live has not run out; the time-to-live bounds how long a change made
// by another process (several servers on one database) can stay unseen. The caller must read the
// generation before it reads the data, so that a change racing with the read leaves an entry that
// is already stale rather than one that is wrong.
//
// When an entry's time-to-live runs out (its generation still current), the first caller is told
// to compute it again while the others keep getting the old value until it is put — for at most
// another time-to-live — so that a popular entry's expiry does not send every concurrent request
// to the database at once. A change made in this process moves the generation and is never served
// stale; one made by another process shows after at most twice the time-to-live.
package memo

import (
	"sync"
	"time"
)

// Cache maps keys to values. The zero value is not usable; use New.
type Cache[V any] struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]entry[V]
}

type entry[V any] struct {
	val        V
	gen        uint64
	until      time.Time
	refreshing bool // a caller was told to compute it again after until
}

// New returns a cache whose entries live at most ttl, holding at most max of them: when full it
// is emptied, so that keys chosen by clients (search words, cursors) cannot make it grow.
func New[V any](ttl time.Duration, max int) *Cache[V] {
	return &Cache[V]{ttl: ttl, max: max, m: map[string]entry[V]{}}
}

// Get returns the value of key if it was put at generation gen and has not expired at now. An
// expired entry of the current generation is still returned while another caller, told first,
// computes its replacement (until one more time-to-live has passed).
func (c *Cache[V]) Get(key string, gen uint64, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	var zero V
	switch {
	case !ok || e.gen != gen:
		return zero, false
	case now.Before(e.until):
		return e.val, true
	case e.refreshing && now.Before(e.until.Add(c.ttl)):
		return e.val, true
	case e.refreshing:
		return zero, false // the refresh never came: everyone computes
	}
	e.refreshing = true
	c.m[key] = e
	return zero, false
}

// Put stores v for key, computed from data at generation gen, at time now.
func (c *Cache[V]) Put(key string, gen uint64, now time.Time, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = entry[V]{val: v, gen: gen, until: now.Add(c.ttl)}
}
