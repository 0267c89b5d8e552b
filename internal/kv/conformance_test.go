package kv

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// store is everything the shop keeps in kv; both implementations must behave the same.
type store interface {
	Create(ctx context.Context, s shop.Session) error
	Get(ctx context.Context, id string) (shop.Session, error)
	ByToken(ctx context.Context, tokenHash string) (shop.Session, error)
	Touch(ctx context.Context, id string, at time.Time) error
	RotateRefresh(ctx context.Context, oldHash, newHash string) (shop.Session, error)
	Delete(ctx context.Context, id string) error
	DeleteUser(ctx context.Context, user shop.UserID) (int, error)
	ListUser(ctx context.Context, user shop.UserID) ([]shop.Session, error)
	VisitorCart(ctx context.Context, id string, now time.Time) (map[string]int, error)
	SetVisitorCart(ctx context.Context, id string, cart map[string]int, now time.Time) error
	DropVisitorCart(ctx context.Context, id string) error
	ClearMFAEnroll(ctx context.Context, user shop.UserID) error
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error)
	Release(ctx context.Context, key string, at time.Time) error
	Forget(ctx context.Context, key string) error
	PutCode(ctx context.Context, key string, c Code) error
	TakeCode(ctx context.Context, key, hash string, now time.Time, equal func(a, b string) bool) (bool, error)
	Block(ctx context.Context, key string, until time.Time) error
	Blocked(ctx context.Context, key string, now time.Time) (time.Time, bool, error)
	Unblock(ctx context.Context, key string) error
}

type memory struct {
	*MemorySessions
	*MemoryLimits
	*MemoryCarts
}

// forEachStore runs fn on a fresh in-process store and a fresh Redis store.
func forEachStore(t *testing.T, fn func(t *testing.T, s store)) {
	t.Run("memory", func(t *testing.T) { fn(t, memory{NewMemorySessions(), NewMemoryLimits(), NewMemoryCarts(0)}) })
	t.Run("redis", func(t *testing.T) {
		opt, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { _ = rdb.Close() })
		fn(t, NewRedis(rdb, testenv.RandomName("t")+":"))
	})
}

