package app_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/catalog"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

func TestAPI_ClerkIsForbiddenAdminRoutes(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		_, users := s.store("alpha")
		clerk := s.login("alpha", "clerk@example.com")
		a := s.call("GET", "/api/v1/stores/alpha/users", clerk.AccessToken, nil)
		expectStatus(t, "clerk lists users", a, http.StatusForbidden)
		if typ := a.problemType(t); !strings.HasSuffix(typ, "forbidden") {
			t.Fatalf("problem type %q", typ)
		}
		expectStatus(t, "clerk reads the audit log", s.call("GET", "/api/v1/stores/alpha/audit-events", clerk.AccessToken, nil), http.StatusForbidden)
		expectStatus(t, "clerk deactivates the admin", s.call("PATCH", "/api/v1/stores/alpha/users/"+string(users[shop.RoleAdmin].ID),
			clerk.AccessToken, map[string]any{"active": false}), http.StatusForbidden)
		customer := s.login("alpha", "customer@example.com")
		expectStatus(t, "customer lists users", s.call("GET", "/api/v1/stores/alpha/users", customer.AccessToken, nil), http.StatusForbidden)
		expectStatus(t, "store admin on the platform API", s.call("GET", "/api/v1/platform/stores", s.login("alpha", "admin@example.com").AccessToken, nil), http.StatusForbidden)
		expectStatus(t, "anonymous lists users", s.call("GET", "/api/v1/stores/alpha/users", "", nil), http.StatusUnauthorized)

		admin := s.login("alpha", "admin@example.com")
		a = s.call("GET", "/api/v1/stores/alpha/users", admin.AccessToken, nil)
		expectStatus(t, "admin lists users", a, http.StatusOK)
		var page struct {
			Items []struct {
				Email string `json:"email"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		a.json(t, &page)
		if len(page.Items) != 3 || page.NextCursor != nil {
			t.Fatalf("admin's user list: %s", a.body)
		}
		if a.header.Get("Cache-Control") != "no-store" {
			t.Fatal("signed-in answer without Cache-Control: no-store")
		}
	})
}

func TestAPI_OtherStoresObjectsAreNotFound(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		_, usersA := s.store("store-a")
		_, usersB := s.store("store-b")
		adminA := s.login("store-a", "admin@example.com")
		bUser := string(usersB[shop.RoleCustomer].ID)
		cases := map[string]answer{
			"B's user through B's path":    s.call("GET", "/api/v1/stores/store-b/users/"+bUser, adminA.AccessToken, nil),
			"B's user through A's path":    s.call("GET", "/api/v1/stores/store-a/users/"+bUser, adminA.AccessToken, nil),
			"B's user list":                s.call("GET", "/api/v1/stores/store-b/users", adminA.AccessToken, nil),
			"B's audit log":                s.call("GET", "/api/v1/stores/store-b/audit-events", adminA.AccessToken, nil),
			"deactivate B's user via A":    s.call("PATCH", "/api/v1/stores/store-a/users/"+bUser, adminA.AccessToken, map[string]any{"active": false}),
			"revoke B's sessions via A":    s.call("POST", "/api/v1/stores/store-a/users/"+bUser+"/revoke-sessions", adminA.AccessToken, nil),
			"a store that does not exist":  s.call("GET", "/api/v1/stores/store-c/users", adminA.AccessToken, nil),
			"a malformed id":               s.call("GET", "/api/v1/stores/store-a/users/1%20OR%201=1", adminA.AccessToken, nil),
			"B's product through A's path": s.call("GET", "/api/v1/stores/store-a/products/"+s.product("store-b"), "", nil),
		}
		for name, a := range cases {
			if a.status != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404; body %s", name, a.status, a.body)
				continue
			}
			if strings.Contains(string(a.body), bUser) {
				t.Errorf("%s: 404 answer names the object", name)
			}
		}
		// B's user was not touched, and A's own objects are found.
		u, err := s.app.Identity.GetUser(context.Background(), shop.System(), usersB[shop.RoleCustomer].StoreID, usersB[shop.RoleCustomer].ID)
		if err != nil || !u.Active {
			t.Fatalf("store B's user changed: %+v %v", u, err)
		}
		expectStatus(t, "A's own user", s.call("GET", "/api/v1/stores/store-a/users/"+string(usersA[shop.RoleClerk].ID), adminA.AccessToken, nil), http.StatusOK)
	})
}

// product returns the id of the first product of store, creating a catalogue if there is none.
func (s *testShop) product(slug string) string {
	s.t.Helper()
	st, err := s.app.Stores.BySlug(context.Background(), slug)
	if err != nil {
		s.t.Fatal(err)
	}
	page, err := s.app.Catalog.Products(context.Background(), st.ID, catalog.Query{Limit: 1})
	if err != nil {
		s.t.Fatal(err)
	}
	if len(page.Products) == 0 {
		if _, err := s.app.Catalog.Import(context.Background(), shop.System(), st.ID, demoSeeds()); err != nil {
			s.t.Fatal(err)
		}
		return s.product(slug)
	}
	return page.Products[0].ID
}

func TestAPI_LogoutEndsSessionAtOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("shop-one")
		tok := s.login("shop-one", "customer@example.com")
		other := s.login("shop-one", "customer@example.com")
		expectStatus(t, "me before logout", s.call("GET", "/api/v1/me", tok.AccessToken, nil), http.StatusOK)
		expectStatus(t, "logout", s.call("POST", "/api/v1/auth/logout", tok.AccessToken, nil), http.StatusNoContent)
		a := s.call("GET", "/api/v1/me", tok.AccessToken, nil)
		expectStatus(t, "me with the revoked session's access token", a, http.StatusUnauthorized)
		if !strings.HasSuffix(a.problemType(t), "unauthenticated") || a.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("401 answer: %v %s", a.header, a.body)
		}
		expectStatus(t, "refresh of the revoked session", s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}), http.StatusUnauthorized)
		expectStatus(t, "the user's other session", s.call("GET", "/api/v1/me", other.AccessToken, nil), http.StatusOK)
	})
}

func TestAPI_AdminRevocationAndDeactivationEndSessions(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		_, users := s.store("revokers")
		admin := s.login("revokers", "admin@example.com")
		clerk := s.login("revokers", "clerk@example.com")
		clerkID := string(users[shop.RoleClerk].ID)
		a := s.call("POST", "/api/v1/stores/revokers/users/"+clerkID+"/revoke-sessions", admin.AccessToken, nil)
		expectStatus(t, "revoke", a, http.StatusOK)
		expectStatus(t, "clerk after revocation", s.call("GET", "/api/v1/me", clerk.AccessToken, nil), http.StatusUnauthorized)

		clerk = s.login("revokers", "clerk@example.com")
		expectStatus(t, "deactivate", s.call("PATCH", "/api/v1/stores/revokers/users/"+clerkID, admin.AccessToken, map[string]any{"active": false}), http.StatusOK)
		expectStatus(t, "clerk after deactivation", s.call("GET", "/api/v1/me", clerk.AccessToken, nil), http.StatusUnauthorized)
		a = s.call("POST", "/api/v1/stores/revokers/auth/login", "", map[string]string{"email": "clerk@example.com", "password": testPassword})
		expectStatus(t, "deactivated clerk signs in", a, http.StatusUnauthorized)

		// The last active admin cannot be demoted or deactivated, not even by themselves.
		adminID := string(users[shop.RoleAdmin].ID)
		expectStatus(t, "demote the last admin", s.call("PATCH", "/api/v1/stores/revokers/users/"+adminID, admin.AccessToken, map[string]any{"role": "clerk"}), http.StatusConflict)
		expectStatus(t, "deactivate the last admin", s.call("PATCH", "/api/v1/stores/revokers/users/"+adminID, admin.AccessToken, map[string]any{"active": false}), http.StatusConflict)
		expectStatus(t, "admin still works", s.call("GET", "/api/v1/me", admin.AccessToken, nil), http.StatusOK)
	})
}

func TestAPI_ForgedExpiredAndTamperedTokensAreRefused(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		_, users := s.store("tokens")
		tok := s.login("tokens", "admin@example.com")
		sid := sessionID(t, tok.AccessToken)
		admin := users[shop.RoleAdmin]
		signer, err := identity.NewSigner(identity.DeriveKey(s.secret, "jwt"))
		if err != nil {
			t.Fatal(err)
		}
		// Signed with the shop's own key, bound to a live session, but expired.
		expired, _ := signer.Sign(admin.ID, admin.StoreID, admin.Role, sid, time.Now().Add(-20*time.Minute), 15*time.Minute)
		// Signed with the right key for a session that does not exist.
		ghost, _ := signer.Sign(admin.ID, admin.StoreID, admin.Role, shop.NewID(), time.Now(), 15*time.Minute)
		// Signed with another key.
		otherSigner, _ := identity.NewSigner(identity.DeriveKey([]byte("someone else's secret of 32 bytes"), "jwt"))
		foreign, _ := otherSigner.Sign(admin.ID, admin.StoreID, admin.Role, sid, time.Now(), 15*time.Minute)
		parts := strings.Split(tok.AccessToken, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		promoted := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"role":"admin"`, `"role":"operator"`, 1)))
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		cases := map[string]string{
			"expired":               expired,
			"unknown session":       ghost,
			"foreign key":           foreign,
			"tampered payload":      parts[0] + "." + promoted + "." + parts[2],
			"alg none":              none + "." + parts[1] + ".",
			"alg none, signature":   none + "." + parts[1] + "." + parts[2],
			"signature stripped":    parts[0] + "." + parts[1] + ".",
			"not a JWT":             "hello",
			"refresh token as JWT":  tok.RefreshToken,
			"access token reversed": reverse(tok.AccessToken),
		}
		for name, bad := range cases {
			a := s.call("GET", "/api/v1/me", bad, nil)
			if a.status != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, a.status)
			}
		}
		a := s.call("GET", "/api/v1/me", "", nil, "Authorization", "Basic YWRtaW46YWRtaW4=")
		expectStatus(t, "basic auth", a, http.StatusUnauthorized)
		// The genuine token still works: the refusals above were about the tokens, not the session.
		expectStatus(t, "genuine token", s.call("GET", "/api/v1/me", tok.AccessToken, nil), http.StatusOK)
	})
}

