package identity_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/kv"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/tenancy"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T) (*identity.Service, *clock, *shop.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, testenv.SQLiteURL(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	signer, _ := identity.NewSigner(identity.DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt"))
	svc := identity.New(db, kv.NewMemorySessions(), identity.NewHasher(identity.Params{Memory: 64, Time: 1, Threads: 1}, 1),
		signer, identity.Config{}, c.now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	st, err := tenancy.New(db).Create(ctx, shop.System(), tenancy.NewStore{Slug: "clocked", Name: "Clocked"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: "c@example.com", Role: shop.RoleCustomer, Password: "twelve chars long"}); err != nil {
		t.Fatal(err)
	}
	return svc, c, &st
}

func TestSessions_IdleTimeoutEndsBrowserSession(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	token, _, err := svc.LoginBrowser(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c.add(29 * time.Minute)
	if _, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{}); err != nil {
		t.Fatalf("active within 30 minutes: %v", err)
	}
	c.add(29 * time.Minute) // 58 minutes after sign-in, 29 after the last request: still alive
	if _, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{}); err != nil {
		t.Fatalf("activity should extend the session: %v", err)
	}
	c.add(31 * time.Minute)
	if _, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{}); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("idle for 31 minutes: %v", err)
	}
}

func TestSessions_AbsoluteTimeoutEndsBusySession(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	token, _, err := svc.LoginBrowser(ctx, st, "c@example.com", "twelve chars long", identity.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12*3; i++ { // a request every 20 minutes for 12 hours
		c.add(20 * time.Minute)
		_, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{})
		if i < 35 && err != nil {
			t.Fatalf("after %v: %v", time.Duration(i+1)*20*time.Minute, err)
		}
		if i == 35 && shop.KindOf(err) != shop.KindUnauthenticated {
			t.Fatalf("session alive after 12 hours: %v", err)
		}
	}
}

func TestSessions_APITokensExpireAndRefreshRespectsIdle(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	tok, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	c.add(16 * time.Minute)
	if _, err := svc.AuthenticateBearer(ctx, tok.AccessToken, identity.Meta{}); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("16-minute-old access token: %v", err)
	}
	next, err := svc.Refresh(ctx, tok.RefreshToken, identity.Meta{})
	if err != nil {
		t.Fatalf("refresh within the idle limit: %v", err)
	}
	if _, err := svc.AuthenticateBearer(ctx, next.AccessToken, identity.Meta{}); err != nil {
		t.Fatal(err)
	}
	c.add(31 * time.Minute)
	if _, err := svc.Refresh(ctx, next.RefreshToken, identity.Meta{}); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("refresh after 31 idle minutes: %v", err)
	}
}

func TestLogin_UpgradesWeakHashOnSuccess(t *testing.T) {
	ctx := context.Background()
	svc, _, st := newService(t)
	// The stored hash is weaker than the service's parameters: write one with fewer passes.
	weak, _ := identity.NewHasher(identity.Params{Memory: 32, Time: 1, Threads: 1}, 1).Hash(ctx, "twelve chars long")
	if err := svc.SetPasswordHashForTest(ctx, st.ID, "c@example.com", weak); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.FindUser(ctx, shop.System(), st.ID, "c@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash == weak || u.PasswordHash[:len("$argon2id$v=19$m=64,")] != "$argon2id$v=19$m=64," {
		t.Fatalf("hash not upgraded: %s", u.PasswordHash)
	}
}
