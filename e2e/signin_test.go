// Package e2e drives the shop in real headless Chromium.
package e2e

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/app"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// startDemo serves a shop with the demo store and returns its base URL and credentials.
func startDemo(t *testing.T) (string, []app.DemoCredential) {
	t.Helper()
	base, creds, _ := startDemoMail(t)
	return base, creds
}

// startDemoMail is startDemo that also returns the mail directory.
func startDemoMail(t *testing.T) (string, []app.DemoCredential, string) {
	t.Helper()
	base, creds, mail, _ := startDemoApp(t)
	return base, creds, mail
}

// startDemoApp serves the demo shop and returns its address, credentials, mail directory and app.
func startDemoApp(t *testing.T) (string, []app.DemoCredential, string, *app.App) {
	t.Helper()
	cfg := app.Defaults()
	cfg.Database = testenv.SQLiteURL(t)
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "secret.key")
	cfg.MailDir = filepath.Join(t.TempDir(), "mail")
	cfg.HashParams = identity.Params{Memory: 64, Time: 1, Threads: 1}
	cfg.TestpayListen = "127.0.0.1:0" // testpay on its own port: its pages have an origin of their own
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg.BaseURL = base
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	creds, err := a.SeedDemo(ctx, io.Discard, base)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; _ = a.Close() })
	return base, creds, cfg.MailDir, a
}

// startDemoWithAdminTOTP is startDemo with TOTP already set up for the demo admin; it returns the secret.
func startDemoWithAdminTOTP(t *testing.T) (string, []app.DemoCredential, string) {
	t.Helper()
	base, creds, _, a := startDemoApp(t)
	return base, creds, enrolAdminTOTP(t, a, creds)
}

// enrolAdminTOTP sets up TOTP for the demo admin and returns its secret.
func enrolAdminTOTP(t *testing.T, a *app.App, creds []app.DemoCredential) string {
	t.Helper()
	return enrolTOTP(t, a, creds[0].Email)
}

// enrolTOTP sets up TOTP for a member of the demo store's staff and returns its secret.
func enrolTOTP(t *testing.T, a *app.App, email string) string {
	t.Helper()
	ctx := context.Background()
	st, err := a.Stores.BySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Identity.FindUser(ctx, shop.System(), st.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	p := shop.Principal{UserID: u.ID, StoreID: st.ID, Role: u.Role, Email: u.Email}
	e, err := a.Identity.EnrollTOTP(ctx, p, "Demo")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now().Add(-30*time.Second))
	if _, err := a.Identity.ConfirmTOTP(ctx, p, code, identity.Meta{}); err != nil {
		t.Fatal(err)
	}
	return e.Secret
}

