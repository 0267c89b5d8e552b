package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/testenv"
)

// TestBrowser_InvoiceThenClerkPacksAndShips: a customer buys a zero-rated tea and a standard-rated
// mug for delivery in London, pays, and opens the invoice: it shows the VAT per rate and the
// delivery. A clerk finds the order to pack, prints its packing slip and marks it shipped with a
// carrier and a tracking number; the customer's mail and order page carry them.
func TestBrowser_InvoiceThenClerkPacksAndShips(t *testing.T) {
	base, creds, mailDir, a := startDemoApp(t)
	clerk, customer := creds[1], creds[2]
	secret := enrolTOTP(t, a, clerk.Email)
	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 90*time.Second)
	must, navigate, text := j.must, j.navigate, j.text

	must("sign-in page", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS("#email")))
	must("credentials", chromedp.SendKeys(chromedp.CSS("#email"), customer.Email), chromedp.SendKeys(chromedp.CSS("#password"), customer.Password))
	navigate("sign in", "form button[type=submit]", "a.who")
	for _, q := range []string{"earl grey", "enamel mug"} {
		must("search "+q, chromedp.Navigate(base+"/s/demo/?q="+strings.ReplaceAll(q, " ", "+")), chromedp.WaitVisible(chromedp.CSS(".grid")))
		navigate("open "+q, ".grid .product a", "form.buy")
		navigate("add "+q, "form.buy button", "#cart-total")
	}
	navigate("checkout", "#to-checkout", "#quote")
	j.address()
	navigate("to the payment provider", "#pay", "#number")
	j.card("4242 4242 4242 4242")
	navigate("pay", "button[type=submit]", "#order-status")
	for deadline := time.Now().Add(10 * time.Second); text("#order-status") != "paid"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("order status %q after paying", text("#order-status"))
		}
	}
	number := strings.TrimPrefix(text("h1"), "Order ")
	if got := text("#ship-to"); !strings.Contains(got, "SW1Y 4JU") || !strings.Contains(got, "United Kingdom") {
		t.Fatalf("the order's delivery address: %q", got)
	}
	if got := text("#tax-included"); !strings.Contains(got, "VAT 20%") {
		t.Fatalf("the order's VAT: %q", got)
	}
	screenshot(t, ctx, "order-paid")
	navigate("invoice", "#documents a", "#document")
	for _, want := range []string{"Invoice", "INV-0001", "order " + number, "Demo Provisions Ltd", "VAT number GB 123 4567 89", "Ada Lovelace"} {
		if got := text(".document"); !strings.Contains(got, want) {
			t.Fatalf("the invoice lacks %q: %q", want, got)
		}
	}
	if got := text("#doc-lines"); !strings.Contains(got, "Earl Grey") || !strings.Contains(got, "0%") || !strings.Contains(got, "20%") ||
		!strings.Contains(got, "Delivery: Standard delivery") {
		t.Fatalf("the invoice's lines: %q", got)
	}
	if got := text("#doc-totals"); !strings.Contains(got, "VAT 20% on") || !strings.Contains(got, "Delivery") || !strings.Contains(got, "Total") {
		t.Fatalf("the invoice's totals: %q", got)
	}
	screenshot(t, ctx, "invoice")
	navigate("sign out", "nav form button", `nav a[href="/s/demo/login"]`)

	must("sign-in page", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS("#email")))
	must("clerk", chromedp.SendKeys(chromedp.CSS("#email"), clerk.Email), chromedp.SendKeys(chromedp.CSS("#password"), clerk.Password))
	navigate("sign in", "form button[type=submit]", "#code")
	code, _ := totp.GenerateCode(secret, time.Now())
	must("code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	navigate("second factor", "form button[type=submit]", "a.who")
	must("to pack", chromedp.Navigate(base+"/s/demo/admin"), chromedp.WaitVisible(chromedp.CSS(".tabs")))
	navigate("the orders to pack", `.tabs a[href$="/admin/fulfilment"]`, "#to-pack")
	if got := text("#to-pack"); !strings.Contains(got, "Order "+number) || !strings.Contains(got, "Earl Grey") || !strings.Contains(got, "SW1Y 4JU") {
		t.Fatalf("the order to pack: %q", got)
	}
	screenshot(t, ctx, "to-pack")
	navigate("packing slip", `#to-pack a[href$="/packing-slip"]`, "#slip-lines")
	if got := text("#ship-to"); !strings.Contains(got, "Ada Lovelace") || !strings.Contains(got, "SW1Y 4JU") {
		t.Fatalf("the packing slip's address: %q", got)
	}
	if got := text(".document"); strings.Contains(got, "£") {
		t.Fatalf("the packing slip shows prices: %q", got)
	}
	screenshot(t, ctx, "packing-slip")
	must("back", chromedp.Navigate(base+"/s/demo/admin/fulfilment"), chromedp.WaitVisible(chromedp.CSS("#to-pack")))
	must("carrier", chromedp.SendKeys(chromedp.CSS(`#to-pack input[name="carrier"]`), "Royal Mail"),
		chromedp.SendKeys(chromedp.CSS(`#to-pack input[name="tracking_number"]`), "AB123456785GB"))
	navigate("mark shipped", `#to-pack button[id^="ship-"]`, "#nothing-to-pack")
	screenshot(t, ctx, "nothing-to-pack")

	var shipped testenv.Mail
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var ok bool
		if shipped, ok = testenv.NewestMail(t, mailDir, customer.Email, "on its way"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no shipped mail")
		}
	}
	for _, part := range []string{shipped.Body, shipped.HTML, shipped.Subject} {
		if !strings.Contains(part, number) {
			t.Fatalf("the shipped mail does not name the order %s: %q", number, part)
		}
	}
	if !strings.Contains(shipped.Body, "Royal Mail, tracking number AB123456785GB") || !strings.Contains(shipped.HTML, "AB123456785GB") {
		t.Fatalf("the shipped mail lacks the tracking number: %s", shipped.Body)
	}
}
