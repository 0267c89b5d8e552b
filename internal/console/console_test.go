package console

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/app"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// shopWithCustomer serves a real shop on db with one store and one customer.
func shopWithCustomer(t *testing.T, db string) string {
	t.Helper()
	cfg := app.Defaults()
	cfg.Database = db
	cfg.SecretKey = hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	cfg.MailDir = filepath.Join(t.TempDir(), "mail")
	cfg.HashParams = identity.Params{Memory: 64, Time: 1, Threads: 1}
	cfg.TestpayListen = "127.0.0.1:0" // not the default port: tests of other packages run at the same time
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st, err := a.Stores.Create(ctx, shop.System(), tenancy.NewStore{Slug: "corner", Name: "Corner"})
	if err == nil {
		_, err = a.Identity.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: "c@example.com", Role: shop.RoleCustomer, Password: "a long enough test password"})
	}
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = a.Close()
	})
	return "http://" + ln.Addr().String()
}

func TestClient_RefreshesAnExpiredTokenAndSignsOutForGood(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := NewClient(shopWithCustomer(t, db), "corner")
		if ch, err := c.Login(ctx, "c@example.com", "a long enough test password"); err != nil || ch != nil {
			t.Fatalf("login: %v %v", err, ch)
		}
		first, firstRefresh := c.access, c.refresh
		c.expires = time.Now() // as if fifteen minutes had passed
		if me, err := c.Me(ctx); err != nil || me.Email != "c@example.com" {
			t.Fatalf("after expiry: %+v %v", me, err)
		}
		if c.refresh == firstRefresh || c.access == "" {
			t.Fatal("the expired access token was not refreshed")
		}
		// A token the server no longer accepts is refreshed on its 401 as well.
		c.access = first + "x"
		if _, err := c.Me(ctx); err != nil {
			t.Fatalf("after a refused token: %v", err)
		}
		held := c.access
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		if c.SignedIn() || c.refresh != "" {
			t.Fatal("tokens kept after sign-out")
		}
		// The server forgot the session too: the old token is refused.
		c.access = held
		_, err := c.Me(ctx)
		var p *Problem
		if !errors.As(err, &p) || p.Status != http.StatusUnauthorized {
			t.Fatalf("the signed-out token still works: %v", err)
		}
	})
}

func TestNormalize_RefusesWhatTheShopWouldAndNamesRows(t *testing.T) {
	rows := []string{"id-a", "id-b"}
	for _, c := range []struct {
		kind       int
		in, want   string
		refusedMsg bool
	}{
		{number, "12", "12", false},
		{number, "-3", "-3", false},
		{number, "two", "", true},
		// An amount is read in the order's currency when it is sent; here only its shape is checked.
		{amount, "12.5", "12.5", false},
		{amount, "0.07", "0.07", false},
		{amount, "12.3456", "", true},
		{amount, "1e3", "", true},
		{amount, "-1", "", true},
		{amount, "", "", false},
		{product, "2", "id-b", false},
		{product, "3", "", true},
		{product, "0", "", true},
		{order, "01a2-uuid", "01a2-uuid", false},
		{text, "", "", true},
		{optional, "", "", false},
	} {
		got, msg := normalize(c.kind, c.in, rows)
		if got != c.want || (msg != "") != c.refusedMsg {
			t.Errorf("normalize(%d, %q) = %q, %q", c.kind, c.in, got, msg)
		}
	}
}

// A checkout whose answer is lost is sent again with the same Idempotency-Key, so the shop can
// answer with the order it made instead of charging twice; when nothing answers, the message says
// the order may exist.
func TestCheckout_RetriesALostAnswerWithTheSameKey(t *testing.T) {
	retryPause = time.Millisecond
	var mu sync.Mutex
	var keys []string
	answer := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n, ok := len(keys), answer
		mu.Unlock()
		if n == 1 || !ok { // the answer is lost: the connection drops
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"o-1","status":"paid","total":{"amount":725,"currency":"GBP"}}`)
	}))
	defer srv.Close()
	c := NewClient(srv.URL, "corner")
	o, err := checkout(context.Background(), c, map[string]any{"payment": map[string]any{}})
	if err != nil || o.ID != "o-1" {
		t.Fatalf("checkout after a lost answer: %+v %v", o, err)
	}
	sent := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
	if k := sent(); len(k) != 2 || k[0] == "" || k[0] != k[1] {
		t.Fatalf("Idempotency-Keys sent: %q, want the same key twice", k)
	}

	mu.Lock()
	keys, answer = nil, false
	mu.Unlock()
	_, err = checkout(context.Background(), c, map[string]any{"payment": map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), "may or may not have been made") {
		t.Fatalf("checkout that is never answered: %v", err)
	}
	// (net/http itself may resend a request carrying an Idempotency-Key once more.)
	if k := sent(); len(k) < checkoutAttempts || k[0] == "" || len(slices.Compact(slices.Clone(k))) != 1 {
		t.Fatalf("keys %q: want at least %d attempts, all with one key", k, checkoutAttempts)
	}
}
