package kv

import (
	"context"
	"errors"
	"testing"
	"time"

	"secureshop/internal/shop"
)

func TestMemorySessions_RefreshReuseEndsSession(t *testing.T) {
	ctx := context.Background()
	m := NewMemorySessions()
	now := time.Now()
	s := shop.Session{ID: "s1", UserID: "u1", RefreshHash: "r1", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := m.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := m.RotateRefresh(ctx, "r1", "r2")
	if err != nil || got.RefreshHash != "r2" {
		t.Fatalf("first rotation: %+v %v", got, err)
	}
	if _, err := m.RotateRefresh(ctx, "r1", "r3"); !errors.Is(err, ErrRefreshReuse) {
		t.Fatalf("reuse of r1: %v, want ErrRefreshReuse", err)
	}
	if _, err := m.Get(ctx, "s1"); !errors.Is(err, ErrNotFound) {
		t.Fatal("session survived a reused refresh token")
	}
	if _, err := m.RotateRefresh(ctx, "r2", "r4"); !errors.Is(err, ErrNotFound) {
		t.Fatal("the live refresh token of a revoked session still works")
	}
	if _, err := m.RotateRefresh(ctx, "never-issued", "r5"); !errors.Is(err, ErrNotFound) {
		t.Fatal("unknown refresh token accepted")
	}
}

func TestMemorySessions_DeleteUserEndsAllAndOnlyTheirs(t *testing.T) {
	ctx := context.Background()
	m := NewMemorySessions()
	now := time.Now()
	for i, u := range []string{"a", "a", "b"} {
		id := string(rune('0' + i))
		_ = m.Create(ctx, shop.Session{ID: id, UserID: shop.UserID("u" + u), TokenHash: "t" + id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	if n, _ := m.DeleteUser(ctx, "ua"); n != 2 {
		t.Fatalf("deleted %d sessions of ua, want 2", n)
	}
	if _, err := m.ByToken(ctx, "t0"); !errors.Is(err, ErrNotFound) {
		t.Fatal("cookie of a deleted session still resolves")
	}
	if l, _ := m.ListUser(ctx, "ub"); len(l) != 1 {
		t.Fatalf("other user's sessions touched: %d left", len(l))
	}
}

func TestMemorySessions_SweepsExpired(t *testing.T) {
	ctx := context.Background()
	m := NewMemorySessions()
	t0 := time.Now()
	_ = m.Create(ctx, shop.Session{ID: "old", UserID: "u", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)})
	_ = m.Create(ctx, shop.Session{ID: "new", UserID: "u", CreatedAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(3 * time.Hour)})
	if _, err := m.Get(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Fatal("expired session not swept")
	}
}
