package app_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"secureshop/internal/app"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/tenancy"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testPassword = "a long enough test password"

// testShop is a real shop serving on 127.0.0.1 for one test.
type testShop struct {
	t      *testing.T
	app    *app.App
	base   string
	secret []byte
	codes  *testenv.MailedCodes
}

// startShop starts the shop on database url with a random secret, cheap password hashing and
// attempt limits high enough for tests that sign in often.
func startShop(t *testing.T, url string) *testShop {
	t.Helper()
	return startShopWith(t, url, identity.Config{AttemptsPerMinute: 1000, AttemptsPerIPMinute: 1000})
}

// startShopWith starts the shop with the given identity settings.
func startShopWith(t *testing.T, url string, idc identity.Config) *testShop {
	t.Helper()
	return startShopFull(t, url, func(c *app.Config) { c.Identity = idc })
}

// startShopFull starts the shop after edit adjusts the test configuration.
func startShopFull(t *testing.T, url string, edit func(*app.Config)) *testShop {
	t.Helper()
	return startShopLogged(t, url, edit, io.Discard)
}

// startShopLogged starts the shop logging everything (debug and up) to logs.
func startShopLogged(t *testing.T, url string, edit func(*app.Config), logs io.Writer) *testShop {
	t.Helper()
	secret := make([]byte, 32)
	copy(secret, testenv.RandomName("k"))
	cfg := app.Defaults()
	cfg.Database = url
	cfg.SecretKey = hex.EncodeToString(secret)
	cfg.MailDir = filepath.Join(t.TempDir(), "mail")
	cfg.HashParams = identity.Params{Memory: 64, Time: 1, Threads: 1}
	cfg.Identity = identity.Config{AttemptsPerMinute: 1000, AttemptsPerIPMinute: 1000}
	cfg.APIRequestsPerMinute = 100_000 // tests that walk every route send thousands from one address
	cfg.TestpayListen = "127.0.0.1:0"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = "http://" + ln.Addr().String() // where testpay sends customers and webhooks back
	edit(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if logs == io.Discard {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = a.Close()
	})
	return &testShop{t: t, app: a, base: "http://" + ln.Addr().String(), secret: secret, codes: &testenv.MailedCodes{}}
}

// settle waits (up to 10 s) until the job queue has done every job due: none waiting, none running.
func (s *testShop) settle() {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := s.app.DB.JobCounts(context.Background())
		if err != nil {
			s.t.Fatal(err)
		}
		if n["available"]+n["running"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the job queue did not settle: %v", n)
		}
	}
}

