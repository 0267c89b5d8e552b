package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// api calls the shop's JSON API and decodes its answer into out (when given).
func api(t *testing.T, method, url, token, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", testenv.RandomName("k"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
}

// TestBrowser_AdminTriesAFailedMailAgain: while mail cannot be delivered, the mail that tells a
// customer their order is cancelled fails and is retried by the job queue; the admin finds it
// under Jobs in the back office, and once mail works again has it tried at once: it goes out and
// the list is empty.
func TestBrowser_AdminTriesAFailedMailAgain(t *testing.T) {
	base, creds, mailDir, a := startDemoApp(t)
	secret := enrolAdminTOTP(t, a, creds)
	admin, customer := creds[0], creds[2]
	bg := context.Background()
	st, err := a.Stores.BySlug(bg, "demo")
	if err != nil {
		t.Fatal(err)
	}

	// The customer orders and cancels, over the API, while the mail directory is a file.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	api(t, "POST", base+"/api/v1/stores/demo/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, customer.Email, customer.Password), &tok)
	var products struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	api(t, "GET", base+"/api/v1/stores/demo/products", "", "", &products)
	if len(products.Items) == 0 {
		t.Fatal("the demo sells nothing")
	}
	if err := os.RemoveAll(mailDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mailDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	api(t, "PUT", base+"/api/v1/stores/demo/cart/items/"+products.Items[0].ID, tok.AccessToken, `{"quantity":1}`, nil)
	var order struct {
		ID string `json:"id"`
	}
	var quote struct {
		Options []struct {
			ID string `json:"id"`
		} `json:"shipping_options"`
	}
	const to = `"shipping_address":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postcode":"SW1Y 4JU","country":"GB"}`
	api(t, "POST", base+"/api/v1/stores/demo/checkout/quote", tok.AccessToken, `{`+to+`}`, &quote)
	if len(quote.Options) == 0 {
		t.Fatal("the demo does not ship to London")
	}
	api(t, "POST", base+"/api/v1/stores/demo/checkout", tok.AccessToken, `{`+to+`,"shipping_method_id":"`+quote.Options[0].ID+`"}`, &order)
	api(t, "POST", base+"/api/v1/stores/demo/orders/"+order.ID+"/cancel", tok.AccessToken, `{}`, nil)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		failed, err := a.Jobs.Failed(bg, shop.System(), st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) == 1 && failed[0].Attempts >= 2 { // the next try is many seconds away
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mail did not fail twice: %+v", failed)
		}
	}

	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 90*time.Second)
	code, _ := totp.GenerateCode(secret, time.Now())
	j.must("sign-in page", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS("#email")))
	j.must("credentials", chromedp.SendKeys(chromedp.CSS("#email"), admin.Email), chromedp.SendKeys(chromedp.CSS("#password"), admin.Password))
	j.navigate("sign in", "form button[type=submit]", "#code")
	j.must("code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	j.navigate("second factor", "form button[type=submit]", "a.who")
	j.must("back office", chromedp.Navigate(base+"/s/demo/admin"), chromedp.WaitVisible(chromedp.CSS(`nav.tabs a[href="/s/demo/admin/jobs"]`)))
	j.navigate("jobs", `nav.tabs a[href="/s/demo/admin/jobs"]`, "table.jobs")
	if got := j.text("table.jobs"); !strings.Contains(got, "Order mail") || !strings.Contains(got, "mail could not be handed") || strings.Contains(got, mailDir) {
		t.Fatalf("the failed jobs: %q", got)
	}
	screenshot(t, ctx, "admin-jobs-failed")

	if err := os.Remove(mailDir); err != nil { // mail works again
		t.Fatal(err)
	}
	j.navigate("try again", "table.jobs form button", `p.flash`)
	if got := j.text("p.flash"); !strings.Contains(got, "queued to run again") {
		t.Fatalf("after the retry: %q", got)
	}
	m := testenv.AwaitMail(t, mailDir, func(m testenv.Mail) bool { return m.To == customer.Email && strings.Contains(m.Subject, "cancelled") })
	if !strings.Contains(m.Body, order.ID) {
		t.Fatalf("the mail: %s", m.Body)
	}
	j.must("jobs again", chromedp.Navigate(base+"/s/demo/admin/jobs"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(j.text("main"), "No job has failed"); {
		if time.Now().After(deadline) {
			t.Fatalf("still listed: %q", j.text("main"))
		}
		time.Sleep(200 * time.Millisecond)
		j.must("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
	}
	screenshot(t, ctx, "admin-jobs-empty")
}
