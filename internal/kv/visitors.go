package kv

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"secureshop/internal/shop"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Visitors' carts — a browser not signed in fills one, kept under the hash of its cookie's token —
// are small (product id → quantity, nothing else), end after VisitorIdle without use, and in this
// process are at most MaxVisitorCarts, the least recently used going first: a client that sends
// add-to-cart without its cookie again and again makes a new one each time, and could otherwise
// fill the memory. In Redis each expires on its own after VisitorIdle.
const (
	VisitorIdle     = 4 * time.Hour
	MaxVisitorCarts = 20_000
)

// errCartFull refuses a visitor's cart of more lines than a cart holds (the orders service
// refuses it first; this keeps what is stored bounded whoever calls).
var errCartFull = errors.New("kv: cart holds too many products")

// MemoryCarts keeps visitors' carts in this process. It is safe for concurrent use.
type MemoryCarts struct {
	mu    sync.Mutex
	max   int
	idle  time.Duration
	byID  map[string]*list.Element
	order *list.List // least recently used at the back
}

type visitorCart struct {
	id   string
	cart map[string]int
	seen time.Time
}

// NewMemoryCarts returns an empty store of at most max carts (MaxVisitorCarts when max is 0).
func NewMemoryCarts(max int) *MemoryCarts {
	if max <= 0 {
		max = MaxVisitorCarts
	}
	return &MemoryCarts{max: max, idle: VisitorIdle, byID: map[string]*list.Element{}, order: list.New()}
}

// VisitorCart returns the cart under id, and marks it used; nil when there is none (or it idled out).
func (m *MemoryCarts) VisitorCart(_ context.Context, id string, now time.Time) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[id]
	if !ok {
		return nil, nil
	}
	c := e.Value.(*visitorCart)
	if now.Sub(c.seen) > m.idle {
		m.remove(e)
		return nil, nil
	}
	c.seen = now
	m.order.MoveToFront(e)
	return copyCart(c.cart), nil
}

// SetVisitorCart replaces the cart under id, making room for it when the store is full.
func (m *MemoryCarts) SetVisitorCart(_ context.Context, id string, cart map[string]int, now time.Time) error {
	if len(cart) > shop.MaxCartLines {
		return errCartFull
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byID[id]; ok {
		c := e.Value.(*visitorCart)
		c.cart, c.seen = copyCart(cart), now
		m.order.MoveToFront(e)
		return nil
	}
	for m.order.Len() >= m.max {
		m.remove(m.order.Back())
	}
	m.byID[id] = m.order.PushFront(&visitorCart{id: id, cart: copyCart(cart), seen: now})
	return nil
}

// DropVisitorCart forgets the cart under id (it moved into a customer's at sign-in).
func (m *MemoryCarts) DropVisitorCart(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byID[id]; ok {
		m.remove(e)
	}
	return nil
}

// Len is how many carts are kept.
func (m *MemoryCarts) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

func (m *MemoryCarts) remove(e *list.Element) {
	delete(m.byID, e.Value.(*visitorCart).id)
	m.order.Remove(e)
}

func copyCart(c map[string]int) map[string]int {
	if c == nil {
		return nil
	}
	out := make(map[string]int, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// VisitorCart returns the cart under id from Redis and keeps it another VisitorIdle; nil for none.
func (r *Redis) VisitorCart(ctx context.Context, id string, _ time.Time) (map[string]int, error) {
	b, err := r.rdb.GetEx(ctx, r.k("v", id), VisitorIdle).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cart map[string]int
	if err := json.Unmarshal(b, &cart); err != nil {
		return nil, nil // unreadable: as good as none
	}
	return cart, nil
}

// SetVisitorCart replaces the cart under id, for VisitorIdle.
func (r *Redis) SetVisitorCart(ctx context.Context, id string, cart map[string]int, _ time.Time) error {
	if len(cart) > shop.MaxCartLines {
		return errCartFull
	}
	b, err := json.Marshal(cart)
	if err != nil {
		return err
	}
	return r.rdb.Set(ctx, r.k("v", id), b, VisitorIdle).Err()
}

// DropVisitorCart forgets the cart under id.
func (r *Redis) DropVisitorCart(ctx context.Context, id string) error {
	return r.rdb.Del(ctx, r.k("v", id)).Err()
}