func sessionID(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(payload), `"sid":"`)
	if i < 0 {
		t.Fatalf("no sid in %s", payload)
	}
	rest := string(payload)[i+7:]
	return rest[:strings.Index(rest, `"`)]
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func TestAPI_RefreshRotatesAndReuseEndsTheSession(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("rotate")
		first := s.login("rotate", "customer@example.com")
		a := s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
		expectStatus(t, "refresh", a, http.StatusOK)
		var second identity.Tokens
		a.json(t, &second)
		if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
			t.Fatal("refresh did not rotate the refresh token")
		}
		expectStatus(t, "new access token", s.call("GET", "/api/v1/me", second.AccessToken, nil), http.StatusOK)
		// The old refresh token is presented again: someone copied it. The whole session ends.
		expectStatus(t, "reuse", s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}), http.StatusUnauthorized)
		expectStatus(t, "access token after reuse", s.call("GET", "/api/v1/me", second.AccessToken, nil), http.StatusUnauthorized)
		expectStatus(t, "newest refresh after reuse", s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}), http.StatusUnauthorized)
	})
}

func TestAPI_LoginFailuresLookAlikeAndAreAudited(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		st, _ := s.store("careful")
		wrong := s.call("POST", "/api/v1/stores/careful/auth/login", "", map[string]string{"email": "admin@example.com", "password": "not the password at all"})
		unknown := s.call("POST", "/api/v1/stores/careful/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "not the password at all"})
		expectStatus(t, "wrong password", wrong, http.StatusUnauthorized)
		expectStatus(t, "unknown e-mail", unknown, http.StatusUnauthorized)
		strip := func(b []byte) string { // all but the occurrence: its instance and request id
			s := string(b)
			return s[:strings.Index(s, `"instance"`)]
		}
		if strip(wrong.body) != strip(unknown.body) || !strings.Contains(string(wrong.body), "Invalid credentials.") {
			t.Fatalf("failures differ:\n%s\n%s", wrong.body, unknown.body)
		}
		// The same e-mail in another store does not sign in here.
		s.store("elsewhere")
		expectStatus(t, "other store's account", s.call("POST", "/api/v1/stores/careful/auth/login", "", map[string]string{"email": "x@example.com", "password": testPassword}), http.StatusUnauthorized)

		tok := s.login("careful", "admin@example.com")
		expectStatus(t, "logout", s.call("POST", "/api/v1/auth/logout", tok.AccessToken, nil), http.StatusNoContent)
		admin := s.login("careful", "admin@example.com")
		a := s.call("GET", "/api/v1/stores/careful/audit-events?limit=100", admin.AccessToken, nil)
		expectStatus(t, "audit events", a, http.StatusOK)
		var page struct {
			Items []audit.Event `json:"items"`
		}
		a.json(t, &page)
		count := map[string]int{}
		for _, e := range page.Items {
			count[e.Action]++
			if e.StoreID != st.ID || e.IP == "" || e.OccurredAt.IsZero() {
				t.Errorf("incomplete audit event %+v", e)
			}
			if strings.Contains(e.Detail["email"]+e.Detail["reason"], "not the password") {
				t.Fatal("a password reached the audit log")
			}
		}
		if count["auth.login.failure"] != 3 || count["auth.login.success"] != 2 || count["auth.logout"] != 1 || count["user.create"] != 3 {
			t.Fatalf("audit actions %v", count)
		}
	})
}

