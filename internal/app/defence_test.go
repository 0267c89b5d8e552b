package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"html"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"secureshop/internal/app"
	"secureshop/internal/identity"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func checkHeaders(t *testing.T, what string, h http.Header, tls bool) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %s", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows unsafe code: %q", what, csp)
	}
	for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
		"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin", "X-Frame-Options": "DENY"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
	if !strings.Contains(h.Get("Permissions-Policy"), "camera=()") {
		t.Errorf("%s: Permissions-Policy %q", what, h.Get("Permissions-Policy"))
	}
	if got := h.Get("Strict-Transport-Security"); (got != "") != tls {
		t.Errorf("%s: HSTS %q over TLS=%v", what, got, tls)
	}
	if h.Get("X-Request-Id") == "" {
		t.Errorf("%s: no request id", what)
	}
}

func TestHeaders_OnPagesAPIAndErrors(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("heads")
	tok := s.login("heads", "customer@example.com").AccessToken
	cases := []struct {
		name, method, path, token string
		body                      any
		hdr                       []string
		status                    int
	}{
		{"HTML page", "GET", "/s/heads/", "", nil, []string{"Accept", "text/html"}, 200},
		{"API list", "GET", "/api/v1/stores/heads/products", "", nil, nil, 200},
		{"signed-in API", "GET", "/api/v1/me", tok, nil, nil, 200},
		{"API 404", "GET", "/api/v1/stores/nowhere/products", "", nil, nil, 404},
		{"HTML 404", "GET", "/s/nowhere/", "", nil, []string{"Accept", "text/html"}, 404},
		{"401", "GET", "/api/v1/me", "", nil, nil, 401},
		{"405", "PUT", "/api/v1/me", tok, nil, nil, 405},
		{"413", "POST", "/api/v1/stores/heads/auth/login", "", `{"email":"` + strings.Repeat("x", 2<<20) + `"}`, nil, 413},
		{"415", "POST", "/api/v1/stores/heads/auth/login", "", `{}`, []string{"Content-Type", "text/plain"}, 415},
		{"static file", "GET", "/nope.css", "", nil, nil, 404},
	}
	for _, c := range cases {
		a := s.call(c.method, c.path, c.token, c.body, c.hdr...)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, a.status, c.status)
		}
		checkHeaders(t, c.name, a.header, false)
		if c.status >= 400 && strings.Contains(string(a.body), ".go:") || strings.Contains(string(a.body), "goroutine") ||
			strings.Contains(string(a.body), "SQL") || strings.Contains(string(a.body), "go1.") {
			t.Errorf("%s: internals in the answer: %s", c.name, a.body)
		}
	}
	a := s.call("GET", "/api/v1/me", tok, nil)
	if a.header.Get("Cache-Control") != "no-store" {
		t.Error("signed-in answer is cacheable")
	}
}

func TestXForwardedFor_ForgedHeaderDoesNotResetTheLimit(t *testing.T) {
	// No trusted proxy: the header is ignored, the peer address counts.
	s := startShopWith(t, testenv.SQLiteURL(t), identity.Config{AttemptsPerMinute: 1000})
	s.store("xff")
	login := "/api/v1/stores/xff/auth/login"
	for i := 1; i <= 5; i++ {
		s.call("POST", login, "", map[string]string{"email": "u" + strconv.Itoa(i) + "@example.com", "password": "wrong-wrong-wrong"},
			"X-Forwarded-For", "10.0.0."+strconv.Itoa(i))
	}
	expectStatus(t, "sixth attempt with yet another forged address", s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": testPassword},
		"X-Forwarded-For", "10.0.0.99"), 429)

	// Behind a trusted proxy: the proxy's own entry (the rightmost untrusted) counts, not what the client put before it.
	p := startShopCfg(t, func(c *app.Config) {
		c.TrustedProxies = []string{"127.0.0.1/32"}
		c.Identity = identity.Config{AttemptsPerMinute: 1000}
	})
	p.store("xff")
	for i := 1; i <= 5; i++ {
		p.call("POST", login, "", map[string]string{"email": "u" + strconv.Itoa(i) + "@example.com", "password": "wrong-wrong-wrong"},
			"X-Forwarded-For", "10.9.9."+strconv.Itoa(i)+", 203.0.113.7")
	}
	expectStatus(t, "sixth attempt behind the proxy", p.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": testPassword},
		"X-Forwarded-For", "1.2.3.4, 203.0.113.7"), 429)
	expectStatus(t, "another client behind the proxy", p.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": testPassword},
		"X-Forwarded-For", "203.0.113.8"), 200)
}

