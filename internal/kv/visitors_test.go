package kv

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMemoryCarts_BoundedAndEndingWhenIdle: a client making a new cart with every request (no
// cookie) fills the store to its bound and no further, the least recently used going first; a cart
// unused for VisitorIdle is gone.
func TestMemoryCarts_BoundedAndEndingWhenIdle(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryCarts(100)
	t0 := time.Now()
	if err := m.SetVisitorCart(ctx, "keep", map[string]int{"p": 1}, t0); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if i%50 == 0 { // the visitor who keeps shopping stays
			if c, _ := m.VisitorCart(ctx, "keep", t0.Add(time.Duration(i)*time.Millisecond)); c == nil {
				t.Fatalf("an active visitor's cart went after %d others", i)
			}
		}
		_ = m.SetVisitorCart(ctx, fmt.Sprint("flood-", i), map[string]int{"p": 1}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := m.Len(); n != 100 {
		t.Fatalf("%d carts kept, want the bound of 100", n)
	}
	if c, _ := m.VisitorCart(ctx, "flood-0", t0.Add(time.Second)); c != nil {
		t.Fatal("the least recently used cart was kept past the bound")
	}
	if c, _ := m.VisitorCart(ctx, "flood-999", t0.Add(time.Second+VisitorIdle+time.Minute)); c != nil {
		t.Fatal("a cart unused for longer than VisitorIdle")
	}
}
