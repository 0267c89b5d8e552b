package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/testenv"
)

var linkRE = regexp.MustCompile(`https?://\S+/verify\?token=[A-Za-z0-9_-]+`)

// verificationLink waits for the verification mail to address in the mail directory and returns
// its link.
func verificationLink(t *testing.T, dir, address string) string {
	t.Helper()
	m := testenv.AwaitMail(t, dir, func(m testenv.Mail) bool { return m.To == address && linkRE.MatchString(m.Body) })
	return linkRE.FindString(m.Body)
}

// TestBrowser_RegisterVerifyEnrolTOTPAndSignInWithIt walks a new customer through registration,
// the verification mail, TOTP enrolment and a sign-in with password and code.
func TestBrowser_RegisterVerifyEnrolTOTPAndSignInWithIt(t *testing.T) {
	base, _, mailDir := startDemoMail(t)
	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 90*time.Second)
	step, must, navigate, text := j.step, j.must, j.navigate, j.text
	const email, password = "robin@example.com", "tangerine glacier whistle 42"

	must("open the shop", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS(`a[href="/s/demo/register"]`)))
	navigate("to registration", `a[href="/s/demo/register"]`, "#name")
	must("fill registration", chromedp.SendKeys(chromedp.CSS("#name"), "Robin Hood"), chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password))
	navigate("register", "form button[type=submit]", "p.flash")
	if got := text("main"); !strings.Contains(got, "Check your mail") {
		t.Fatalf("after registering: %q", got)
	}
	screenshot(t, ctx, "registered")

	link := verificationLink(t, mailDir, email)
	must("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	navigate("confirm", "#confirm", "p.flash")
	if got := text("main"); !strings.Contains(got, "confirmed") {
		t.Fatalf("after verifying: %q", got)
	}

	must("sign-in page", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS("#email")))
	must("credentials", chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	navigate("sign in", "form button[type=submit]", "a.who")
	navigate("account", "a.who", "#enrol")
	navigate("start enrolment", "#enrol", "#totp-secret")
	secret := text("#totp-secret")
	if src, err := chromedp.Run(step, chromedp.AttributeValue(chromedp.CSS(`#mfa img`), "src")); err != nil || !strings.HasPrefix(src.Value, "data:image/png;base64,") {
		t.Fatalf("no QR code: %v", err)
	}
	screenshot(t, ctx, "enrol")
	code, err := totp.GenerateCode(secret, time.Now().Add(-30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	must("type the code", chromedp.SendKeys(chromedp.CSS("#totp-code"), code))
	navigate("confirm enrolment", "#mfa button[type=submit]", "#recovery-codes")
	if n := strings.Count(text("#recovery-codes"), "-"); n != 10 {
		t.Fatalf("%d recovery codes shown", n)
	}
	screenshot(t, ctx, "recovery-codes")
	navigate("sign out", "nav form button", `nav a[href="/s/demo/login"]`)

	navigate("sign in again", `nav a[href="/s/demo/login"]`, "#email")
	must("credentials again", chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	navigate("password", "form button[type=submit]", "#code")
	screenshot(t, ctx, "second-factor")
	wrong, _ := totp.GenerateCode(secret, time.Now().Add(-10*time.Minute))
	must("wrong code", chromedp.SendKeys(chromedp.CSS("#code"), wrong))
	navigate("submit a wrong code", "form button[type=submit]", "p.error")
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // a step not used yet
	must("right code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	navigate("submit the code", "form button[type=submit]", "a.who")
	// The text content: a phone shows "Account" there and keeps the address out of its narrow bar.
	if got, err := chromedp.Run(step, chromedp.TextContent(chromedp.CSS("a.who"))); err != nil || !strings.Contains(got, email) {
		t.Fatalf("signed in as %q", got)
	}
}
