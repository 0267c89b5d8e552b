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

// TestBrowser_GuestBuysThenClerkPacksAndShips: a visitor buys a zero-rated tea and a
// standard-rated mug as a guest — an e-mail address and a London address, standard delivery —
// pays, and opens the order from the link in the confirmation mail: the invoice shows the VAT per
// rate and the delivery. A clerk finds the order to pack, prints its packing slip and marks it
// shipped with a carrier and a tracking number; the guest's mail carries them. A tampered token,
// an expired one and a guessed order number show nothing.
func TestBrowser_GuestBuysThenClerkPacksAndShips(t *testing.T) {
	base, creds, mailDir, a := startDemoApp(t)
	clerk := creds[1]
	const guest = "ada@lovelace.example"
	secret := enrolTOTP(t, a, clerk.Email)
	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 90*time.Second)
	must, navigate, text := j.must, j.navigate, j.text

	for _, q := range []string{"earl grey", "enamel mug"} {
		must("search "+q, chromedp.Navigate(base+"/s/demo/?q="+strings.ReplaceAll(q, " ", "+")), chromedp.WaitVisible(chromedp.CSS(".grid")))
		navigate("open "+q, ".grid .product a", "form.buy")
		navigate("add "+q, "form.buy button", "#cart-total")
	}
	navigate("checkout as a guest", "#to-guest-checkout", "#quote")
	must("e-mail", chromedp.SendKeys(chromedp.CSS("#email"), guest))
	screenshot(t, ctx, "guest-checkout")
	j.address()
	screenshot(t, ctx, "guest-checkout-delivery")
	navigate("to the payment provider", "#pay", "#number")
	j.card("4242 4242 4242 4242")
	navigate("pay", "button[type=submit]", "#order-status")
	for deadline := time.Now().Add(10 * time.Second); text("#order-status") != "paid"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("order status %q after paying", text("#order-status"))
		}
	}
	number := strings.TrimPrefix(text("h1"), "Order ")
	if got := text("#guest-note"); !strings.Contains(got, "Keep the link") {
		t.Fatalf("the guest is not told to keep the link: %q", got)
	}

	// The confirmation mail's link opens the order, in a browser that has nothing else of it.
	confirmation := awaitMail(t, mailDir, guest, "order confirmation")
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/s/demo/guest/orders/[a-z2-7]{32}`).FindString(confirmation.Body)
	if link == "" || !strings.Contains(confirmation.HTML, link) || !strings.Contains(confirmation.Body, number) {
		t.Fatalf("the confirmation mail has no link to the order %s:\n%s", number, confirmation.Body)
	}
	ctx = testenv.Browser(t)
	j = newJourney(t, ctx, 90*time.Second)
	must, navigate, text = j.must, j.navigate, j.text
	must("the mail's link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#order-status")))
	if got := text("h1"); got != "Order "+number {
		t.Fatalf("the link opens %q, want order %s", got, number)
	}
	if got := text("#ship-to"); !strings.Contains(got, "SW1Y 4JU") || !strings.Contains(got, "United Kingdom") {
		t.Fatalf("the order's delivery address: %q", got)
	}
	if got := text("#tax-included"); !strings.Contains(got, "VAT 20%") {
		t.Fatalf("the order's VAT: %q", got)
	}
	screenshot(t, ctx, "guest-order")
	navigate("invoice", "#documents a", "#document")
	for _, want := range []string{"Invoice", "INV-0001", "order " + number, "Demo Provisions Ltd", "VAT number GB 123 4567 89", "Ada Lovelace", guest} {
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

	// Nothing else shows the order: a token one letter off, a guessed number, the order's own
	// page without signing in — and the link itself once it has expired.
	off := link[:len(link)-1] + "a"
	if strings.HasSuffix(link, "a") {
		off = link[:len(link)-1] + "b"
	}
	for _, u := range []string{off, base + "/s/demo/guest/orders/1001", base + "/s/demo/guest/orders/" + strings.TrimPrefix(number, "#")} {
		must("a wrong link", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main")))
		if got := text("main"); strings.Contains(got, number) || strings.Contains(got, "Earl Grey") || strings.Contains(got, "SW1Y") {
			t.Fatalf("%s shows the order: %q", u, got)
		}
	}
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

	shipped := awaitMail(t, mailDir, guest, "on its way")
	for _, part := range []string{shipped.Body, shipped.HTML, shipped.Subject} {
		if !strings.Contains(part, number) {
			t.Fatalf("the shipped mail does not name the order %s: %q", number, part)
		}
	}
	if !strings.Contains(shipped.Body, "Royal Mail, tracking number AB123456785GB") || !strings.Contains(shipped.HTML, "AB123456785GB") ||
		!strings.Contains(shipped.Body, link) {
		t.Fatalf("the shipped mail lacks the tracking number or the link: %s", shipped.Body)
	}
	must("the link after shipping", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#tracking")))
	if got := text("#tracking"); !strings.Contains(got, "AB123456785GB") {
		t.Fatalf("the order page's tracking: %q", got)
	}
	// Its time over, the link shows nothing either.
	if _, err := testenv.RawDB(t, a.Cfg.Database).Exec(`UPDATE order_links SET expires_at = created_at`); err != nil {
		t.Fatal(err)
	}
	must("an expired link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := text("main"); strings.Contains(got, number) || strings.Contains(got, "Earl Grey") {
		t.Fatalf("the expired link shows the order: %q", got)
	}
}

// awaitMail waits for the newest mail to address whose subject holds subject.
func awaitMail(t *testing.T, dir, address, subject string) testenv.Mail {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if m, ok := testenv.NewestMail(t, dir, address, subject); ok {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %q to %s", subject, address)
		}
	}
}