func TestAPI_SuspendedStoreAnswers403AndRefusesSignIn(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("paused")
		s.operator("op@platform.example")
		op := s.login("", "op@platform.example")
		expectStatus(t, "operator reads a store's users", s.call("GET", "/api/v1/stores/paused/users", op.AccessToken, nil), http.StatusNotFound)
		// The store behind a slug is cached: suspending must forget it at once, not after a second.
		expectStatus(t, "catalogue before", s.call("GET", "/api/v1/stores/paused/products", "", nil), http.StatusOK)
		expectStatus(t, "suspend", s.call("POST", "/api/v1/platform/stores/paused/suspend", op.AccessToken, nil), http.StatusOK)
		a := s.call("GET", "/api/v1/stores/paused/products", "", nil)
		expectStatus(t, "suspended catalogue", a, http.StatusForbidden)
		if !strings.HasSuffix(a.problemType(t), "store-suspended") {
			t.Fatalf("problem %s", a.body)
		}
		expectStatus(t, "sign-in to a suspended store", s.call("POST", "/api/v1/stores/paused/auth/login", "", map[string]string{"email": "admin@example.com", "password": testPassword}), http.StatusForbidden)
		expectStatus(t, "resume", s.call("POST", "/api/v1/platform/stores/paused/resume", op.AccessToken, nil), http.StatusOK)
		s.login("paused", "admin@example.com")
	})
}

