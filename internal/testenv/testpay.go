package testenv

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"secureshop/internal/payment/testpay"
)

// Testpay starts the testpay service on a loopback port for one test, sending its webhooks to
// webhookURL, and returns it (its books) and the shop's side of it (a client over HTTP).
func Testpay(tb testing.TB, webhookURL string) (*testpay.Server, *testpay.Client) {
	tb.Helper()
	var srv *testpay.Server
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
	key, secret := RandomName("key"), RandomName("whsec")
	srv = testpay.NewServer(testpay.Config{SecretKey: key, WebhookSecret: secret, WebhookURL: webhookURL, BaseURL: pages.URL})
	tb.Cleanup(func() { pages.Close(); srv.Close() })
	return srv, testpay.NewClient(pages.URL, key, secret)
}

// PayOnPage submits a card on a testpay payment page as a customer's browser does — with the extra
// approval step for testpay.ApprovalCard — and returns the page's last status: 303 when paid (and
// sent back to the shop), 402 declined, 422 a card that is not one.
func PayOnPage(tb testing.TB, page, number string) int {
	tb.Helper()
	form := url.Values{"number": {number}, "exp": {"12/" + strconv.Itoa(time.Now().Year()%100+2)}, "cvc": {"123"}}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(page, form)
	if err != nil {
		tb.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK && number == testpay.ApprovalCard {
		if resp, err = noFollow.PostForm(page+"/approve", nil); err != nil {
			tb.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	return resp.StatusCode
}
