package kv

import (
	"context"
	"testing"
	"time"
)

func TestAllow_SlidingWindow(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryLimits()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		if ok, _, _ := m.Allow(ctx, "k", 5, time.Minute, t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	ok, retry, _ := m.Allow(ctx, "k", 5, time.Minute, t0.Add(10*time.Second))
	if ok || retry != 50*time.Second {
		t.Fatalf("sixth attempt: ok=%v retry=%v, want refused for 50s", ok, retry)
	}
	if ok, _, _ := m.Allow(ctx, "other", 5, time.Minute, t0.Add(10*time.Second)); !ok {
		t.Fatal("another key was limited")
	}
	if ok, _, _ := m.Allow(ctx, "k", 5, time.Minute, t0.Add(61*time.Second)); !ok {
		t.Fatal("a new minute still refused")
	}
}

func TestCodes_SingleUseAndTries(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryLimits()
	now := time.Now()
	eq := func(a, b string) bool { return a == b }
	_ = m.PutCode(ctx, "u", Code{Hash: "h", ExpiresAt: now.Add(5 * time.Minute), TriesLeft: 5})
	if ok, _ := m.TakeCode(ctx, "u", "h", now, eq); !ok {
		t.Fatal("right code refused")
	}
	if ok, _ := m.TakeCode(ctx, "u", "h", now, eq); ok {
		t.Fatal("code accepted twice")
	}
	_ = m.PutCode(ctx, "u", Code{Hash: "h", ExpiresAt: now.Add(5 * time.Minute), TriesLeft: 5})
	for range 5 {
		_, _ = m.TakeCode(ctx, "u", "wrong", now, eq)
	}
	if ok, _ := m.TakeCode(ctx, "u", "h", now, eq); ok {
		t.Fatal("code accepted after five wrong tries")
	}
	_ = m.PutCode(ctx, "u", Code{Hash: "h", ExpiresAt: now.Add(5 * time.Minute), TriesLeft: 5})
	if ok, _ := m.TakeCode(ctx, "u", "h", now.Add(6*time.Minute), eq); ok {
		t.Fatal("expired code accepted")
	}
}
