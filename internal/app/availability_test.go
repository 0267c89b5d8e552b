package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"secureshop/internal/app"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// TestImport_AStalledUploadInOneStoreDelaysNoWriteInAnother: an admin of store A starts a CSV
// import and trickles it (the header and a row, then nothing); meanwhile a customer of store B
// changes their cart. On SQLite one writer serves every store: had the import's transaction opened
// before its body was read, B's write would wait for A's upload.
func TestImport_AStalledUploadInOneStoreDelaysNoWriteInAnother(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("upload-a")
		s.store("upload-b")
		p := s.newProduct("upload-b", "B-1", 100, 10)
		admin := s.login("upload-a", "admin@example.com").AccessToken
		buyer := s.login("upload-b", "customer@example.com").AccessToken

		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		start := "sku,name,price,stock\nUP-1,Uploaded,1.00,3\n"
		fmt.Fprintf(conn, "POST /api/v1/stores/upload-a/products/import HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s", admin, len(start)+100_000, start)
		time.Sleep(300 * time.Millisecond) // the handler has the first bytes, and waits for the rest

		done := make(chan answer, 1)
		go func() { done <- s.call("PUT", "/api/v1/stores/upload-b/cart/items/"+p.ID, buyer, `{"quantity":2}`) }()
		select {
		case a := <-done:
			expectStatus(t, "a cart write in store B during A's stalled upload", a, http.StatusOK)
		case <-time.After(5 * time.Second):
			_ = conn.Close() // let the upload end, and the shop stop
			<-done
			t.Fatal("a cart write in store B waited for store A's stalled upload")
		}
	})
}

