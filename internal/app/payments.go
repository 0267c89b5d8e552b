package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"secureshop/internal/payment/stripe"
	"secureshop/internal/payment/testpay"
)

// testpayService is the testpay service the shop started on a listener of its own.
type testpayService struct {
	provider *testpay.Server
	http     *http.Server
}

func (t *testpayService) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.http.Shutdown(ctx)
	t.provider.Close()
}

// openPayments connects the payment provider the configuration names: Stripe, a testpay service
// running elsewhere, or testpay started here on its own listener (its own origin), with a new API
// key and webhook secret each start. Its webhooks go to the shop at base.
func (a *App) openPayments(base string) error {
	cfg := a.Cfg
	switch {
	case cfg.PaymentProvider == "stripe":
		p, err := stripe.New(stripe.Config{SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL})
		if err != nil {
			return err
		}
		a.Payments = p
		return nil
	case cfg.TestpayURL != "":
		a.Payments = testpay.NewClient(cfg.TestpayURL, cfg.TestpayKey, cfg.TestpayWebhookSecret)
		return nil
	}
	listen := cfg.TestpayListen
	if listen == "" {
		listen = Defaults().TestpayListen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return errors.New("testpay: " + err.Error() + " (--testpay-listen)")
	}
	addr := "http://" + ln.Addr().String()
	key, secret := newKey(), newKey()
	provider := testpay.NewServer(testpay.Config{SecretKey: key, WebhookSecret: secret, BaseURL: addr,
		WebhookURL: base + "/api/v1/payments/webhooks/testpay", Log: a.Log, Latency: cfg.TestpayLatency})
	srv := &http.Server{Handler: provider, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("testpay stopped", "err", err)
		}
	}()
	a.testpay = &testpayService{provider: provider, http: srv}
	a.Testpay = addr
	a.Payments = testpay.NewClient(addr, key, secret)
	a.Log.Info("testpay, the test payment provider, is serving", "address", addr)
	return nil
}

// paymentOrigin is scheme://host of the provider's payment pages: the one place besides the shop
// its forms may lead.
func (a *App) paymentOrigin() string {
	raw := a.Testpay
	switch {
	case a.Cfg.PaymentProvider == "stripe":
		raw = "https://checkout.stripe.com"
	case a.Cfg.TestpayURL != "":
		raw = a.Cfg.TestpayURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// reconcileWindow is how far back reconciliation looks for payments still pending.
const reconcileWindow = 7 * 24 * time.Hour
