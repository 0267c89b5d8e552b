package app_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"secureshop/internal/testenv"
)

// browser is a minimal cookie-keeping client. Go's cookie jar does not send Secure cookies over
// plain http (browsers do, for localhost), so cookies are kept by hand.
type browser struct {
	t       *testing.T
	s       *testShop
	cookies map[string]*http.Cookie
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.s.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	page, _ := io.ReadAll(resp.Body)
	return resp, string(page)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

func TestPages_SignInAndOut(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("pages")
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	resp, page := b.do("GET", "/s/pages/login", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `<label for="email">`) {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	token := csrfOf(t, page)

	// A form without the token is refused, and so is one with a forged token.
	resp, _ = b.do("POST", "/s/pages/login", url.Values{"email": {"customer@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without CSRF token: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/s/pages/login", url.Values{"csrf": {"forged"}, "email": {"customer@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login with forged CSRF token: %d", resp.StatusCode)
	}
	// A cross-site form post is refused even with the right token.
	resp, _ = b.do("POST", "/s/pages/login", url.Values{"csrf": {token}, "email": {"customer@example.com"}, "password": {testPassword}},
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login post: %d", resp.StatusCode)
	}
	resp, page = b.do("POST", "/s/pages/login", url.Values{"csrf": {token}, "email": {"customer@example.com"}, "password": {"wrong password here"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Invalid credentials.") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/s/pages/login", url.Values{"csrf": {token}, "email": {"customer@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/s/pages/" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := b.cookies["__Host-shop_session"]
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("session cookie %+v", c)
	}
	first := c.Value
	resp, page = b.do("GET", "/s/pages/", nil)
	if !strings.Contains(page, "customer@example.com") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("signed-in page does not show the user or is cacheable")
	}
	sessionToken := csrfOf(t, page)
	if sessionToken == token {
		t.Fatal("form token not renewed at sign-in")
	}
	// The cookie does not work on the API.
	a := s.call("GET", "/api/v1/me", "", nil, "Cookie", "__Host-shop_session="+first)
	expectStatus(t, "cookie on the API", a, http.StatusUnauthorized)

	// Signing out needs the session's form token.
	resp, _ = b.do("POST", "/logout", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with the pre-session token: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/logout", url.Values{"csrf": {sessionToken}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// The old cookie is dead even if someone kept it.
	b.cookies["__Host-shop_session"] = &http.Cookie{Name: "__Host-shop_session", Value: first}
	_, page = b.do("GET", "/s/pages/", nil)
	if strings.Contains(page, "customer@example.com") {
		t.Fatal("session survived logout")
	}
	resp, _ = b.do("GET", "/platform/", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/platform/login" {
		t.Fatalf("platform page without sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestPages_SecurityHeadersAndErrors(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("heads")
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	for _, path := range []string{"/", "/s/heads/", "/s/heads/login", "/s/nowhere/", "/api/v1/stores/heads/products", "/api/v1/me"} {
		resp, page := b.do("GET", path, nil)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") == "" || h.Get("X-Request-Id") == "" {
			t.Errorf("%s: weak headers %v", path, h)
		}
		if strings.Contains(page, "goroutine") || strings.Contains(page, "sql:") || strings.Contains(page, ".go:") {
			t.Errorf("%s: internals in the answer", path)
		}
	}
	resp, page := b.do("GET", "/s/nowhere/", nil)
	if resp.StatusCode != 404 || !strings.Contains(page, "Request id") {
		t.Fatalf("unknown store page: %d", resp.StatusCode)
	}
}

func TestPages_HostileNameThroughTheRegistrationForm(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("forms")
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	_, page := b.do("GET", "/s/forms/register", nil)
	name := "<script>alert(\"x\")</script> \u202eevil"
	resp, page := b.do("POST", "/s/forms/register", url.Values{"csrf": {csrfOf(t, page)}, "name": {name},
		"email": {"<b>x</b>@example.com"}, "password": {"quiet violin harbour 88"}})
	if resp.StatusCode != 422 || strings.Contains(page, "<b>x</b>") {
		t.Fatalf("hostile e-mail: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/s/forms/register", url.Values{"csrf": {csrfOf(t, page)}, "name": {name},
		"email": {"form@example.com"}, "password": {"quiet violin harbour 88"}})
	if resp.StatusCode != 200 {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	_, page = b.do("GET", "/s/forms/login", nil)
	resp, _ = b.do("POST", "/s/forms/login", url.Values{"csrf": {csrfOf(t, page)}, "email": {"form@example.com"}, "password": {"quiet violin harbour 88"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, page = b.do("GET", "/s/forms/account", nil)
	if strings.Contains(page, name) || !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatalf("account page shows the name unescaped or not at all")
	}
}

// The storefront's content is rendered once per listing and shared by every visitor; what is
// the visitor's own — who is signed in, their form token — must never travel with it.
func TestPages_StorefrontSharesNoVisitorData(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("shared")
	s.newProduct("shared", "SHARED-1", 250, 4)
	customer := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	_, page := customer.do("GET", "/s/shared/login", nil)
	resp, _ := customer.do("POST", "/s/shared/login", url.Values{"csrf": {csrfOf(t, page)}, "email": {"customer@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, mine := customer.do("GET", "/s/shared/", nil)
	token := csrfOf(t, mine)
	if !strings.Contains(mine, "customer@example.com") || !strings.Contains(mine, "Product SHARED-1") {
		t.Fatalf("the customer's storefront lacks them or the product:\n%s", mine)
	}
	visitor := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	for range 2 { // served from the kept content
		_, theirs := visitor.do("GET", "/s/shared/", nil)
		if !strings.Contains(theirs, "Product SHARED-1") || !strings.Contains(theirs, `href="/s/shared/login"`) {
			t.Fatalf("the visitor's storefront:\n%s", theirs)
		}
		if strings.Contains(theirs, "customer@example.com") || strings.Contains(theirs, token) || strings.Contains(theirs, "Sign out") {
			t.Fatalf("the visitor sees the customer's session:\n%s", theirs)
		}
	}
	// And the customer still sees themselves on the kept content.
	if _, again := customer.do("GET", "/s/shared/", nil); !strings.Contains(again, "customer@example.com") || csrfOf(t, again) != token {
		t.Fatalf("the customer's storefront, second time:\n%s", again)
	}
}
