package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/testenv"
)

// TestBrowser_AdminSellsAndRefunds: the admin signs in with TOTP, creates a product; it shows in
// the storefront; a customer buys two; the admin refunds half; the dashboard and the sales report
// show the refund.
func TestBrowser_AdminSellsAndRefunds(t *testing.T) {
	base, creds, secret := startDemoWithAdminTOTP(t)
	admin, customer := creds[0], creds[2]
	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 120*time.Second)
	step, must, navigate, text := j.step, j.must, j.navigate, j.text
	signIn := func(email, password, code string, want string) {
		t.Helper()
		must("sign-in page", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS("#email")))
		must("credentials", chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
		if code == "" {
			navigate("sign in", "form button[type=submit]", want)
			return
		}
		navigate("sign in", "form button[type=submit]", "#code")
		must("code", chromedp.SendKeys(chromedp.CSS("#code"), code))
		navigate("second factor", "form button[type=submit]", want)
	}
	signOut := func() { navigate("sign out", "nav form button", `nav a[href="/s/demo/login"]`) }

	code, _ := totp.GenerateCode(secret, time.Now()) // enrolment used the previous step
	signIn(admin.Email, admin.Password, code, "a.who")
	must("back office", chromedp.Navigate(base+"/s/demo/admin/products"), chromedp.WaitVisible(chromedp.CSS("#new-sku")))
	must("new product", chromedp.SendKeys(chromedp.CSS("#new-sku"), "E2E-LAMP"), chromedp.SendKeys(chromedp.CSS("#new-name"), "Brass Reading Lamp"),
		chromedp.SendKeys(chromedp.CSS("#new-price"), "40.00"), chromedp.Clear(chromedp.CSS("#new-stock")), chromedp.SendKeys(chromedp.CSS("#new-stock"), "7"),
		chromedp.SendKeys(chromedp.CSS("#new-description"), "A lamp for long evenings."))
	navigate("create", "#create-product", "#stock-level")
	if got := text("#stock-level"); got != "7" {
		t.Fatalf("stock of the new product: %q", got)
	}
	screenshot(t, ctx, "admin-product")
	signOut()

	signIn(customer.Email, customer.Password, "", "a.who")
	must("storefront search", chromedp.Navigate(base+"/s/demo/?q=brass"), chromedp.WaitVisible(chromedp.CSS(".grid")))
	if got := text(".grid"); !strings.Contains(got, "Brass Reading Lamp") || !strings.Contains(got, "£40.00") {
		t.Fatalf("new product not in the storefront: %q", got)
	}
	navigate("product", ".grid .product a", "form.buy")
	must("two", chromedp.SetValue(chromedp.CSS("#quantity"), "2"))
	navigate("add", "form.buy button", "#cart-total")
	navigate("checkout", "#to-checkout", "#quote")
	j.address()
	navigate("to the payment provider", "#pay", "#number")
	j.card("4242424242424242")
	navigate("pay", "button[type=submit]", "#order-status")
	for deadline := time.Now().Add(10 * time.Second); text("#order-status") != "paid"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("order status %q after paying", text("#order-status"))
		}
	}
	if got := text("h1"); !strings.HasPrefix(got, "Order #10") {
		t.Fatalf("the order page's title %q: want its number, #1001 on", got)
	}
	page, _ := chromedp.Run(step, chromedp.Location())
	orderID := page[strings.LastIndex(page, "/")+1:]
	if i := strings.IndexByte(orderID, '?'); i >= 0 {
		orderID = orderID[:i]
	}
	signOut()

	code, _ = totp.GenerateCode(secret, time.Now().Add(30*time.Second)) // a later step: the first code is spent
	signIn(admin.Email, admin.Password, code, "a.who")
	must("order in the back office", chromedp.Navigate(base+"/s/demo/admin/orders/"+orderID), chromedp.WaitVisible(chromedp.CSS("#amount")))
	// More than was paid: the form comes back with what was typed and the message at the amount.
	must("refund too much", chromedp.SendKeys(chromedp.CSS("#amount"), "500.00"),
		chromedp.SendKeys(chromedp.CSS("#refund-reason"), "one lamp arrived broken"),
		chromedp.SetValue(chromedp.CSS(`input[name^="restock-"]`), "1"))
	navigate("refund too much", "#refund", "#amount-error")
	if got := text("#amount-error"); !strings.Contains(got, "£80.00") {
		t.Fatalf("the over-refund's message at the amount: %q", got)
	}
	for sel, want := range map[string]string{"#amount": "500.00", "#refund-reason": "one lamp arrived broken", `input[name^="restock-"]`: "1"} {
		if got, _ := chromedp.Run(step, chromedp.Value(chromedp.CSS(sel))); got != want {
			t.Fatalf("the refused form lost %s: %q, want %q", sel, got, want)
		}
	}
	if got := text("#refunded"); got != "£0.00" {
		t.Fatalf("a refused refund refunded %s", got)
	}
	screenshot(t, ctx, "admin-refund-refused")
	must("refund half, one lamp back on the shelf", chromedp.Clear(chromedp.CSS("#amount")), chromedp.SendKeys(chromedp.CSS("#amount"), "40.00"))
	navigate("refund", "#refund", "#order-status")
	if got := text("#order-status"); got != "partially refunded" || text("#refunded") != "£40.00" {
		t.Fatalf("after the refund: %q, refunded %q", got, text("#refunded"))
	}
	if got := text(`[id^="returned-"]`); got != "1" {
		t.Fatalf("units back on the shelf: %q, want 1 of 2", got)
	}
	if got := text("#payments"); !strings.Contains(got, "refund") || !strings.Contains(got, "succeeded") || !strings.Contains(got, "£40.00") {
		t.Fatalf("payments ledger on the order page: %q", got)
	}
	if got, _ := chromedp.Run(step, chromedp.Value(chromedp.CSS(`input[name^="restock-"]`))); got != "0" {
		t.Fatalf("the form offers to restock again: %q", got)
	}
	if got := text("#documents"); !strings.Contains(got, "Invoice INV-") || !strings.Contains(got, "Credit note CN-0001 · £40.00") {
		t.Fatalf("the order's documents: %q", got)
	}
	screenshot(t, ctx, "admin-order")
	must("dashboard", chromedp.Navigate(base+"/s/demo/admin"), chromedp.WaitVisible(chromedp.CSS("#kpi-month")))
	if got := text("#kpi-month"); got != "£40.00" {
		t.Fatalf("month net on the dashboard %q, want £40.00 (80.00 sold, 40.00 refunded)", got)
	}
	if got := text(".kpi:nth-child(2) small"); !strings.Contains(got, "refunds £40.00") {
		t.Fatalf("dashboard refunds: %q", got)
	}
	screenshot(t, ctx, "dashboard")
	must("report", chromedp.Navigate(base+"/s/demo/admin/reports"), chromedp.WaitVisible(chromedp.CSS("#total-net")))
	if g, r, n := text("#total-gross"), text("#total-refunds"), text("#total-net"); g != "£80.00" || r != "£40.00" || n != "£40.00" {
		t.Fatalf("report totals gross %s refunds %s net %s", g, r, n)
	}
	screenshot(t, ctx, "report")
	navigate("orders", `nav.tabs a[href="/s/demo/admin/orders"]`, "main table")
	if got := text("main table"); !strings.Contains(got, "partially refunded") && !strings.Contains(got, "partially_refunded") {
		t.Fatalf("the orders list: %q", got)
	}
	screenshot(t, ctx, "admin-orders")
	navigate("users", `nav.tabs a[href="/s/demo/admin/users"]`, "main table")
	if got := text("main table"); !strings.Contains(got, customer.Email) {
		t.Fatalf("the users list: %q", got)
	}
	screenshot(t, ctx, "admin-users")
	navigate("audit log", `nav.tabs a[href="/s/demo/admin/audit"]`, "main table")
	if got := text("main table"); !strings.Contains(got, "refund") {
		t.Fatalf("the audit log: %q", got)
	}
	screenshot(t, ctx, "admin-audit")
	navigate("background jobs", `nav.tabs a[href="/s/demo/admin/jobs"]`, "main h1")
	if got := text("main"); !strings.Contains(got, "Background jobs") || !strings.Contains(got, "No job has failed") {
		t.Fatalf("the jobs page: %q", got)
	}
	screenshot(t, ctx, "admin-jobs")
	navigate("shipping and tax", `nav.tabs a[href="/s/demo/admin/shipping"]`, "#basics")
	if got := text("main"); !strings.Contains(got, "United Kingdom") || !strings.Contains(got, "Rest of the world") || !strings.Contains(got, "Tracked next day") {
		t.Fatalf("the shipping page: %q", got)
	}
	screenshot(t, ctx, "admin-shipping")
	navigate("the tax report", `nav.tabs a[href="/s/demo/admin/reports"]`, "#taxes")
	if got := text("#taxes"); !strings.Contains(got, "VAT 20%") {
		t.Fatalf("the tax report: %q", got)
	}
	screenshot(t, ctx, "admin-reports-tax")
}
