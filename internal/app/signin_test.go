package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"secureshop/internal/audit"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestLogin_SixthAttemptAMinuteIsThrottled(t *testing.T) {
	s := startShopWith(t, testenv.SQLiteURL(t), identity.Config{AttemptsPerIPMinute: 1000}) // the account limit is the default 5
	s.store("limits")
	login := "/api/v1/stores/limits/auth/login"
	for _, email := range []string{"customer@example.com", "nobody@example.com"} {
		for i := 1; i <= 5; i++ {
			expectStatus(t, "attempt "+strconv.Itoa(i), s.call("POST", login, "", map[string]string{"email": email, "password": "wrong password " + strconv.Itoa(i)}), 401)
		}
		a := s.call("POST", login, "", map[string]string{"email": email, "password": testPassword})
		expectStatus(t, "sixth attempt of "+email, a, http.StatusTooManyRequests)
		if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After %q", a.header.Get("Retry-After"))
		}
		a.problemType(t)
	}
	// Further refused attempts are not logged one by one: one entry a minute per refused account.
	for i := range 10 {
		expectStatus(t, "throttled again", s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": "again " + strconv.Itoa(i)}), http.StatusTooManyRequests)
	}
	// Another account from the same address is not held back by the account limit.
	expectStatus(t, "another account", s.call("POST", login, "", map[string]string{"email": "clerk@example.com", "password": testPassword}), 200)
	events := s.call("GET", "/api/v1/stores/limits/audit-events?limit=100", s.login("limits", "admin@example.com").AccessToken, nil)
	if n := strings.Count(string(events.body), `"action":"auth.throttled"`); n != 2 {
		t.Errorf("audit log has %d auth.throttled entries, want 2 (one for each account)", n)
	}

	// The per-address limit holds across accounts.
	s2 := startShopWith(t, testenv.SQLiteURL(t), identity.Config{AttemptsPerMinute: 1000})
	s2.store("ip-limits")
	for i := 1; i <= 5; i++ {
		s2.call("POST", "/api/v1/stores/ip-limits/auth/login", "", map[string]string{"email": "user" + strconv.Itoa(i) + "@example.com", "password": "x-x-x-x-x-x-x"})
	}
	expectStatus(t, "sixth attempt from one address", s2.call("POST", "/api/v1/stores/ip-limits/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword}), 429)
	// Refused for the address, attempts on ever new accounts are logged once, not once per account.
	for i := range 10 {
		expectStatus(t, "address refused again", s2.call("POST", "/api/v1/stores/ip-limits/auth/login", "", map[string]string{"email": "other" + strconv.Itoa(i) + "@example.com", "password": "x-x-x-x-x-x-x"}), 429)
	}
	ctx := context.Background()
	st, _ := s2.app.Stores.BySlug(ctx, "ip-limits")
	var page audit.Page
	if err := s2.app.DB.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListAudit(ctx, st.ID, 0, 100); return }); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range page.Events {
		if e.Action == "auth.throttled" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("audit log has %d auth.throttled entries for one refused address, want 1", n)
	}
}