// startShopCfg starts a test shop after edit changes its configuration.
func startShopCfg(t *testing.T, edit func(*app.Config)) *testShop {
	t.Helper()
	return startShopFull(t, testenv.SQLiteURL(t), edit)
}

func TestCORS_ClosedUnlessConfigured(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("cors")
	a := s.call("GET", "/api/v1/stores/cors/products", "", nil, "Origin", "https://evil.example")
	if a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS open by default")
	}
	a = s.call("OPTIONS", "/api/v1/stores/cors/products", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if a.header.Get("Access-Control-Allow-Origin") != "" || a.status < 400 {
		t.Fatalf("preflight answered: %d %v", a.status, a.header)
	}
	c := startShopCfg(t, func(c *app.Config) { c.CORSOrigins = []string{"https://app.example"} })
	c.store("cors")
	a = c.call("OPTIONS", "/api/v1/stores/cors/products", "", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "https://app.example" || a.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("configured preflight: %d %v", a.status, a.header)
	}
	a = c.call("GET", "/api/v1/stores/cors/products", "", nil, "Origin", "https://other.example")
	if a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("an unlisted origin was allowed")
	}
}

func TestAPI_RateLimitPerAddress(t *testing.T) {
	s := startShopCfg(t, func(c *app.Config) { c.APIRequestsPerMinute = 20 })
	s.store("busy")
	for i := 0; i < 20; i++ {
		s.call("GET", "/api/v1/stores/busy/products", "", nil)
	}
	a := s.call("GET", "/api/v1/stores/busy/products", "", nil)
	expectStatus(t, "21st request", a, 429)
	if a.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	expectStatus(t, "pages are not counted", s.call("GET", "/s/busy/", "", nil), 200)
}

func selfSigned(t *testing.T) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, keyFile
}

func TestTLS_HSTSAndRedirect(t *testing.T) {
	cert, key := selfSigned(t)
	redirect := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	cfg := app.Defaults()
	cfg.Database = testenv.SQLiteURL(t)
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "k")
	cfg.MailDir = t.TempDir()
	cfg.TLSCert, cfg.TLSKey, cfg.HTTPRedirect = cert, key, redirect
	cfg.TestpayListen = "127.0.0.1:0" // not the default port: tests of other packages run at the same time
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; _ = a.Close() })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // #nosec G402 -- the test's own self-signed certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	checkHeaders(t, "TLS", resp.Header, true)
	var plain *http.Response
	for i := 0; i < 50; i++ { // the redirect listener starts in the background
		if plain, err = client.Get("http://" + redirect + "/s/demo/?q=tea"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = plain.Body.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if plain.StatusCode != http.StatusPermanentRedirect || plain.Header.Get("Location") != "https://127.0.0.1:"+port+"/s/demo/?q=tea" {
		t.Fatalf("HTTP answer: %d %s", plain.StatusCode, plain.Header.Get("Location"))
	}
}

// hostile are strings an attacker types into every field.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`'; DROP TABLE products; --`,
	`' OR '1'='1`,
	`{{.}} ${7*7} <%= 7*7 %>`,
	"\u202egnp.exe", // right-to-left override
	"Ａｄｍｉｎ ｅ\u0301",
	"../../etc/passwd %00 %0d%0a",
	"😀 ünïcödé 中文",
	`javascript:alert(document.cookie)`,
}

