package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"secureshop/internal/access"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
	"secureshop/internal/web"
)

// public lists the routes anyone may call. A route that names neither a permission nor sign-in
// must be here, or the matrix test fails: a new route cannot be left without a rule.
var public = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /api/v1/openapi.json": true,
	"POST /api/v1/stores/{store}/auth/login": true, "POST /api/v1/platform/auth/login": true,
	"POST /api/v1/stores/{store}/auth/mfa": true, "POST /api/v1/platform/auth/mfa": true,
	"POST /api/v1/stores/{store}/auth/register": true, "POST /api/v1/stores/{store}/auth/verify-email": true,
	"POST /api/v1/stores/{store}/auth/password/forgot": true, "POST /api/v1/stores/{store}/auth/password/reset": true,
	"POST /api/v1/auth/refresh": true,
	// Verified by the payment provider's signature, not by a session (TestWebhooks_*).
	"POST /api/v1/payments/webhooks/{provider}": true,
	"GET /api/v1/stores/{store}/products":       true, "GET /api/v1/stores/{store}/products/{id}": true, "GET /api/v1/stores/{store}/categories": true,
	"GET /{$}": true, "GET /problems/{slug}": true, "GET /static/{file}": true, "GET /s/{store}/{$}": true, "GET /s/{store}/products/{id}": true,
	"GET /s/{store}/login": true, "POST /s/{store}/login": true, "POST /s/{store}/login/mfa": true,
	"GET /platform/login": true, "POST /platform/login": true, "POST /platform/login/mfa": true,
	"GET /s/{store}/register": true, "POST /s/{store}/register": true, "GET /s/{store}/verify": true, "POST /s/{store}/verify": true,
	"GET /s/{store}/forgot": true, "POST /s/{store}/forgot": true, "GET /s/{store}/reset": true, "POST /s/{store}/reset": true,
	// A guest's checkout, and their order behind its link's token (TestGuestCheckout_*, TestBrowser_GuestBuys*).
	"POST /api/v1/stores/{store}/guest-checkout/quote": true, "POST /api/v1/stores/{store}/guest-checkout": true,
	"GET /api/v1/stores/{store}/guest-orders/{token}": true, "GET /s/{store}/checkout/guest": true, "POST /s/{store}/checkout/guest": true,
	"GET /s/{store}/guest/orders/{token}": true, "POST /s/{store}/guest/orders/{token}/pay": true,
	"POST /s/{store}/guest/orders/{token}/cancel": true, "POST /api/v1/stores/{store}/guest-orders/{token}/cancel": true,
	"GET /s/{store}/guest/orders/{token}/invoices/{invoice}": true, "GET /s/{store}/guest/orders/{token}/invoices/{invoice}/pdf": true,
}

// shopping routes are open to visitors and customers (a visitor's cart lives in their session),
// but staff accounts do not shop: 403.
var shopping = map[string]bool{"GET /s/{store}/cart": true, "POST /s/{store}/cart/items": true, "POST /s/{store}/cart/items/{product_id}": true}

// endsSession are routes that end the caller's sessions; they are tested on their own.
var endsSession = map[string]bool{"POST /api/v1/auth/logout": true, "POST /logout": true,
	"POST /api/v1/me/sessions/revoke-others": true, "POST /s/{store}/account/sessions/end-others": true}

type actor struct {
	name    string
	role    shop.Role // "" for anonymous
	own     bool      // a member of the store in the path
	token   string
	browser *browser
}

// browserLogin signs in through the form (with a mailed code when a second factor is asked).
func (s *testShop) browserLogin(loginPath, email string) *browser {
	s.t.Helper()
	b := &browser{t: s.t, s: s, cookies: map[string]*http.Cookie{}}
	_, page := b.do("GET", loginPath, nil)
	resp, page := b.do("POST", loginPath, url.Values{"csrf": {csrfOf(s.t, page)}, "email": {email}, "password": {testPassword}})
	if resp.StatusCode == http.StatusOK && strings.Contains(page, `name="mfa_token"`) {
		token := regexpValue(page, "mfa_token")
		mfa := strings.TrimSuffix(loginPath, "/login") + "/login/mfa"
		_, _ = b.do("POST", mfa, url.Values{"csrf": {csrfOf(s.t, page)}, "mfa_token": {token}, "method": {"email"}})
		resp, _ = b.do("POST", mfa, url.Values{"csrf": {csrfOf(s.t, page)}, "mfa_token": {token}, "method": {"email"}, "code": {s.mailedCode(email)}})
	}
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("browser sign-in of %s: %d", email, resp.StatusCode)
	}
	return b
}

func regexpValue(page, name string) string {
	i := strings.Index(page, `name="`+name+`" value="`)
	if i < 0 {
		return ""
	}
	rest := page[i+len(`name="`+name+`" value="`):]
	return rest[:strings.Index(rest, `"`)]
}

