package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// TestOperators_MustEnrolASecondFactor: a platform operator signed in with a password alone reaches
// nothing but their account until they enrol TOTP — on the API and in the browser — and afterwards
// every sign-in asks for the second factor, which they cannot turn off.
func TestOperators_MustEnrolASecondFactor(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("ops-store")
	if _, err := s.app.Identity.CreateOperator(context.Background(), shop.System(), "ops@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	a := s.call("POST", "/api/v1/platform/auth/login", "", map[string]string{"email": "ops@example.com", "password": testPassword})
	expectStatus(t, "password sign-in", a, http.StatusOK)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	a.json(t, &tok)
	a = s.call("POST", "/api/v1/platform/stores/ops-store/suspend", tok.AccessToken, nil)
	expectStatus(t, "suspend a store with a password alone", a, http.StatusForbidden)
	if !strings.HasSuffix(a.problemType(t), "mfa-enrollment-required") {
		t.Fatalf("problem %s", a.body)
	}
	expectStatus(t, "list stores with a password alone", s.call("GET", "/api/v1/platform/stores", tok.AccessToken, nil), http.StatusForbidden)
	a = s.call("GET", "/api/v1/me", tok.AccessToken, nil)
	if !strings.Contains(string(a.body), `"mfa_enrollment_required":true`) {
		t.Fatalf("me: %s", a.body)
	}

	// In the browser: the platform page sends them to their account, which offers enrolment.
	b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
	_, page := b.do("GET", "/platform/login", nil)
	resp, _ := b.do("POST", "/platform/login", url.Values{"csrf": {csrfOf(t, page)}, "email": {"ops@example.com"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/platform/account" {
		t.Fatalf("browser sign-in: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do("GET", "/platform/", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/platform/account" {
		t.Fatalf("the platform page before enrolment: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.do("GET", "/platform/account", nil)
	if !strings.Contains(page, "Platform accounts need two-factor sign-in") || !strings.Contains(page, `action="/platform/account/mfa"`) {
		t.Fatalf("account page:\n%s", page)
	}
	_, page = b.do("POST", "/platform/account/mfa", url.Values{"csrf": {csrfOf(t, page)}})
	secret := regexpText(page, `<code id="totp-secret">`, `</code>`)
	if secret == "" {
		t.Fatalf("no secret on the enrolment page:\n%s", page)
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	resp, page = b.do("POST", "/platform/account/mfa/confirm", url.Values{"csrf": {csrfOf(t, page)}, "code": {code}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="recovery-codes"`) {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := b.do("GET", "/platform/", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "ops-store") {
		t.Fatalf("the platform page after enrolment: %d", resp.StatusCode)
	}
	// The API session opened up too; the next sign-in asks for the second factor, which stays.
	expectStatus(t, "list stores after enrolment", s.call("GET", "/api/v1/platform/stores", tok.AccessToken, nil), http.StatusOK)
	a = s.call("POST", "/api/v1/platform/auth/login", "", map[string]string{"email": "ops@example.com", "password": testPassword})
	if !strings.Contains(string(a.body), `"mfa_required":true`) {
		t.Fatalf("sign-in after enrolment: %s", a.body)
	}
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	expectStatus(t, "operator turns TOTP off", s.call("DELETE", "/api/v1/me/mfa/totp", tok.AccessToken, map[string]string{"code": code}), http.StatusConflict)
}

func regexpText(page, before, after string) string {
	i := strings.Index(page, before)
	if i < 0 {
		return ""
	}
	rest := page[i+len(before):]
	return rest[:strings.Index(rest, after)]
}
