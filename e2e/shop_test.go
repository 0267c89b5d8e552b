package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"secureshop/internal/testenv"
)

// TestBrowser_BuyAsVisitorThenCustomer browses, searches and fills a cart without signing in, is
// asked to sign in at checkout (the cart comes along), has a card declined, pays with another
// and finds the order in the history.
func TestBrowser_BuyAsVisitorThenCustomer(t *testing.T) {
	base, creds := startDemo(t)
	customer := creds[2]
	ctx := testenv.Browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/s/demo/")); err != nil {
		t.Fatal(err)
	}
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	must := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(step, actions...); err != nil {
			screenshot(t, ctx, "failure")
			body, _ := chromedp.Run(ctx, chromedp.Text("body"))
			t.Fatalf("%s: %v\npage: %s", what, err, body)
		}
	}
	// navigate clicks sel and waits until a new page, one that has want, has loaded.
	navigate := func(what, sel, want string) {
		t.Helper()
		if _, err := chromedp.Run(step, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`)); err != nil {
			t.Fatal(err)
		}
		must(what, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) `+want)))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(step, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	must("type search", chromedp.SendKeys(chromedp.CSS("#q"), "earl grey"))
	navigate("search", ".search button", ".grid")
	if got := text(".grid"); !strings.Contains(got, "Earl Grey") || strings.Contains(got, "Assam") {
		t.Fatalf("search results: %q", got)
	}
	screenshot(t, ctx, "search")
	navigate("open product", ".grid .product a", "form.buy")
	must("quantity", chromedp.SetValue(chromedp.CSS("#quantity"), "2"))
	navigate("add to cart", "form.buy button", "#cart-total")
	if got := text("table"); !strings.Contains(got, "Earl Grey") {
		t.Fatalf("visitor cart: %q", got)
	}
	total := text("#cart-total")
	screenshot(t, ctx, "cart")

	navigate("checkout asks to sign in", "#to-checkout", "#email")
	must("credentials", chromedp.SendKeys(chromedp.CSS("#email"), customer.Email), chromedp.SendKeys(chromedp.CSS("#password"), customer.Password))
	navigate("sign in", "form button[type=submit]", "#card_number")
	if got := text("main"); !strings.Contains(got, "Earl Grey") || !strings.Contains(got, total) {
		t.Fatalf("checkout after sign-in lost the cart (%s): %q", total, got)
	}
	fill := func(card string) {
		t.Helper()
		must("fill card", chromedp.Clear(chromedp.CSS("#card_number")), chromedp.SendKeys(chromedp.CSS("#card_number"), card),
			chromedp.Clear(chromedp.CSS("#exp_month")), chromedp.SendKeys(chromedp.CSS("#exp_month"), "12"),
			chromedp.Clear(chromedp.CSS("#exp_year")), chromedp.SendKeys(chromedp.CSS("#exp_year"), "2034"),
			chromedp.Clear(chromedp.CSS("#cvc")), chromedp.SendKeys(chromedp.CSS("#cvc"), "123"))
	}
	fill("4000 0000 0000 0002")
	navigate("pay with a declined card", "#pay", "p.error")
	msg := text("main")
	if !strings.Contains(msg, "declined") {
		t.Fatalf("no clear decline message: %q", msg)
	}
	if v, _ := chromedp.Run(step, chromedp.Value(chromedp.CSS("#card_number"))); v != "" {
		t.Fatal("the card number was echoed back into the form")
	}
	screenshot(t, ctx, "declined")
	fill("4242 4242 4242 4242")
	navigate("pay", "#pay", "#order-status")
	if got := text("#order-status"); got != "paid" {
		t.Fatalf("order status %q", got)
	}
	if got := text("main"); !strings.Contains(got, "Thank you") || !strings.Contains(got, "visa ending 4242") {
		t.Fatalf("confirmation page: %q", got)
	}
	screenshot(t, ctx, "order")
	orderID := strings.TrimPrefix(text("h1"), "Order ")
	navigate("history", `nav a[href="/s/demo/orders"]`, "table")
	if got := text("table"); !strings.Contains(got, orderID) || !strings.Contains(got, "paid") {
		t.Fatalf("order %s not in the history: %q", orderID, got)
	}
	screenshot(t, ctx, "history")
}
