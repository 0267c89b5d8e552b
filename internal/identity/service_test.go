package identity_test

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"secureshop/internal/identity"
	"secureshop/internal/kv"
	"secureshop/internal/mail"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/tenancy"
	"secureshop/internal/testenv"
	"secureshop/internal/vault"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T) (*identity.Service, *clock, *shop.Store) {
	svc, c, st, _ := newServiceMail(t)
	return svc, c, st
}

func newServiceMail(t *testing.T) (*identity.Service, *clock, *shop.Store, *mailbox) {
	f := newFixture(t)
	return f.svc, f.clock, f.store, f.mail
}

// fixture is a service on a fresh database with a store "clocked" and its customer c@example.com.
type fixture struct {
	svc      *identity.Service
	db       *sqlstore.DB
	clock    *clock
	store    *shop.Store
	mail     *mailbox
	customer shop.UserID
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{db: testenv.OpenDB(t, testenv.SQLiteURL(t), sqlstore.Options{}), clock: &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}, mail: &mailbox{}}
	f.svc = serviceOn(f.db, f.clock, f.mail)
	st, err := tenancy.New(f.db).Create(ctx, shop.System(), tenancy.NewStore{Slug: "clocked", Name: "Clocked"})
	if err != nil {
		t.Fatal(err)
	}
	f.store = &st
	u, err := f.svc.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: "c@example.com", Role: shop.RoleCustomer, Password: "twelve chars long"})
	if err != nil {
		t.Fatal(err)
	}
	f.customer = u.ID
	return f
}

func TestSessions_IdleTimeoutEndsBrowserSession(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	token, _, err := svc.LoginBrowser(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c.add(29 * time.Minute)
	if _, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{}); err != nil {
		t.Fatalf("active within 30 minutes: %v", err)
	}
	c.add(29 * time.Minute) // 58 minutes after sign-in, 29 after the last request: still alive
	if _, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{}); err != nil {
		t.Fatalf("activity should extend the session: %v", err)
	}
	c.add(31 * time.Minute)
	if _, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{}); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("idle for 31 minutes: %v", err)
	}
}

func TestSessions_AbsoluteTimeoutEndsBusySession(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	token, _, err := svc.LoginBrowser(ctx, st, "c@example.com", "twelve chars long", identity.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12*3; i++ { // a request every 20 minutes for 12 hours
		c.add(20 * time.Minute)
		_, _, err := svc.AuthenticateCookie(ctx, token, identity.Meta{})
		if i < 35 && err != nil {
			t.Fatalf("after %v: %v", time.Duration(i+1)*20*time.Minute, err)
		}
		if i == 35 && shop.KindOf(err) != shop.KindUnauthenticated {
			t.Fatalf("session alive after 12 hours: %v", err)
		}
	}
}

func TestSessions_APITokensExpireAndRefreshRespectsIdle(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	tok, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	c.add(16 * time.Minute)
	if _, err := svc.AuthenticateBearer(ctx, tok.AccessToken, identity.Meta{}); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("16-minute-old access token: %v", err)
	}
	next, err := svc.Refresh(ctx, tok.RefreshToken, identity.Meta{})
	if err != nil {
		t.Fatalf("refresh within the idle limit: %v", err)
	}
	if _, err := svc.AuthenticateBearer(ctx, next.AccessToken, identity.Meta{}); err != nil {
		t.Fatal(err)
	}
	c.add(31 * time.Minute)
	if _, err := svc.Refresh(ctx, next.RefreshToken, identity.Meta{}); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("refresh after 31 idle minutes: %v", err)
	}
}

func TestLogin_UpgradesWeakHashOnSuccess(t *testing.T) {
	ctx := context.Background()
	svc, _, st := newService(t)
	// The stored hash is weaker than the service's parameters: write one with fewer passes.
	weak, _ := identity.NewHasher(identity.Params{Memory: 32, Time: 1, Threads: 1}, 1).Hash(ctx, "twelve chars long")
	if err := svc.SetPasswordHashForTest(ctx, st.ID, "c@example.com", weak); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.FindUser(ctx, shop.System(), st.ID, "c@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash == weak || u.PasswordHash[:len("$argon2id$v=19$m=64,")] != "$argon2id$v=19$m=64," {
		t.Fatalf("hash not upgraded: %s", u.PasswordHash)
	}
}

// mailbox keeps sent mail for tests to read.
type mailbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

var linkRE = regexp.MustCompile(`token=([A-Za-z0-9_%-]+)`)

// lastToken is the token of the newest link mailed, waiting a moment for mail that goes out after
// the answer (a password reset's).
func (m *mailbox) lastToken(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		m.mu.Lock()
		for i := len(m.sent) - 1; i >= 0; i-- {
			if g := linkRE.FindStringSubmatch(m.sent[i].Body); g != nil {
				m.mu.Unlock()
				return g[1]
			}
		}
		m.mu.Unlock()
	}
	t.Fatal("no link mailed")
	return ""
}