func TestLogin_EleventhBadPasswordLocksTheAccount(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShopWith(t, url, identity.Config{AttemptsPerMinute: 1000, AttemptsPerIPMinute: 1000})
		_, users := s.store("locks")
		login := "/api/v1/stores/locks/auth/login"
		for i := 1; i <= 10; i++ {
			expectStatus(t, "bad password "+strconv.Itoa(i), s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": "not it at all " + strconv.Itoa(i)}), 401)
		}
		expectStatus(t, "eleventh bad password", s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": "still not it"}), 429)
		a := s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": testPassword})
		expectStatus(t, "right password while locked", a, 429)
		if strings.Contains(string(a.body), "access_token") {
			t.Fatal("a locked account got tokens")
		}
		if body := s.mailTo("customer@example.com", "locked"); !strings.Contains(body, "10 failed attempts") {
			t.Fatalf("lock mail: %s", body)
		}
		// A flood of attempts on the locked account is refused without a write to the audit log
		// each: the first refused attempt of the minute is logged, the others are not.
		for i := range 20 {
			expectStatus(t, "attempt on the locked account", s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": "guess " + strconv.Itoa(i)}), 429)
		}
		admin := s.login("locks", "admin@example.com")
		events := s.call("GET", "/api/v1/stores/locks/audit-events?limit=100", admin.AccessToken, nil)
		for action, want := range map[string]int{"auth.lockout": 1, "auth.locked-attempt": 1, "auth.login.failure": 10} {
			if n := strings.Count(string(events.body), `"action":"`+action+`"`); n != want {
				t.Errorf("audit log has %d %s, want %d", n, action, want)
			}
		}
		expectStatus(t, "clerk unlocks", s.call("POST", "/api/v1/stores/locks/users/"+string(users["customer"].ID)+"/unlock", s.login("locks", "clerk@example.com").AccessToken, nil), 403)
		expectStatus(t, "admin unlocks", s.call("POST", "/api/v1/stores/locks/users/"+string(users["customer"].ID)+"/unlock", admin.AccessToken, nil), 204)
		s.login("locks", "customer@example.com")
	})
}

// customerTOTP enrols TOTP for the signed-in customer over the API and returns the secret and
// the recovery codes.
func (s *testShop) customerTOTP(tok string) (string, []string) {
	s.t.Helper()
	a := s.call("POST", "/api/v1/me/mfa/totp", tok, nil)
	expectStatus(s.t, "start enrolment", a, 201)
	var e struct {
		Secret string `json:"secret"`
		URL    string `json:"otpauth_url"`
	}
	a.json(s.t, &e)
	if e.Secret == "" || !strings.HasPrefix(e.URL, "otpauth://totp/") {
		s.t.Fatalf("enrolment %s", a.body)
	}
	expectStatus(s.t, "confirm with a wrong code", s.call("POST", "/api/v1/me/mfa/totp/confirm", tok, `{"code":"000000"}`), 422)
	code, _ := totp.GenerateCode(e.Secret, time.Now().Add(-30*time.Second))
	a = s.call("POST", "/api/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code})
	expectStatus(s.t, "confirm", a, 200)
	var rc struct {
		Codes []string `json:"recovery_codes"`
	}
	a.json(s.t, &rc)
	if len(rc.Codes) != 10 {
		s.t.Fatalf("%d recovery codes", len(rc.Codes))
	}
	return e.Secret, rc.Codes
}

func TestMFA_TOTPCodesWorkOnceAndRecoveryCodesToo(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("mfa")
		tok := s.login("mfa", "customer@example.com").AccessToken
		secret, recovery := s.customerTOTP(tok)
		login := func() string {
			a := s.call("POST", "/api/v1/stores/mfa/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword})
			expectStatus(t, "password", a, 200)
			var c struct {
				Required bool     `json:"mfa_required"`
				Token    string   `json:"mfa_token"`
				Methods  []string `json:"methods"`
			}
			a.json(t, &c)
			if !c.Required || c.Token == "" || strings.Contains(string(a.body), "access_token") || len(c.Methods) != 3 {
				t.Fatalf("login with MFA on: %s", a.body)
			}
			return c.Token
		}
		mfa := func(token, method, code string) answer {
			return s.call("POST", "/api/v1/stores/mfa/auth/mfa", "", map[string]string{"mfa_token": token, "method": method, "code": code})
		}
		now := time.Now()
		code, _ := totp.GenerateCode(secret, now.Add(30*time.Second)) // the next step: unused so far
		expectStatus(t, "current code", mfa(login(), "totp", code), 200)
		expectStatus(t, "the same code again (replay)", mfa(login(), "totp", code), 401)
		older, _ := totp.GenerateCode(secret, now)
		expectStatus(t, "an older code after a newer one", mfa(login(), "totp", older), 401)
		expectStatus(t, "wrong code", mfa(login(), "totp", "123456"), 401)
		expectStatus(t, "a forged challenge", mfa("made-up-token", "totp", code), 401)

		expectStatus(t, "recovery code", mfa(login(), "recovery_code", recovery[0]), 200)
		expectStatus(t, "recovery code again", mfa(login(), "recovery_code", recovery[0]), 401)

		// A mailed code: six digits, once.
		challenge := login()
		expectStatus(t, "ask for a mail code", mfa(challenge, "email", ""), 202)
		mailed := s.mailedCode("customer@example.com")
		if len(mailed) != 6 {
			t.Fatalf("mailed code %q", mailed)
		}
		expectStatus(t, "mailed code", mfa(challenge, "email", mailed), 200)
		expectStatus(t, "a used challenge", mfa(challenge, "email", mailed), 401)
		challenge = login()
		expectStatus(t, "ask again", mfa(challenge, "email", ""), 202)
		mailed = s.mailedCode("customer@example.com")
		for range 5 {
			expectStatus(t, "wrong mailed code", mfa(challenge, "email", "999999"), 401)
		}
		expectStatus(t, "right code after five wrong ones", mfa(challenge, "email", mailed), 401)

		// Turning MFA off needs a current code.
		fresh := mfa(login(), "recovery_code", recovery[1])
		var t2 identity.Tokens
		fresh.json(t, &t2)
		expectStatus(t, "disable without a code", s.call("DELETE", "/api/v1/me/mfa/totp", t2.AccessToken, `{"code":""}`), 422)
		expectStatus(t, "disable with a recovery code", s.call("DELETE", "/api/v1/me/mfa/totp", t2.AccessToken, map[string]string{"code": recovery[2]}), 204)
		expectStatus(t, "password alone again", s.call("POST", "/api/v1/stores/mfa/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword}), 200)
	})
}

func TestMFA_StaffMustEnrolBeforeTheBackOffice(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	st, _ := s.store("enrol")
	ctx := context.Background()
	if _, err := s.app.Identity.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: "new-clerk@example.com", Role: "clerk", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	a := s.call("POST", "/api/v1/stores/enrol/auth/login", "", map[string]string{"email": "new-clerk@example.com", "password": testPassword})
	expectStatus(t, "login", a, 200)
	var tok identity.Tokens
	a.json(t, &tok)
	a = s.call("GET", "/api/v1/stores/enrol/orders", tok.AccessToken, nil)
	expectStatus(t, "back office before enrolment", a, 403)
	if !strings.HasSuffix(a.problemType(t), "mfa-enrollment-required") {
		t.Fatalf("problem %s", a.body)
	}
	a = s.call("GET", "/api/v1/me", tok.AccessToken, nil)
	expectStatus(t, "me before enrolment", a, 200)
	if !strings.Contains(string(a.body), `"mfa_enrollment_required":true`) {
		t.Fatalf("me: %s", a.body)
	}
	s.customerTOTP(tok.AccessToken) // the same endpoints serve staff
	expectStatus(t, "back office after enrolment", s.call("GET", "/api/v1/stores/enrol/orders", tok.AccessToken, nil), 200)
	expectStatus(t, "staff cannot turn MFA off", s.call("DELETE", "/api/v1/me/mfa/totp", tok.AccessToken, `{"code":"123456"}`), 409)
}