func TestStores_SessionsBehaveAlike(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		a := shop.Session{ID: "a", UserID: "u1", StoreID: "s1", Role: shop.RoleCustomer, Email: "e@x", Kind: "api", RefreshHash: "r1",
			CSRFToken: "c", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), MFAEnroll: true}
		b := shop.Session{ID: "b", UserID: "u1", Kind: "browser", TokenHash: "t1", CreatedAt: now.Add(time.Second), LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		c := shop.Session{ID: "c", UserID: "u2", Kind: "browser", TokenHash: "t2", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		for _, x := range []shop.Session{a, b, c} {
			if err := s.Create(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Get(ctx, "a")
		if err != nil || got.Email != "e@x" || got.Role != shop.RoleCustomer || !got.MFAEnroll || !got.ExpiresAt.Equal(a.ExpiresAt) || got.RefreshHash != "r1" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if got, err := s.ByToken(ctx, "t1"); err != nil || got.ID != "b" {
			t.Fatalf("ByToken = %+v, %v", got, err)
		}
		if _, err := s.ByToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown token: %v", err)
		}
		if err := s.Touch(ctx, "a", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "a"); !got.LastSeen.Equal(now.Add(time.Minute)) {
			t.Fatalf("LastSeen %v after Touch", got.LastSeen)
		}
		if err := s.ClearMFAEnroll(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "a"); got.MFAEnroll {
			t.Fatal("MFA enrolment state not cleared")
		}
		list, err := s.ListUser(ctx, "u1")
		if err != nil || len(list) != 2 || list[0].ID != "b" {
			t.Fatalf("ListUser = %+v, %v", list, err)
		}
		// Refresh rotation and reuse.
		if got, err := s.RotateRefresh(ctx, "r1", "r2"); err != nil || got.ID != "a" || got.RefreshHash != "r2" {
			t.Fatalf("rotate: %+v %v", got, err)
		}
		if _, err := s.RotateRefresh(ctx, "r1", "r3"); !errors.Is(err, ErrRefreshReuse) {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
			t.Fatal("session survived a reused refresh token")
		}
		if _, err := s.RotateRefresh(ctx, "r2", "r4"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("live token of an ended session: %v", err)
		}
		// Visitor carts.
		if err := s.SetVisitorCart(ctx, "v", map[string]int{"p1": 2}, now); err != nil {
			t.Fatal(err)
		}
		if got, err := s.VisitorCart(ctx, "v", now); err != nil || got["p1"] != 2 {
			t.Fatalf("cart %v, %v", got, err)
		}
		if got, err := s.VisitorCart(ctx, "gone", now); err != nil || got != nil {
			t.Fatalf("cart of no visitor: %v, %v", got, err)
		}
		big := map[string]int{}
		for i := range 101 {
			big[strconv.Itoa(i)] = 1
		}
		if err := s.SetVisitorCart(ctx, "v", big, now); !errors.Is(err, errCartFull) {
			t.Fatalf("a cart of 101 lines: %v", err)
		}
		if err := s.DropVisitorCart(ctx, "v"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.VisitorCart(ctx, "v", now); got != nil {
			t.Fatalf("a dropped cart: %v", got)
		}
		// Ending sessions.
		if n, err := s.DeleteUser(ctx, "u1"); err != nil || n != 1 {
			t.Fatalf("DeleteUser = %d, %v", n, err)
		}
		if _, err := s.ByToken(ctx, "t1"); !errors.Is(err, ErrNotFound) {
			t.Fatal("cookie of an ended session still resolves")
		}
		if got, err := s.Get(ctx, "c"); err != nil || got.ID != "c" {
			t.Fatal("another user's session was ended")
		}
		if err := s.Delete(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ByToken(ctx, "t2"); !errors.Is(err, ErrNotFound) {
			t.Fatal("deleted session still resolves")
		}
	})
}

func TestStores_LimitsAndCodesBehaveAlike(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		t0 := time.Now()
		for i := range 5 {
			if ok, _, err := s.Allow(ctx, "k", 5, time.Minute, t0.Add(time.Duration(i)*time.Second)); !ok || err != nil {
				t.Fatalf("attempt %d refused (%v)", i+1, err)
			}
		}
		ok, retry, _ := s.Allow(ctx, "k", 5, time.Minute, t0.Add(10*time.Second))
		if ok || retry != 50*time.Second {
			t.Fatalf("sixth: ok=%v retry=%v", ok, retry)
		}
		if ok, _, _ := s.Allow(ctx, "k", 5, time.Minute, t0.Add(61*time.Second)); !ok {
			t.Fatal("refused after the window moved on")
		}
		// A released attempt no longer counts; a forgotten window counts nothing.
		for i := range 5 {
			at := t0.Add(time.Duration(100+i) * time.Second)
			if ok, _, _ := s.Allow(ctx, "r", 5, time.Minute, at); !ok {
				t.Fatalf("attempt %d refused", i+1)
			}
			if i < 3 {
				_ = s.Release(ctx, "r", at)
			}
		}
		for i := range 3 {
			if ok, _, _ := s.Allow(ctx, "r", 5, time.Minute, t0.Add(time.Duration(110+i)*time.Second)); ok != (i < 3) {
				t.Fatalf("after three released: attempt %d allowed %v", i+1, ok)
			}
		}
		if ok, _, _ := s.Allow(ctx, "r", 5, time.Minute, t0.Add(115*time.Second)); ok {
			t.Fatal("a sixth counted attempt allowed")
		}
		_ = s.Forget(ctx, "r")
		if ok, _, _ := s.Allow(ctx, "r", 5, time.Minute, t0.Add(116*time.Second)); !ok {
			t.Fatal("refused after the window was forgotten")
		}
		eq := func(a, b string) bool { return a == b }
		_ = s.PutCode(ctx, "u", Code{Hash: "h", ExpiresAt: t0.Add(5 * time.Minute), TriesLeft: 5})
		if ok, _ := s.TakeCode(ctx, "u", "h", t0, eq); !ok {
			t.Fatal("right code refused")
		}
		if ok, _ := s.TakeCode(ctx, "u", "h", t0, eq); ok {
			t.Fatal("code used twice")
		}
		_ = s.PutCode(ctx, "u", Code{Hash: "h", ExpiresAt: t0.Add(5 * time.Minute), TriesLeft: 5})
		for range 5 {
			_, _ = s.TakeCode(ctx, "u", "wrong", t0, eq)
		}
		if ok, _ := s.TakeCode(ctx, "u", "h", t0, eq); ok {
			t.Fatal("code accepted after five misses")
		}
		_ = s.PutCode(ctx, "u", Code{Hash: "h", ExpiresAt: t0.Add(5 * time.Minute), TriesLeft: 5})
		if ok, _ := s.TakeCode(ctx, "u", "h", t0.Add(6*time.Minute), eq); ok {
			t.Fatal("expired code accepted")
		}
	})
}

func TestStores_BlocksBehaveAlike(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		t0 := time.Now()
		blocked := func(key string, at time.Time) (time.Time, bool) {
			t.Helper()
			until, ok, err := s.Blocked(ctx, key, at)
			if err != nil {
				t.Fatal(err)
			}
			return until, ok
		}
		if _, ok := blocked("acct", t0); ok {
			t.Fatal("blocked before any block")
		}
		until := t0.Add(15 * time.Minute)
		if err := s.Block(ctx, "acct", until); err != nil {
			t.Fatal(err)
		}
		if got, ok := blocked("acct", t0.Add(time.Minute)); !ok || !got.Equal(until) {
			t.Fatalf("blocked = %v until %v, want until %v", ok, got, until)
		}
		if _, ok := blocked("other", t0); ok {
			t.Fatal("a block reaches another key")
		}
		if _, ok := blocked("acct", until); ok {
			t.Fatal("still blocked when the block ends")
		}
		if err := s.Unblock(ctx, "acct"); err != nil {
			t.Fatal(err)
		}
		if _, ok := blocked("acct", t0); ok {
			t.Fatal("blocked after Unblock")
		}
		// A later block replaces an earlier one; one already over blocks nothing.
		_ = s.Block(ctx, "acct", t0.Add(time.Hour))
		_ = s.Block(ctx, "acct", t0.Add(-time.Second))
		if _, ok := blocked("acct", t0); ok {
			t.Fatal("a block that is over still blocks")
		}
	})
}