func TestPermissionMatrix_EveryRouteEveryRoleBothStores(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	own, ownUsers := s.store("own")
	s.store("other")
	s.store("spare")
	ctx := context.Background()
	target, err := s.app.Identity.CreateUser(ctx, shop.System(), own.ID, identity.NewUser{Email: "target@example.com", Role: shop.RoleCustomer, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	s.operator("ops@example.com")
	product := s.newProduct("own", "MATRIX-1", 500, 100)
	archive := s.newProduct("own", "MATRIX-ARCHIVE", 500, 100)
	cust := s.login("own", "customer@example.com").AccessToken
	a := s.buy("own", cust, product.ID, 1)
	var order orderJSON
	a.json(t, &order)
	_ = ownUsers
	// A job of the store's (the order's confirmation): retrying one that did not fail is refused
	// (409) once the caller may, so the matrix tells the permission from the job.
	s.settle()
	var mailJob int64
	if err := testenv.RawDB(t, s.app.Cfg.Database).QueryRow("SELECT max(id) FROM river_job WHERE kind = 'order_mail'").Scan(&mailJob); err != nil {
		t.Fatal(err)
	}
	// Two addresses of the own store's customer: one for the API's delete, one for the page's.
	var addresses []string
	for range 2 {
		var a struct{ ID string }
		s.call("POST", "/api/v1/stores/own/me/addresses", cust, map[string]any{"address": map[string]string{"name": "M", "line1": "1 Matrix Way",
			"city": "London", "postcode": "SW1A " + strconv.Itoa(len(addresses)+1) + "AA", "country": "GB"}}).json(t, &a)
		addresses = append(addresses, a.ID)
	}
	var invoiceID string // the paid order's invoice
	if err := testenv.RawDB(t, s.app.Cfg.Database).QueryRow("SELECT id FROM invoices WHERE order_id = ?", order.ID).Scan(&invoiceID); err != nil {
		t.Fatal(err)
	}

	op := s.login("", "ops@example.com")
	actors := []actor{{name: "anonymous", browser: &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}}}
	for _, store := range []string{"own", "other"} {
		for _, r := range shop.StoreRoles {
			email := string(r) + "@example.com"
			actors = append(actors, actor{name: string(r) + " of " + store, role: r, own: store == "own",
				token: s.login(store, email).AccessToken, browser: s.browserLogin("/s/"+store+"/login", email)})
		}
	}
	actors = append(actors, actor{name: "operator", role: shop.RoleOperator, token: op.AccessToken, browser: s.browserLogin("/platform/login", "ops@example.com")})

	fill := func(rt web.Route) string {
		p := strings.ReplaceAll(rt.Path, "{$}", "")
		p = strings.ReplaceAll(p, "{store}", "own")
		p = strings.ReplaceAll(p, "{slug}", "spare")
		p = strings.ReplaceAll(p, "{product_id}", product.ID)
		p = strings.ReplaceAll(p, "{file}", "none.css")
		p = strings.ReplaceAll(p, "{invoice}", invoiceID)
		id := shop.NewID()
		switch {
		case strings.Contains(p, "/users/{id}"):
			id = string(target.ID)
		case strings.Contains(p, "/products/{id}") && (rt.Method == "DELETE" || strings.HasSuffix(p, "/archive")):
			id = archive.ID
		case strings.Contains(p, "/products/{id}"):
			id = product.ID
		case strings.Contains(p, "/orders/{id}"):
			id = order.ID
		case strings.Contains(p, "/jobs/{id}"):
			id = strconv.FormatInt(mailJob, 10)
		case strings.Contains(p, "/me/addresses/{id}"):
			id = addresses[0]
		case strings.Contains(p, "/account/addresses/{id}"):
			id = addresses[1]
		}
		return strings.ReplaceAll(p, "{id}", id)
	}
	send := func(rt web.Route, who actor, path string) int {
		if rt.API {
			var body any
			if rt.Method != "GET" {
				body = "{}"
			}
			return s.call(rt.Method, path, who.token, body).status
		}
		if rt.Method == "GET" {
			resp, _ := who.browser.do("GET", path, nil)
			return resp.StatusCode
		}
		_, page := who.browser.do("GET", "/s/own/login", nil)
		token := csrfOf(t, page)
		if who.browser.cookies["__Host-shop_session"] != nil {
			_, page = who.browser.do("GET", "/s/own/cart", nil)
			if c := regexpValue(page, "csrf"); c != "" {
				token = c
			}
		}
		resp, _ := who.browser.do(rt.Method, path, url.Values{"csrf": {token}})
		return resp.StatusCode
	}
	checked := 0
	for _, rt := range s.app.Web.Routes() {
		key := rt.Method + " " + rt.Path
		if endsSession[key] {
			continue
		}
		if rt.Perm == "" && !rt.Auth && !public[key] && !shopping[key] {
			t.Errorf("%s has no access rule: give it a permission, Auth, or list it as public in this test", key)
			continue
		}
		path := fill(rt)
		storeRoute := strings.Contains(rt.Path, "{store}")
		for _, who := range actors {
			got := send(rt, who, path)
			checked++
			var want string
			ok := false
			signedOut := rt.API && got == 401 || !rt.API && rt.Method == "GET" && got == http.StatusSeeOther || !rt.API && got == 401
			switch {
			case shopping[key] && who.own && (who.role == shop.RoleAdmin || who.role == shop.RoleClerk):
				want, ok = "403 (staff do not shop)", got == 403
			case shopping[key], public[key]:
				want, ok = "not 403 and no server error", got != 403 && got < 500
			case who.role == "":
				want, ok = "a sign-in answer (401 or a redirect to sign in)", signedOut
			case rt.Auth:
				want, ok = "allowed (not 401/403)", got != 401 && got != 403 && got < 500
			case strings.Contains(rt.Path, "/sessions/{id}") && (who.own || !storeRoute) && access.Can(who.role, rt.Perm):
				want, ok = "allowed; 404 as the session is not the caller's", got == 404
			case storeRoute && !who.own:
				want, ok = "404 (another store's)", got == 404
			case !access.Can(who.role, rt.Perm):
				want, ok = "403", got == 403
			case rt.Method == "GET":
				want, ok = "200", got == 200 || (!rt.API && got == http.StatusSeeOther)
			default:
				want, ok = "allowed (not 401/403/404)", got != 401 && got != 403 && got != 404 && got < 500
			}
			if !ok {
				t.Errorf("%s as %s (%s): got %d, want %s", key, who.name, path, got, want)
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d checks: the route table was not walked", checked)
	}
}
