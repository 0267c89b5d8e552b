package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// TestBrowser_OperatorEnrolsTOTPThenRunsStores: a platform operator who signs in with a password
// alone is sent to set up two-factor sign-in before any store opens to them; once it is on, they
// suspend and resume a store (the storefront closes and opens again), and their next sign-in asks
// for the code.
func TestBrowser_OperatorEnrolsTOTPThenRunsStores(t *testing.T) {
	base, _, _, a := startDemoApp(t)
	const email, password = "ops@example.com", "a long operator password"
	if _, err := a.Identity.CreateOperator(context.Background(), shop.System(), email, password); err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 90*time.Second)
	signIn := func(want string) {
		t.Helper()
		j.must("platform sign-in page", chromedp.Navigate(base+"/platform/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
		j.navigate("sign in", "form button[type=submit]", want)
	}

	signIn("#enrol")
	if got := j.text("main"); !strings.Contains(got, "two-factor") {
		t.Fatalf("an operator without a second factor is not asked for one: %q", got)
	}
	// Nothing of the platform opens before the second factor is on.
	j.must("stores before enrolling", chromedp.Navigate(base+"/platform/"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := j.text("main"); strings.Contains(got, "Open a store") {
		t.Fatalf("the stores page opened without a second factor: %q", got)
	}
	j.must("account", chromedp.Navigate(base+"/platform/account"), chromedp.WaitVisible(chromedp.CSS("#enrol")))
	j.navigate("start enrolment", "#enrol", "#totp-secret")
	secret := j.text("#totp-secret")
	screenshot(t, ctx, "operator-enrol")
	code, _ := totp.GenerateCode(secret, time.Now())
	j.must("code", chromedp.SendKeys(chromedp.CSS("#totp-code"), code))
	j.navigate("turn on", "#mfa form button[type=submit]", "#recovery-codes")

	j.must("stores", chromedp.Navigate(base+"/platform/"), chromedp.WaitVisible(chromedp.CSS("table")))
	if got := j.text("table"); !strings.Contains(got, "demo") || !strings.Contains(got, "active") {
		t.Fatalf("the stores table: %q", got)
	}
	j.navigate("suspend the demo store", "table button.danger", "table")
	if got := j.text("table"); !strings.Contains(got, "suspended") {
		t.Fatalf("after suspending: %q", got)
	}
	screenshot(t, ctx, "operator-stores")
	j.must("the suspended storefront", chromedp.Navigate(base+"/s/demo/"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := j.text("main"); strings.Contains(got, "Assam") {
		t.Fatalf("a suspended store still sells: %q", got)
	}
	j.must("stores again", chromedp.Navigate(base+"/platform/"), chromedp.WaitVisible(chromedp.CSS("table")))
	j.navigate("resume the demo store", "table button[type=submit]", "table")
	j.must("the storefront again", chromedp.Navigate(base+"/s/demo/"), chromedp.WaitVisible(chromedp.CSS(".grid")))

	j.must("back to the platform", chromedp.Navigate(base+"/platform/"), chromedp.WaitVisible(chromedp.CSS("table")))
	j.navigate("sign out", "nav form button", "main")
	signIn("#code")
	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // the next step: the first code is spent
	j.must("second factor", chromedp.SendKeys(chromedp.CSS("#code"), code))
	j.navigate("continue", "form button[type=submit]", "a.who")
	j.must("stores after the second factor", chromedp.Navigate(base+"/platform/"), chromedp.WaitVisible(chromedp.CSS("table")))
}