func TestReset_ExpiredTokenRefused(t *testing.T) {
	ctx := context.Background()
	svc, c, st, box := newServiceMail(t)
	if err := svc.ForgotPassword(ctx, *st, "c@example.com", identity.Meta{IP: "1.2.3.4"}); err != nil {
		t.Fatal(err)
	}
	svc.SettleForTest()
	token := box.lastToken(t)
	c.add(31 * time.Minute)
	if err := svc.ResetPassword(ctx, *st, token, "amber kettle northward 5", identity.Meta{}); shop.KindOf(err) != shop.KindInvalid {
		t.Fatalf("31-minute-old reset token: %v", err)
	}
	if err := svc.ForgotPassword(ctx, *st, "c@example.com", identity.Meta{IP: "1.2.3.4"}); err != nil {
		t.Fatal(err)
	}
	svc.SettleForTest()
	first := box.lastToken(t)
	if err := svc.ForgotPassword(ctx, *st, "c@example.com", identity.Meta{IP: "1.2.3.4"}); err != nil {
		t.Fatal(err)
	}
	svc.SettleForTest()
	if err := svc.ResetPassword(ctx, *st, first, "amber kettle northward 5", identity.Meta{}); shop.KindOf(err) != shop.KindInvalid {
		t.Fatalf("a superseded reset token still works: %v", err)
	}
	c.add(29 * time.Minute)
	if err := svc.ResetPassword(ctx, *st, box.lastToken(t), "amber kettle northward 5", identity.Meta{}); err != nil {
		t.Fatalf("29-minute-old token: %v", err)
	}
}

func TestRegister_VerificationExpiresAfterADay(t *testing.T) {
	ctx := context.Background()
	svc, c, st, box := newServiceMail(t)
	if err := svc.Register(ctx, *st, "n@example.com", "velvet comet lantern 3", "N", identity.Meta{IP: "1.2.3.4"}); err != nil {
		t.Fatal(err)
	}
	c.add(25 * time.Hour)
	if err := svc.VerifyEmail(ctx, *st, box.lastToken(t)); shop.KindOf(err) != shop.KindInvalid {
		t.Fatalf("25-hour-old verification: %v", err)
	}
}

// serviceOn is an identity service on db with limits and sessions of its own (in this process).
func serviceOn(db *sqlstore.DB, c *clock, mailer identity.Mailer) *identity.Service {
	signer, _ := identity.NewSigner(identity.DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt"))
	v, _ := vault.New(identity.DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "vault"))
	return identity.New(identity.Deps{DB: db, Sessions: kv.NewMemorySessions(), Limits: kv.NewMemoryLimits(),
		Hasher: identity.NewHasher(identity.Params{Memory: 64, Time: 1, Threads: 1}, 1), Signer: signer, Vault: v,
		Mailer: mailer, DeviceKey: []byte("device key for tests"), Now: c.now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, identity.Config{})
}

// lockOut makes ten bad attempts on c@example.com, which lock the account.
func lockOut(t *testing.T, svc *identity.Service, c *clock, st *shop.Store) {
	t.Helper()
	for i := range 10 {
		c.add(13 * time.Second) // within the attempt limits: 5 a minute
		if _, err := svc.LoginAPI(context.Background(), st, "c@example.com", "wrong wrong wrong", identity.Meta{IP: "1.2.3.4"}); shop.KindOf(err) != shop.KindUnauthenticated {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	c.add(13 * time.Second)
}

// The limits keep a copy of a lock so that refusing costs no database read; the database holds
// the lock itself. Limits that never saw the lock (kept in another process, or restarted) still
// refuse, and an unlock through them lifts it.
func TestLock_HeldByTheDatabaseWhenTheLimitsNeverSawIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	svc, c, st := f.svc, f.clock, f.store
	lockOut(t, svc, c, st)
	other := serviceOn(f.db, c, f.mail)
	if _, err := other.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "5.6.7.8"}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("right password on a locked account, through limits that never saw the lock: %v", err)
	}
	if _, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "5.6.7.8"}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("right password on a locked account: %v", err)
	}
	admin, err := svc.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: "a@example.com", Role: shop.RoleAdmin, Password: "twelve chars long"})
	if err != nil {
		t.Fatal(err)
	}
	actor := shop.Principal{UserID: admin.ID, StoreID: st.ID, Role: shop.RoleAdmin}
	c.add(time.Minute) // past the attempt limits, well within the lock
	if err := svc.UnlockUser(ctx, actor, st.ID, f.customer); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "5.6.7.8"}); err != nil {
		t.Fatalf("after the unlock, through the limits that held the copy: %v", err)
	}
}