// screenshot looks at the page as a person would — it must fit the window (fitsWindow) — and keeps
// a picture of it in SHOP_E2E_SCREENSHOTS, when set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if name != "failure" {
		fitsWindow(t, ctx, name)
	}
	dir := os.Getenv("SHOP_E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o600)
	}
	if err != nil {
		// Reported, not fatal: a failing step's own message must not be lost behind its picture.
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// fitsWindow fails the test when the page is wider than the window (on a phone, with
// SHOP_E2E_WINDOW=390x844, a page that must be scrolled sideways), naming what sticks out. A wide
// table may scroll inside its own box.
func fitsWindow(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return "";
		const out = [];
		for (const e of document.querySelectorAll("body *")) {
			const r = e.getBoundingClientRect();
			if (r.right > w + 1 && !(e.parentElement && e.parentElement.closest("table"))) out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "") + " to " + Math.round(r.right) + "px");
		}
		return document.documentElement.scrollWidth + "px in a window of " + w + "px: " + out.slice(0, 6).join(", ");
	})()`))
	if err != nil || wide != "" {
		t.Errorf("%s: the page is wider than the window: %s %v", page, wide, err)
	}
}

// journey is a browser test's steps: each must finish within the journey's time, and a failing
// one stops the test with its screenshot (SHOP_E2E_SCREENSHOTS) and the page's text.
type journey struct {
	t    *testing.T
	ctx  context.Context // the browser's
	step context.Context // the browser's, bounded by the journey's time
}

// newJourney bounds the steps taken in ctx's browser to d in all.
func newJourney(t *testing.T, ctx context.Context, d time.Duration) *journey {
	step, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return &journey{t: t, ctx: ctx, step: step}
}

// must runs actions, or fails the test saying what it was doing.
func (j *journey) must(what string, actions ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	if err := chromedp.Do(j.step, actions...); err != nil {
		screenshot(j.t, j.ctx, "failure")
		body, _ := chromedp.Run(j.ctx, chromedp.Text("body"))
		j.t.Fatalf("%s: %v\npage: %s", what, err, body)
	}
}

// navigate clicks sel and waits until a new page, one that has want, has loaded.
func (j *journey) navigate(what, sel, want string) {
	j.t.Helper()
	if _, err := chromedp.Run(j.step, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`)); err != nil {
		j.t.Fatal(err)
	}
	j.must(what, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) `+want)))
	fitsWindow(j.t, j.ctx, "after "+what)
}

// card fills a card into testpay's payment page.
func (j *journey) card(number string) {
	j.t.Helper()
	j.must("fill the card", chromedp.Clear(chromedp.CSS("#number")), chromedp.SendKeys(chromedp.CSS("#number"), number),
		chromedp.Clear(chromedp.CSS("#exp")), chromedp.SendKeys(chromedp.CSS("#exp"), "12/34"),
		chromedp.Clear(chromedp.CSS("#cvc")), chromedp.SendKeys(chromedp.CSS("#cvc"), "123"))
}

// address fills the checkout's delivery address — a London one — and asks for the delivery
// options, which the page then shows with the Pay button.
func (j *journey) address() {
	j.t.Helper()
	j.must("fill the address", chromedp.SendKeys(chromedp.CSS("#ship_name"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS("#ship_line1"), "12 St James's Square"), chromedp.SendKeys(chromedp.CSS("#ship_city"), "London"),
		chromedp.SendKeys(chromedp.CSS("#ship_postcode"), "sw1y 4ju"), chromedp.SetValue(chromedp.CSS("#ship_country"), "GB"))
	j.navigate("delivery options", "#quote", "#pay")
}

// text is the visible text of sel.
func (j *journey) text(sel string) string {
	j.t.Helper()
	s, err := chromedp.Run(j.step, chromedp.Text(sel))
	if err != nil {
		j.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func TestBrowser_SignInBrowseAndSignOut(t *testing.T) {
	base, creds := startDemo(t)
	ctx := testenv.Browser(t)
	admin := creds[0]
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/s/demo/")); err != nil {
		t.Fatal(err)
	}
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	grid, err := chromedp.Run(step, chromedp.Text(".grid"))
	if err != nil || !strings.Contains(grid, "Assam Breakfast") || !strings.Contains(grid, "£") {
		t.Fatalf("catalogue grid: %q %v", grid, err)
	}
	screenshot(t, ctx, "catalogue")
	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS(`nav a[href="/s/demo/login"]`)),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), admin.Email),
		chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".error")),
	)
	if err != nil {
		screenshot(t, ctx, "failure")
		body, _ := chromedp.Run(ctx, chromedp.Text("body"))
		t.Fatalf("%v; page: %s", err, body)
	}
	msg, _ := chromedp.Run(step, chromedp.Text(".error"))
	if msg != "Invalid credentials." {
		t.Fatalf("wrong-password message %q", msg)
	}
	screenshot(t, ctx, "login-failed")
	err = chromedp.Do(step,
		chromedp.Clear(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), admin.Password),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".who")),
	)
	if err != nil {
		t.Fatal(err)
	}
	who, _ := chromedp.Run(step, chromedp.TextContent(chromedp.CSS(".who")))
	loc, _ := chromedp.Run(step, chromedp.Location())
	// Staff without a second factor land on their account page, asked to set one up.
	main, _ := chromedp.Run(step, chromedp.Text("main"))
	if !strings.Contains(who, admin.Email) || loc != base+"/s/demo/account" || !strings.Contains(main, "Staff accounts need two-factor sign-in") {
		t.Fatalf("after sign-in: who=%q at %s: %q", who, loc, main)
	}
	// The session cookie is invisible to scripts.
	visible, err := chromedp.Run(step, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || strings.Contains(visible, "shop_session") {
		t.Fatalf("document.cookie exposes the session: %q %v", visible, err)
	}
	screenshot(t, ctx, "signed-in")
	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS(`nav form button`)),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/s/demo/login"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(step, chromedp.Text("body"))
	if strings.Contains(body, admin.Email) {
		t.Fatal("still signed in after signing out")
	}
	if !bytes.Contains([]byte(body), []byte("Demo Provisions")) {
		t.Fatalf("not back on the storefront: %q", body[:min(200, len(body))])
	}
}