func TestHostileInput_StoredAndShownInert(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		st, _ := s.store("hostile")
		admin := s.login("hostile", "admin@example.com").AccessToken
		for i, h := range hostile {
			a := s.call("POST", "/api/v1/stores/hostile/products", admin, map[string]any{"sku": "H-" + strconv.Itoa(i), "name": h,
				"description": h + "\n" + h, "price": map[string]any{"amount": 100}, "stock": 3})
			expectStatus(t, "product named "+h, a, 201)
			var p struct {
				ID          string `json:"id"`
				Name        string `json:"name"`
				Description string `json:"description"`
			}
			a.json(t, &p)
			got := s.call("GET", "/api/v1/stores/hostile/products/"+p.ID, "", nil)
			got.json(t, &p)
			if p.Name != h || p.Description != h+"\n"+h {
				t.Errorf("stored %q as %q", h, p.Name)
			}
			page := s.call("GET", "/s/hostile/products/"+p.ID, "", nil, "Accept", "text/html")
			if strings.Contains(string(page.body), h) && strings.ContainsAny(h, `<>"'&`) {
				t.Errorf("page shows %q unescaped", h)
			}
			if !strings.Contains(string(page.body), html.EscapeString(h)) && !strings.ContainsAny(h, `'"`) {
				t.Errorf("page lacks the escaped %q", h)
			}
			u := s.call("POST", "/api/v1/stores/hostile/users", admin, map[string]string{"email": "h" + strconv.Itoa(i) + "@example.com", "name": h, "role": "customer", "password": testPassword})
			expectStatus(t, "user named "+h, u, 201)
			search := s.call("GET", "/s/hostile/?q="+urlQuery(h), "", nil, "Accept", "text/html")
			if search.status != 200 || (strings.Contains(string(search.body), h) && strings.ContainsAny(h, `<>"`)) {
				t.Errorf("search for %q: %d, reflected unescaped", h, search.status)
			}
		}
		// Free text elsewhere: a stock adjustment's reason, an order note, a store's name.
		pid := s.newProduct("hostile", "NOTE-1", 100, 50).ID
		cust := s.login("hostile", "customer@example.com").AccessToken
		clerk := s.login("hostile", "clerk@example.com").AccessToken
		s.operator("ops@example.com")
		op := s.login("", "ops@example.com")
		for i, h := range hostile {
			expectStatus(t, "reason "+h, s.call("POST", "/api/v1/stores/hostile/products/"+pid+"/stock-adjustments", clerk, map[string]any{"delta": 1, "reason": h}), 201)
			a := s.buy("hostile", cust, pid, 1)
			var o orderJSON
			a.json(t, &o)
			a = s.call("POST", "/api/v1/stores/hostile/orders/"+o.ID+"/status", clerk, map[string]string{"status": "processing", "note": h})
			expectStatus(t, "note "+h, a, 200)
			if !strings.Contains(string(a.body), jsonString(h)) {
				t.Errorf("note %q not kept as is: %s", h, a.body)
			}
			a = s.call("POST", "/api/v1/platform/stores", op.AccessToken, map[string]string{"slug": "hostile-" + strconv.Itoa(i), "name": h})
			expectStatus(t, "store named "+h, a, 201)
		}
		a := s.call("GET", "/api/v1/stores/hostile/products/"+pid+"/stock-adjustments", clerk, nil)
		for _, h := range hostile {
			if !strings.Contains(string(a.body), jsonString(h)) {
				t.Errorf("reason %q not kept as is", h)
			}
		}
		home := s.call("GET", "/", "", nil, "Accept", "text/html")
		for _, h := range hostile {
			if strings.ContainsAny(h, "<>") && strings.Contains(string(home.body), h) {
				t.Errorf("home page shows store name %q unescaped", h)
			}
		}

		// Control characters and NUL bytes are refused with the field named, and nothing is stored.
		for _, bad := range []string{"a\x00b", "line\r\nX-Injected: 1", "bell\x07"} {
			a := s.call("POST", "/api/v1/stores/hostile/products", admin, map[string]any{"sku": "BAD", "name": bad, "price": map[string]any{"amount": 1}})
			expectStatus(t, "name with control characters", a, 422)
			if !strings.Contains(string(a.body), `"field":"name"`) {
				t.Errorf("field not named: %s", a.body)
			}
			expectStatus(t, "store named with control characters", s.call("POST", "/api/v1/stores/hostile/users", admin,
				map[string]string{"email": "ctl@example.com", "name": bad, "role": "customer", "password": testPassword}), 422)
		}
		expectStatus(t, "SKU with SQL", s.call("POST", "/api/v1/stores/hostile/products", admin, map[string]any{"sku": "1' OR '1'='1", "name": "x", "price": map[string]any{"amount": 1}}), 422)
		expectStatus(t, "id with SQL", s.call("GET", "/api/v1/stores/hostile/products/1'%20OR%20'1'='1", "", nil), 404)
		n := 0
		err := s.app.DB.View(context.Background(), st.ID, func(tx *sqlstore.Tx) (err error) { n, err = tx.CountProducts(context.Background(), st.ID); return })
		if err != nil || n != len(hostile)+1 {
			t.Fatalf("%d products stored, want %d (%v)", n, len(hostile)+1, err)
		}
	})
}

func urlQuery(s string) string { return url.QueryEscape(s) }

// jsonString is s as encoding/json writes it inside a string (HTML characters escaped).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}