// TestLockout_TheOwnersBrowserKeepsSigningIn: through the pages, a browser that signed in before
// keeps its device cookie; after ten wrong passwords from another address lock the account, that
// browser still signs in, while a browser without the cookie is refused (429), and the lockout is
// in the audit log. Over the API the same holds with the device token the sign-in answered.
func TestLockout_TheOwnersBrowserKeepsSigningIn(t *testing.T) {
	s := startShopFull(t, testenv.SQLiteURL(t), func(c *app.Config) {
		c.TrustedProxies = []string{"127.0.0.1/32"} // the test chooses each request's address
	})
	s.store("lock")
	signIn := func(b *browser, password, ip string) *http.Response {
		t.Helper()
		_, page := b.do("GET", "/s/lock/login", nil, "X-Forwarded-For", ip)
		resp, _ := b.do("POST", "/s/lock/login", url.Values{"csrf": {csrfOf(t, page)}, "email": {"customer@example.com"}, "password": {password}},
			"X-Forwarded-For", ip)
		return resp
	}
	owner := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	if resp := signIn(owner, testPassword, "198.51.100.7"); resp.StatusCode != http.StatusSeeOther || owner.cookies["__Host-shop_device"] == nil {
		t.Fatalf("first sign-in: %d, device cookie %v", resp.StatusCode, owner.cookies["__Host-shop_device"])
	}
	api := s.call("POST", "/api/v1/stores/lock/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword})
	var tok struct {
		DeviceToken string `json:"device_token"`
	}
	api.json(t, &tok)
	if tok.DeviceToken == "" {
		t.Fatalf("the API sign-in gave no device token: %s", api.body)
	}
	for i := range 10 { // an attacker, from addresses of their own
		_ = s.call("POST", "/api/v1/stores/lock/auth/login", "", map[string]string{"email": "customer@example.com", "password": "not the password"},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
	}
	stranger := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	if resp := signIn(stranger, testPassword, "198.51.100.8"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a browser without the device cookie, while locked: %d", resp.StatusCode)
	}
	delete(owner.cookies, "__Host-shop_session")
	if resp := signIn(owner, testPassword, "198.51.100.7"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's browser, while the account is locked against others: %d", resp.StatusCode)
	}
	expectStatus(t, "the API client with its device token", s.call("POST", "/api/v1/stores/lock/auth/login", "",
		map[string]string{"email": "customer@example.com", "password": testPassword, "device_token": tok.DeviceToken}), http.StatusOK)
	expectStatus(t, "an API client without one", s.call("POST", "/api/v1/stores/lock/auth/login", "",
		map[string]string{"email": "customer@example.com", "password": testPassword}), http.StatusTooManyRequests)
	admin := s.login("lock", "admin@example.com").AccessToken
	if a := s.call("GET", "/api/v1/stores/lock/audit-events?limit=100", admin, nil); !strings.Contains(string(a.body), `"auth.lockout"`) {
		t.Fatalf("no lockout in the audit log: %s", a.body)
	}
}

// TestSignIn_RefusedWhenItsAuditRecordCannotBeWritten: the audit log is only as good as it is
// complete. With the audit table closed to the shop's role (as a full disk or a broken database
// would close it), a correct password gets 503, no session and no token; once the log takes
// records again, the same sign-in succeeds.
func TestSignIn_RefusedWhenItsAuditRecordCannotBeWritten(t *testing.T) {
	s, ownerURL, appURL := startShopAsAppRole(t)
	ctx := context.Background()
	s.store("audited")
	role, _ := url.Parse(appURL)
	raw := testenv.RawDB(t, ownerURL)
	if _, err := raw.Exec("REVOKE INSERT ON audit_events FROM " + role.User.Username()); err != nil {
		t.Fatal(err)
	}
	a := s.call("POST", "/api/v1/stores/audited/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword})
	expectStatus(t, "sign-in that cannot be audited", a, http.StatusServiceUnavailable)
	if strings.Contains(string(a.body), "access_token") || !strings.HasSuffix(a.problemType(t), "audit-unavailable") {
		t.Fatalf("answer: %s", a.body)
	}
	st, _ := s.app.Stores.BySlug(ctx, "audited")
	u, _ := s.app.Identity.FindUser(ctx, shop.System(), st.ID, "customer@example.com")
	if sessions, _ := s.app.Identity.Sessions(ctx, shop.Principal{UserID: u.ID, StoreID: st.ID, Role: shop.RoleCustomer}); len(sessions) != 0 {
		t.Fatalf("%d sessions left by a refused sign-in", len(sessions))
	}
	if _, err := raw.Exec("GRANT INSERT ON audit_events TO " + role.User.Username()); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, "sign-in once the log takes records", s.call("POST", "/api/v1/stores/audited/auth/login", "",
		map[string]string{"email": "customer@example.com", "password": testPassword}), http.StatusOK)
}

// TestFullDisk_Answers503AndReadyzSaysUnwritable: with SQLite's database bounded to the size it
// has (as a full disk bounds it), writes that need room answer 503 with Retry-After and a clear
// problem type — never 500 — and /readyz reports the database unwritable, so a load balancer stops
// sending work; with room again, the next write goes through and /readyz is ready.
func TestFullDisk_Answers503AndReadyzSaysUnwritable(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("full")
	admin := s.login("full", "admin@example.com").AccessToken
	ctx := context.Background()
	if _, err := s.app.DB.SetMaxSize(ctx, 1); err != nil { // no more than it has now
		t.Fatal(err)
	}
	var a answer
	for i := 0; i < 500; i++ {
		a = s.call("POST", "/api/v1/stores/full/products", admin, map[string]any{"sku": fmt.Sprintf("FULL-%d", i),
			"name": strings.Repeat("A long product name to fill pages ", 5), "description": strings.Repeat("x", 4000),
			"price": map[string]any{"amount": 100, "currency": "GBP"}, "stock": 1})
		if a.status != http.StatusCreated {
			break
		}
	}
	if a.status != http.StatusServiceUnavailable {
		t.Fatalf("a write on a full disk: status %d, want 503", a.status)
	}
	if !strings.HasSuffix(a.problemType(t), "storage-full") || a.header.Get("Retry-After") == "" {
		t.Fatalf("answer on a full disk: %v %s", a.header, a.body)
	}
	r := s.call("GET", "/readyz", "", nil)
	expectStatus(t, "readyz on a full disk", r, http.StatusServiceUnavailable)
	if !strings.Contains(string(r.body), `"database":"unwritable"`) {
		t.Fatalf("readyz: %s", r.body)
	}
	expectStatus(t, "reading the catalogue on a full disk", s.call("GET", "/api/v1/stores/full/products", "", nil), http.StatusOK)
	if _, err := s.app.DB.SetMaxSize(ctx, 1<<40); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, "a write with room again", s.call("POST", "/api/v1/stores/full/products", admin, map[string]any{"sku": "ROOM",
		"name": "Room", "price": map[string]any{"amount": 100, "currency": "GBP"}, "stock": 1}), http.StatusCreated)
	expectStatus(t, "readyz with room again", s.call("GET", "/readyz", "", nil), http.StatusOK)
}

// TestVisitors_AFloodOfCartsIsRateLimitedAndBounded: the page routes have the per-address limit
// too — a client sending add-to-cart without its cookie, again and again, gets 429 past it — and
// the carts it made stay within the store's bound.
func TestVisitors_AFloodOfCartsIsRateLimitedAndBounded(t *testing.T) {
	s := startShopFull(t, testenv.SQLiteURL(t), func(c *app.Config) { c.APIRequestsPerMinute = 30 })
	s.store("flood")
	p := s.newProduct("flood", "F-1", 100, 1000)
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	_, page := b.do("GET", "/s/flood/login", nil)
	csrf := csrfOf(t, page)
	statuses := map[int]int{}
	for range 60 {
		fresh := &browser{t: t, s: s, cookies: map[string]*http.Cookie{"__Host-shop_csrf": b.cookies["__Host-shop_csrf"]}} // no cart cookie
		resp, _ := fresh.do("POST", "/s/flood/cart/items", url.Values{"csrf": {csrf}, "product_id": {p.ID}, "quantity": {"1"}})
		statuses[resp.StatusCode]++
	}
	if statuses[http.StatusTooManyRequests] < 25 || statuses[http.StatusSeeOther] > 30 {
		t.Fatalf("60 carts from one address within a minute: %v", statuses)
	}
	expectStatus(t, "the API has its own count", s.call("GET", "/api/v1/stores/flood/products", "", nil), http.StatusOK)
}