// startShopAsAppRole serves the shop over a scratch PostgreSQL database migrated by its owner and
// used by the shop as an unprivileged role (no BYPASSRLS, owning no table), as production runs it.
// It returns the shop and both connection URLs.
func startShopAsAppRole(t *testing.T) (*testShop, string, string) {
	t.Helper()
	ownerURL := testenv.PostgresURL(t)
	ctx := context.Background()
	owner, err := sqlstore.Open(ctx, ownerURL, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_ = owner.Close()
	appURL := testenv.AppRole(t, ownerURL)
	return startShopFull(t, appURL, func(c *app.Config) { c.MigrateDatabase = ownerURL }), ownerURL, appURL
}

// buy puts quantity of a product in the customer's cart, checks out with a new Idempotency-Key and
// pays on testpay's page with the card that pays; it returns the order once the provider's webhook
// marked it paid.
func (s *testShop) buy(slug, token, productID string, quantity int) answer {
	s.t.Helper()
	expectStatus(s.t, "cart", s.call("PUT", "/api/v1/stores/"+slug+"/cart/items/"+productID, token, fmt.Sprintf(`{"quantity":%d}`, quantity)), http.StatusOK)
	a := s.call("POST", "/api/v1/stores/"+slug+"/checkout", token, checkoutBody, "Idempotency-Key", testenv.RandomName("k"))
	expectStatus(s.t, "checkout", a, http.StatusCreated)
	return s.pay(slug, token, a, "4242424242424242")
}

// pay pays the order a checkout answered with on testpay's page with card, and returns the order
// once the provider's webhook reached the shop (the order is no longer pending payment), or as it
// is when the card did not pay.
func (s *testShop) pay(slug, token string, checkout answer, card string) answer {
	s.t.Helper()
	var o orderJSON
	checkout.json(s.t, &o)
	if o.Payment.RedirectURL == nil {
		s.t.Fatalf("order %s has no payment page: %s", o.ID, checkout.body)
	}
	status := testenv.PayOnPage(s.t, *o.Payment.RedirectURL, card)
	path := "/api/v1/stores/" + slug + "/orders/" + o.ID
	for deadline := time.Now().Add(10 * time.Second); ; {
		a := s.call("GET", path, token, nil)
		expectStatus(s.t, "order", a, http.StatusOK)
		var now orderJSON
		a.json(s.t, &now)
		if status != http.StatusSeeOther || now.Status != "pending_payment" {
			return a
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("order %s paid on the provider's page, but no webhook marked it paid", o.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// store creates a store (pricing in GBP) with an admin, a clerk and a customer, all with testPassword.
func (s *testShop) store(slug string) (shop.Store, map[shop.Role]shop.User) {
	s.t.Helper()
	return s.storeIn(slug, "GBP")
}

// storeIn is store, pricing in currency.
func (s *testShop) storeIn(slug, currency string) (shop.Store, map[shop.Role]shop.User) {
	s.t.Helper()
	ctx := context.Background()
	st, err := s.app.Stores.Create(ctx, shop.System(), tenancy.NewStore{Slug: slug, Name: strings.ToUpper(slug), Currency: currency})
	if err != nil {
		s.t.Fatal(err)
	}
	users := map[shop.Role]shop.User{}
	for _, r := range shop.StoreRoles {
		u, err := s.app.Identity.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: string(r) + "@example.com",
			Role: r, Password: testPassword})
		if err != nil {
			s.t.Fatal(err)
		}
		users[r] = u
		if r == shop.RoleAdmin || r == shop.RoleClerk {
			s.enrolTOTP(st.ID, u)
		}
	}
	return st, users
}

// operator creates a platform operator with testPassword and a second factor, as operators must have.
func (s *testShop) operator(email string) shop.User {
	s.t.Helper()
	u, err := s.app.Identity.CreateOperator(context.Background(), shop.System(), email, testPassword)
	if err != nil {
		s.t.Fatal(err)
	}
	s.enrolTOTP("", u)
	return u
}

// enrolTOTP turns on TOTP for a user, as staff must, and returns the secret.
func (s *testShop) enrolTOTP(store shop.StoreID, u shop.User) string {
	s.t.Helper()
	ctx := context.Background()
	p := shop.Principal{UserID: u.ID, StoreID: store, Role: u.Role, Email: u.Email, IP: "127.0.0.1"}
	e, err := s.app.Identity.EnrollTOTP(ctx, p, "test")
	if err != nil {
		s.t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	if _, err := s.app.Identity.ConfirmTOTP(ctx, p, code, identity.Meta{IP: "127.0.0.1"}); err != nil {
		s.t.Fatal(err)
	}
	return e.Secret
}

var codeRE = regexp.MustCompile(`code is (\d{6})`)

// mailedCode waits for the sign-in code just mailed to address (each mail's code is handed out once).
func (s *testShop) mailedCode(address string) string {
	s.t.Helper()
	return s.codes.Next(s.t, s.app.Cfg.MailDir, address, codeRE)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, a.body)
	}
}

// problemType returns the type of a problem+json answer.
func (a answer) problemType(t *testing.T) string {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, a.body)
	}
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	a.json(t, &p)
	if p.Status != a.status || p.Detail == "" {
		t.Fatalf("problem %+v does not match status %d", p, a.status)
	}
	return p.Type
}

// call sends a request with an optional bearer token and JSON body (a string is sent as is).
func (s *testShop) call(method, path, token string, body any, hdr ...string) answer {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	a := answer{resp.StatusCode, resp.Header, b}
	checkContract(s.t, req, a)
	return a
}

// login signs in over the API and returns the token pair.
func (s *testShop) login(store, email string) identity.Tokens {
	s.t.Helper()
	return s.loginWith(store, email, testPassword)
}

// loginWith signs in with a password, answering a second-factor challenge with a mailed code.
func (s *testShop) loginWith(store, email, password string) identity.Tokens {
	s.t.Helper()
	prefix := "/api/v1/stores/" + store // "": the platform's sign-in, for operators
	if store == "" {
		prefix = "/api/v1/platform"
	}
	a := s.call("POST", prefix+"/auth/login", "", map[string]string{"email": email, "password": password})
	if a.status != http.StatusOK {
		s.t.Fatalf("login %s: %d %s", email, a.status, a.body)
	}
	var challenge struct {
		MFARequired bool   `json:"mfa_required"`
		MFAToken    string `json:"mfa_token"`
	}
	a.json(s.t, &challenge)
	if challenge.MFARequired {
		// Staff have a second factor: take the one that can be used any number of times in a test, a mailed code.
		mfa := prefix + "/auth/mfa"
		expectStatus(s.t, "ask for a mailed code", s.call("POST", mfa, "", map[string]string{"mfa_token": challenge.MFAToken, "method": "email"}), http.StatusAccepted)
		a = s.call("POST", mfa, "", map[string]string{"mfa_token": challenge.MFAToken, "method": "email", "code": s.mailedCode(email)})
		expectStatus(s.t, "mailed code", a, http.StatusOK)
	}
	var tok identity.Tokens
	a.json(s.t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.ExpiresIn > 900 {
		s.t.Fatalf("login answer %+v", tok)
	}
	return tok
}

func expectStatus(t *testing.T, what string, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, a.status, want, a.body)
	}
}
