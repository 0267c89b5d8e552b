package app_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/testenv"
)

// mailTo returns the decoded body of the newest mail to address whose subject contains subject,
// waiting a moment for mail that goes out after the answer (a password reset's).
func (s *testShop) mailTo(address, subject string) string {
	s.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if body, ok := s.findMail(address, subject); ok {
			return body
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no mail to %s about %q", address, subject)
		}
	}
}

func (s *testShop) findMail(address, subject string) (string, bool) {
	s.t.Helper()
	m, ok := testenv.NewestMail(s.t, s.app.Cfg.MailDir, address, subject)
	return m.Body, ok
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

func linkToken(t *testing.T, body string) string {
	t.Helper()
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link in mail:\n%s", body)
	}
	return m[1]
}

func TestRegistration_VerifyAndNoEnumeration(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("reg")
		p := s.newProduct("reg", "R-1", 100, 5)
		reg := "/api/v1/stores/reg/auth/register"
		expectStatus(t, "weak password", s.call("POST", reg, "", map[string]string{"email": "new@example.com", "password": "password1234", "name": "New"}), 422)
		expectStatus(t, "password made of the e-mail", s.call("POST", reg, "", map[string]string{"email": "zanzibar@example.com", "password": "zanzibar@example.com!", "name": "Z"}), 422)
		expectStatus(t, "short password", s.call("POST", reg, "", map[string]string{"email": "new@example.com", "password": "short"}), 422)
		fresh := s.call("POST", reg, "", map[string]string{"email": "new@example.com", "password": "quiet violin harbour 88", "name": "New"})
		taken := s.call("POST", reg, "", map[string]string{"email": "customer@example.com", "password": "quiet violin harbour 88", "name": "Someone"})
		expectStatus(t, "register", fresh, 201)
		expectStatus(t, "register a taken address", taken, 201)
		if string(fresh.body) != string(taken.body) {
			t.Fatalf("answers differ: %s / %s", fresh.body, taken.body)
		}
		if !strings.Contains(s.mailTo("customer@example.com", "someone tried to register"), "already has one") {
			t.Fatal("owner of the taken address not told")
		}
		tok := s.loginWith("reg", "new@example.com", "quiet violin harbour 88").AccessToken
		expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/reg/cart/items/"+p.ID, tok, `{"quantity":1}`), 200)
		a := s.call("POST", "/api/v1/stores/reg/checkout", tok, checkoutBody, "Idempotency-Key", testenv.RandomName("k"))
		expectStatus(t, "unverified checkout", a, 403)
		if !strings.HasSuffix(a.problemType(t), "email-unverified") {
			t.Fatalf("problem %s", a.body)
		}
		token := linkToken(t, s.mailTo("new@example.com", "confirm your e-mail"))
		expectStatus(t, "verify with a wrong token", s.call("POST", "/api/v1/stores/reg/auth/verify-email", "", `{"token":"nope"}`), 422)
		expectStatus(t, "verify", s.call("POST", "/api/v1/stores/reg/auth/verify-email", "", map[string]string{"token": token}), 204)
		expectStatus(t, "verify twice", s.call("POST", "/api/v1/stores/reg/auth/verify-email", "", map[string]string{"token": token}), 422)
		expectStatus(t, "verified checkout", s.call("POST", "/api/v1/stores/reg/checkout", tok, checkoutBody, "Idempotency-Key", testenv.RandomName("k")), 201)
	})
}

func TestPasswordReset_SingleUseAndEndsSessions(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("reset")
		old := s.login("reset", "customer@example.com")
		forgot := "/api/v1/stores/reset/auth/password/forgot"
		known := s.call("POST", forgot, "", `{"email":"customer@example.com"}`)
		unknown := s.call("POST", forgot, "", `{"email":"ghost@example.com"}`)
		expectStatus(t, "forgot", known, 202)
		expectStatus(t, "forgot, unknown", unknown, 202)
		if string(known.body) != string(unknown.body) {
			t.Fatal("forgot-password answers differ")
		}
		token := linkToken(t, s.mailTo("customer@example.com", "reset your password"))
		reset := "/api/v1/stores/reset/auth/password/reset"
		expectStatus(t, "weak new password", s.call("POST", reset, "", map[string]string{"token": token, "password": "123456789012"}), 422)
		expectStatus(t, "reset", s.call("POST", reset, "", map[string]string{"token": token, "password": "amber kettle northward 5"}), 204)
		expectStatus(t, "old session after reset", s.call("GET", "/api/v1/me", old.AccessToken, nil), 401)
		expectStatus(t, "token used twice", s.call("POST", reset, "", map[string]string{"token": token, "password": "second amber kettle 6"}), 422)
		expectStatus(t, "token of another store", s.call("POST", "/api/v1/stores/other/auth/password/reset", "", map[string]string{"token": token, "password": "x"}), 404)
		expectStatus(t, "new password works", s.call("POST", "/api/v1/stores/reset/auth/login", "", map[string]string{"email": "customer@example.com", "password": "amber kettle northward 5"}), 200)
	})
}

