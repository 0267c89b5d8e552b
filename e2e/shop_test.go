package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"secureshop/internal/catalog"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// TestBrowser_BuyAsVisitorThenCustomer browses, searches and fills a cart without signing in, is
// asked to sign in at checkout (the cart comes along), is sent to the payment provider's page, has
// a card declined there, comes back to an order still payable, pays with a card that asks for the
// bank's approval, and finds the order paid in the history.
func TestBrowser_BuyAsVisitorThenCustomer(t *testing.T) {
	base, creds := startDemo(t)
	customer := creds[2]
	ctx := testenv.Browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/s/demo/")); err != nil {
		t.Fatal(err)
	}
	j := newJourney(t, ctx, 60*time.Second)
	step, must, navigate, text := j.step, j.must, j.navigate, j.text

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
	navigate("sign in", "form button[type=submit]", "#quote")
	if got := text("main"); !strings.Contains(got, "Earl Grey") || !strings.Contains(got, total) {
		t.Fatalf("checkout after sign-in lost the cart (%s): %q", total, got)
	}
	screenshot(t, ctx, "checkout-address")
	j.address()
	if n, _ := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("input[autocomplete^=cc-], input[name*=card], input[name*=cvc], input[name*=expir]").length`)); n != 0 {
		t.Fatalf("the checkout page has %d card fields: it must ask for no card", n)
	}
	// Earl Grey is zero-rated; the delivery carries VAT at 20 %, which the price includes.
	if got := text("#methods + fieldset"); !strings.Contains(got, "Standard delivery") || !strings.Contains(got, "£3.95") {
		t.Fatalf("the delivery options: %q", got)
	}
	if got := text("#tax-included"); !strings.Contains(got, "VAT 20% £0.66") {
		t.Fatalf("the VAT included: %q", got)
	}
	screenshot(t, ctx, "checkout")
	navigate("to the payment provider", "#pay", "#number")
	if u, _ := chromedp.Run(step, chromedp.Location()); strings.HasPrefix(u, base) {
		t.Fatalf("the card page is the shop's own (%s): it must be the provider's", u)
	}
	j.card("4000 0000 0000 0002")
	navigate("pay with a declined card", "button[type=submit]", "p.error")
	if msg := text("main"); !strings.Contains(msg, "declined") {
		t.Fatalf("no clear decline message: %q", msg)
	}
	if v, _ := chromedp.Run(step, chromedp.Value(chromedp.CSS("#number"))); v != "" {
		t.Fatal("the card number was echoed back into the form")
	}
	screenshot(t, ctx, "declined")
	// Back to the shop without paying: the order waits, payable until its deadline.
	navigate("back to the shop", "main a", "#order-status")
	if got := text("#order-status"); got != "pending payment" {
		t.Fatalf("order status after a decline %q", got)
	}
	if got := text("#paid-by"); !strings.Contains(got, "Waiting for your payment") || !strings.Contains(got, "pay by") {
		t.Fatalf("the unpaid order does not say until when it can be paid: %q", got)
	}
	screenshot(t, ctx, "order-unpaid")
	navigate("pay again", "#pay", "#number")
	j.card("4000 0027 6000 3184")
	navigate("a card that asks for the bank's approval", "button[type=submit]", "form[action$=approve]")
	screenshot(t, ctx, "approve")
	navigate("approve", "form[action$=approve] button", "#order-status")
	for deadline := time.Now().Add(10 * time.Second); text("#order-status") != "paid"; {
		// "Payment pending": the page refreshes itself until the provider's word arrives.
		if time.Now().After(deadline) {
			t.Fatalf("order status %q", text("#order-status"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := text("main"); !strings.Contains(got, "Paid £") {
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

// TestBrowser_CheckoutAfterAPriceChange: the price of what is in the customer's cart goes up; the
// cart and the checkout say so and show the new total, and paying pays the total shown.
func TestBrowser_CheckoutAfterAPriceChange(t *testing.T) {
	base, creds, _, a := startDemoApp(t)
	customer := creds[2]
	ctx := testenv.Browser(t)
	j := newJourney(t, ctx, 60*time.Second)
	must, navigate, text := j.must, j.navigate, j.text
	must("sign in", chromedp.Navigate(base+"/s/demo/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), customer.Email), chromedp.SendKeys(chromedp.CSS("#password"), customer.Password))
	navigate("sign in", "form button[type=submit]", "a.who")
	must("search", chromedp.Navigate(base+"/s/demo/?q=earl+grey"), chromedp.WaitVisible(chromedp.CSS(".grid")))
	navigate("open product", ".grid .product a", "form.buy")
	navigate("add to cart", "form.buy button", "#cart-total")
	before := text("#cart-total")

	ctxb := context.Background()
	st, err := a.Stores.BySlug(ctxb, "demo")
	if err != nil {
		t.Fatal(err)
	}
	page, err := a.Catalog.Products(ctxb, st.ID, catalog.Query{Text: "earl grey", Limit: 1})
	if err != nil || len(page.Products) != 1 {
		t.Fatalf("earl grey: %v", err)
	}
	p := page.Products[0]
	newPrice := shop.M(p.PriceAmount+250, "GBP")
	if _, err := a.Catalog.UpdateProduct(ctxb, shop.System(), st, p.ID, catalog.ProductInput{Price: &newPrice}); err != nil {
		t.Fatal(err)
	}
	must("cart", chromedp.Navigate(base+"/s/demo/cart"), chromedp.WaitVisible(chromedp.CSS("#price-changed")))
	if after := text("#cart-total"); after == before || after != newPrice.String() {
		t.Fatalf("cart total %q after the price went from %q to %s", after, before, newPrice)
	}
	navigate("checkout", "#to-checkout", "#quote")
	j.address()
	if got := text("main"); !strings.Contains(got, "Some prices changed") || !strings.Contains(got, "was "+shop.M(p.PriceAmount, "GBP").String()) {
		t.Fatalf("checkout does not tell of the change: %q", got)
	}
	// What is paid is what the page shows: the new price and the delivery.
	want := shop.M(newPrice.Amount+395, "GBP").String()
	if got := text("#total"); got != want {
		t.Fatalf("checkout total %q, want %s (the new price and standard delivery)", got, want)
	}
	screenshot(t, ctx, "checkout-price-changed")
	navigate("to pay the total shown", "#pay", "#number")
	if got := text("main"); !strings.Contains(got, want) {
		t.Fatalf("the provider asks for %q, want %s", got, want)
	}
	j.card("4242 4242 4242 4242")
	navigate("pay", "button[type=submit]", "#order-status")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(text("#paid-by"), want); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("paid %q, want %s", text("#paid-by"), want)
		}
	}
}