func TestLock_EndsAfterFifteenMinutes(t *testing.T) {
	ctx := context.Background()
	svc, c, st := newService(t)
	lockOut(t, svc, c, st)
	if _, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "1.2.3.4"}); shop.KindOf(err) != shop.KindRateLimited {
		t.Fatalf("right password on a locked account: %v", err)
	}
	c.add(15 * time.Minute)
	if _, err := svc.LoginAPI(ctx, st, "c@example.com", "twelve chars long", identity.Meta{IP: "1.2.3.4"}); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		pw          string
		composition bool
		ok          bool
	}{
		{"correct horse battery staple", false, true},
		{"Password1234!", false, false},
		{"aaaaaaaaaaaaaaaa", false, false},
		{"short", false, false},
		{strings.Repeat("long enough ", 11), false, false}, // 132 characters
		{"jane.doe.rules.the.world", false, false},         // holds the e-mail's local part
		{"Ölçü ağaç kâğıt yolu 7", false, true},            // any characters
		{"correct horse battery staple", true, false},
		{"Correct horse battery staple 9!", true, true},
	}
	for _, c := range cases {
		err := identity.CheckPasswordPolicy("password", c.pw, "jane.doe@example.com", "Jane Doe", c.composition)
		if (err == nil) != c.ok {
			t.Errorf("%q (composition %v): %v", c.pw, c.composition, err)
		}
	}
	// NFKC: the full-width form of a password is the same password.
	h := identity.NewHasher(identity.Params{Memory: 64, Time: 1, Threads: 1}, 1)
	enc, _ := h.Hash(context.Background(), "ｃｏｒｒｅｃｔ horse")
	if ok, _, _ := h.Verify(context.Background(), "correct horse", enc); !ok {
		t.Fatal("password not normalised")
	}
}

func TestResealSecrets_AfterKeyRotation(t *testing.T) {
	ctx := context.Background()
	db := testenv.OpenDB(t, testenv.SQLiteURL(t), sqlstore.Options{})
	oldKey, newKey := identity.DeriveKey([]byte("old key old key old key old key!"), "vault"), identity.DeriveKey([]byte("new key new key new key new key!"), "vault")
	build := func(keys ...[]byte) *identity.Service {
		v, err := vault.New(keys...)
		if err != nil {
			t.Fatal(err)
		}
		signer, _ := identity.NewSigner(identity.DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt"))
		return identity.New(identity.Deps{DB: db, Sessions: kv.NewMemorySessions(), Limits: kv.NewMemoryLimits(),
			Hasher: identity.NewHasher(identity.Params{Memory: 64, Time: 1, Threads: 1}, 1), Signer: signer, Vault: v,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, identity.Config{})
	}
	before := build(oldKey)
	st, _ := tenancy.New(db).Create(ctx, shop.System(), tenancy.NewStore{Slug: "rot", Name: "Rot"})
	u, err := before.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: "r@example.com", Role: shop.RoleCustomer, Password: "twelve chars long"})
	if err != nil {
		t.Fatal(err)
	}
	p := shop.Principal{UserID: u.ID, StoreID: st.ID, Role: u.Role, Email: u.Email}
	e, err := before.EnrollTOTP(ctx, p, "x")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now().Add(-30*time.Second))
	if _, err := before.ConfirmTOTP(ctx, p, code, identity.Meta{}); err != nil {
		t.Fatal(err)
	}
	rotated := build(newKey, oldKey)
	if n, err := rotated.ResealSecrets(ctx, shop.System()); err != nil || n != 1 {
		t.Fatalf("reseal: %d %v", n, err)
	}
	if n, _ := rotated.ResealSecrets(ctx, shop.System()); n != 0 {
		t.Fatalf("second reseal sealed %d again", n)
	}
	// Only the new key now: the secret still opens, and the code check works.
	after := build(newKey)
	l, err := after.Login(ctx, &st, "r@example.com", "twelve chars long", identity.KindAPI, identity.Meta{})
	if err != nil || l.Challenge == nil {
		t.Fatalf("login: %+v %v", l, err)
	}
	code, _ = totp.GenerateCode(e.Secret, time.Now())
	if _, err := after.CompleteMFA(ctx, &st, l.Challenge.Token, identity.MethodTOTP, code, identity.KindAPI, identity.Meta{}); err != nil {
		t.Fatalf("TOTP after rotation: %v", err)
	}
	if _, err := after.ResealSecrets(ctx, shop.Principal{UserID: "x", Role: shop.RoleAdmin}); err == nil {
		t.Fatal("an admin may reseal")
	}
}

// gate is a mailer that holds every message until it is opened.
type gate struct {
	mailbox
	open chan struct{}
}

func (g *gate) Send(ctx context.Context, m mail.Message) error {
	<-g.open
	return g.mailbox.Send(ctx, m)
}

// TestForgot_AnswersBeforeTheMail: forgot-password answers once the address and the limits are
// checked; looking the account up and writing the mail come after, so an address with an account
// costs no more time to answer than one without (the reset mail was written before the answer,
// telling them apart by timing three times in four).
func TestForgot_AnswersBeforeTheMail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	g := &gate{open: make(chan struct{})}
	svc := serviceOn(f.db, f.clock, g)
	t.Cleanup(svc.Close)
	answered := make(chan error, 1)
	go func() { answered <- svc.ForgotPassword(ctx, *f.store, "c@example.com", identity.Meta{IP: "1.2.3.4"}) }()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(g.open)
		t.Fatal("forgot-password waited for its mail before answering")
	}
	close(g.open)
	if token := g.lastToken(t); token == "" {
		t.Fatal("no reset link after the answer")
	}
}