func TestSessions_ListEndAndPasswordChange(t *testing.T) {
	s := startShopWith(t, testenv.SQLiteURL(t), identity.Config{AttemptsPerMinute: 1000, AttemptsPerIPMinute: 1000, MaxSessions: 3})
	s.store("sess")
	a1 := s.login("sess", "customer@example.com")
	a2 := s.login("sess", "customer@example.com")
	a := s.call("GET", "/api/v1/me/sessions", a1.AccessToken, nil)
	var list struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	a.json(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("sessions %s", a.body)
	}
	other := ""
	for _, it := range list.Items {
		if !it.Current {
			other = it.ID
		}
	}
	bob := s.customer("sess", "bob@example.com")
	expectStatus(t, "end another user's session", s.call("DELETE", "/api/v1/me/sessions/"+other, bob.AccessToken, nil), 404)
	expectStatus(t, "end my other session", s.call("DELETE", "/api/v1/me/sessions/"+other, a1.AccessToken, nil), 204)
	expectStatus(t, "the ended session", s.call("GET", "/api/v1/me", a2.AccessToken, nil), 401)

	// The session limit ends the oldest.
	b2, b3 := s.login("sess", "customer@example.com"), s.login("sess", "customer@example.com")
	_ = b2
	s.login("sess", "customer@example.com")
	expectStatus(t, "oldest session beyond the limit", s.call("GET", "/api/v1/me", a1.AccessToken, nil), 401)
	expectStatus(t, "newer session", s.call("GET", "/api/v1/me", b3.AccessToken, nil), 200)

	expectStatus(t, "change with a wrong current password", s.call("POST", "/api/v1/me/password", b3.AccessToken, map[string]string{"current_password": "nope", "new_password": "amber kettle northward 5"}), 422)
	expectStatus(t, "change password", s.call("POST", "/api/v1/me/password", b3.AccessToken, map[string]string{"current_password": testPassword, "new_password": "amber kettle northward 5"}), 204)
	expectStatus(t, "this session survives", s.call("GET", "/api/v1/me", b3.AccessToken, nil), 200)
	expectStatus(t, "other sessions end", s.call("GET", "/api/v1/me", b2.AccessToken, nil), 401)
}

func TestAccount_ExportAndDelete(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("gdpr")
	p := s.newProduct("gdpr", "G-1", 300, 5)
	tok := s.login("gdpr", "customer@example.com").AccessToken
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/gdpr/cart/items/"+p.ID, tok, `{"quantity":1}`), 200)
	a := s.call("POST", "/api/v1/stores/gdpr/checkout", tok, checkoutBody, "Idempotency-Key", testenv.RandomName("k"))
	expectStatus(t, "checkout", a, 201)
	var o orderJSON
	a.json(t, &o)
	a = s.call("GET", "/api/v1/me/export", tok, nil)
	expectStatus(t, "export", a, 200)
	if !strings.Contains(string(a.body), "customer@example.com") || !strings.Contains(string(a.body), o.ID) {
		t.Fatalf("export %s", a.body)
	}
	expectStatus(t, "delete with a wrong password", s.call("DELETE", "/api/v1/me", tok, `{"password":"wrong"}`), 422)
	expectStatus(t, "delete", s.call("DELETE", "/api/v1/me", tok, map[string]string{"password": testPassword}), 204)
	expectStatus(t, "session after delete", s.call("GET", "/api/v1/me", tok, nil), 401)
	expectStatus(t, "sign in after delete", s.call("POST", "/api/v1/stores/gdpr/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword}), 401)
	admin := s.login("gdpr", "admin@example.com").AccessToken
	a = s.call("GET", "/api/v1/stores/gdpr/orders/"+o.ID, admin, nil)
	expectStatus(t, "the order stays for the books", a, 200)
	a = s.call("GET", "/api/v1/stores/gdpr/users?limit=100", admin, nil)
	if strings.Contains(string(a.body), "customer@example.com") {
		t.Fatal("the deleted customer's e-mail is still stored")
	}
	expectStatus(t, "staff cannot delete themselves", s.call("DELETE", "/api/v1/me", admin, map[string]string{"password": testPassword}), 409)
}

func TestSettings_PasswordCompositionRule(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("rules")
	admin := s.login("rules", "admin@example.com").AccessToken
	clerk := s.login("rules", "clerk@example.com").AccessToken
	expectStatus(t, "clerk changes settings", s.call("PATCH", "/api/v1/stores/rules/settings", clerk, `{"password_composition":true}`), 403)
	reg := func(pw string) int {
		return s.call("POST", "/api/v1/stores/rules/auth/register", "", map[string]string{"email": "x" + strconv.Itoa(len(pw)) + "@example.com", "password": pw}).status
	}
	if st := reg("correct horse battery staple"); st != 201 {
		t.Fatalf("composition off: %d", st)
	}
	expectStatus(t, "turn on", s.call("PATCH", "/api/v1/stores/rules/settings", admin, `{"password_composition":true}`), 200)
	if st := reg("correct horse battery staples"); st != 422 {
		t.Fatalf("composition on, letters only: %d", st)
	}
	if st := reg("Correct horse battery staple 9!"); st != 201 {
		t.Fatalf("composition on, mixed: %d", st)
	}
}