func TestAPI_StrictInput(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("strict")
	admin := s.login("strict", "admin@example.com")
	login := "/api/v1/stores/strict/auth/login"
	cases := []struct {
		name   string
		body   any
		hdr    []string
		status int
		field  string
	}{
		{"unknown field", `{"email":"a@example.com","password":"x","role":"admin"}`, nil, 422, "role"},
		{"wrong type", `{"email":1,"password":"x"}`, nil, 422, "email"},
		{"trailing data", `{"email":"a@example.com","password":"x"} {}`, nil, 400, ""},
		{"not JSON", `email=a&password=b`, nil, 400, ""},
		{"empty", ``, nil, 400, ""},
		{"form content type", `{"email":"a@example.com","password":"x"}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"two megabytes", `{"email":"` + strings.Repeat("a", 2<<20) + `","password":"x"}`, nil, 413, ""},
	}
	for _, c := range cases {
		a := s.call("POST", login, "", c.body, c.hdr...)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, a.status, c.status, a.body)
			continue
		}
		a.problemType(t)
		if c.field != "" && !strings.Contains(string(a.body), `"field":"`+c.field+`"`) {
			t.Errorf("%s: field %s not named: %s", c.name, c.field, a.body)
		}
	}
	// Creating a user may not set what the server owns.
	a := s.call("POST", "/api/v1/stores/strict/users", admin.AccessToken, `{"email":"new@example.com","role":"clerk","password":"long enough password","id":"x"}`)
	expectStatus(t, "user with an id", a, 422)
	expectStatus(t, "limit out of range", s.call("GET", "/api/v1/stores/strict/users?limit=1000", admin.AccessToken, nil), 422)
	expectStatus(t, "unknown method", s.call("PUT", "/api/v1/me", admin.AccessToken, nil), http.StatusMethodNotAllowed)
	expectStatus(t, "TRACE", s.call("TRACE", "/api/v1/me", "", nil), http.StatusMethodNotAllowed)
	expectStatus(t, "no debug endpoints", s.call("GET", "/debug/pprof/", "", nil), http.StatusNotFound)
}
