package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// providerLatency is how long the payment provider takes to answer in the hosted-payments
// scenario: a real one takes 100-500 ms.
const providerLatency = 200 * time.Millisecond

// hostedPayments measures checkout with the payment provider (testpay) answering after
// providerLatency, on a shop of its own, each client in a closed loop filling its cart with a
// product of its own and checking out: checkout's rate against what that latency allows every
// client (clients ÷ latency; a writer held during the call would allow one call at a time); the
// p99 of cart writes in another store alone and during that checkout load (SQLite's one writer
// serves every store); and the whole paid flow — checkout, the customer paying on the provider's
// page, the provider's webhook — as orders paid a second.
func hostedPayments(h *harness, db string, rep *Report) {
	s := h.start(db, "--testpay-latency", providerLatency.String())
	defer s.stop()
	ld := load{clients: h.cfg.Clients, duration: h.cfg.Duration}
	conns := loadConns(s.host(), ld.clients)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	tokens := s.customersOf("demo", "hosted", ld.clients)
	// Each client buys a product of its own, as a shop's customers mostly do: what is measured is
	// the wait on the provider, not 64 buyers queueing for one stock row (the oversell check and
	// the checkout workload above measure that).
	var page struct{ Items []struct{ ID string } }
	_ = json.Unmarshal(get(fmt.Sprintf("%s/api/v1/stores/demo/products?limit=%d&sort=price", s.base, min(ld.clients, 100))), &page)
	if len(page.Items) == 0 {
		failf("no products to buy")
	}
	targets := make([]string, ld.clients)
	for i := range targets {
		targets[i] = page.Items[i%len(page.Items)].ID
	}
	for _, id := range page.Items {
		s.stockUp("demo", id.ID, 1_000_000) // straight in the database: the demo admin's second factor is the first run's
	}
	fill := func(i int) error {
		return conns[i].do("PUT", "/api/v1/stores/demo/cart/items/"+targets[i], tokens[i], `{"quantity":1}`, 200)
	}
	if err := fill(0); err != nil {
		failf("cart: %v", err)
	}
	body := s.toLondon(tokens[0])
	pay := func(i int) error { return conns[i].do("POST", "/api/v1/stores/demo/checkout", tokens[i], body, 201) }

	// Cart writes in another store, by a few clients of their own.
	other, otherTokens := s.otherStore(8)
	otherConns := loadConns(s.host(), len(otherTokens))
	defer func() {
		for _, c := range otherConns {
			c.close()
		}
	}()
	n := 0
	cartWrite := func(i int) error {
		n++
		return otherConns[i].do("PUT", "/api/v1/stores/other/cart/items/"+other, otherTokens[i], fmt.Sprintf(`{"quantity":%d}`, 1+n%3), 200)
	}
	cartLoad := load{clients: len(otherTokens), duration: ld.duration}
	alone := cartLoad.measure("cart writes in another store, alone", cartWrite)
	var during, checkout Result
	var wg sync.WaitGroup
	// Each client in a closed loop fills its cart and checks out, as customers come one after the
	// other. In rounds (every client checking out at once, as the checkout workload above is
	// measured) the database's share of a round would wait for the whole round's burst, never
	// overlapping the provider's wait.
	wg.Go(func() {
		checkout = ld.measure(fmt.Sprintf("cart + checkout, provider answering in %s", providerLatency), func(i int) error {
			if err := fill(i); err != nil {
				return err
			}
			return pay(i)
		})
	})
	time.Sleep(ld.duration / 5) // the checkout load under way
	wg.Go(func() {
		during = load{clients: cartLoad.clients, duration: ld.duration * 3 / 5}.measure("cart writes in another store, during checkout", cartWrite)
	})
	wg.Wait()
	bound := Result{Name: fmt.Sprintf("what the latency allows: %d clients ÷ %s", ld.clients, providerLatency),
		RPS: float64(ld.clients) / providerLatency.Seconds()}
	rep.add(checkout, bound)
	rep.Results = append(rep.Results, bound)
	during.Baseline, during.Ratio = alone.Name, during.P99ms/alone.P99ms // the p99's ratio, not the rate's
	rep.Results = append(rep.Results, alone, during)
	rep.CartP99Alone, rep.CartP99During = alone.P99ms, during.P99ms

	// The whole paid flow, as a customer's browser goes through it.
	browser := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * ld.clients},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var key sync.Map
	paid := ld.measure("paid flow: checkout, the provider's page, its webhook", func(i int) error {
		if err := fill(i); err != nil {
			return err
		}
		k, _ := key.LoadOrStore(i, new(int))
		*k.(*int)++
		o, err := s.checkoutOver(browser, tokens[i], fmt.Sprintf("paid-%d-%d", i, *k.(*int)), body)
		if err != nil {
			return err
		}
		resp, err := browser.PostForm(o.Payment.RedirectURL, url.Values{"number": {"4242424242424242"}, "exp": {"12/34"}, "cvc": {"123"}})
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("the provider's page: %d", resp.StatusCode)
		}
		// Asked every 20 ms (the return page itself refreshes every 3 s): 64 clients asking every
		// 5 ms were 12 800 requests a second, load of their own once the webhook goes through the
		// job queue.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if st, err := s.orderStatus(browser, tokens[i], o.ID); err != nil || st == "paid" {
				return err
			}
		}
		return fmt.Errorf("order %s never paid", o.ID)
	})
	paid.Name = "orders paid a second (" + paid.Name + ")"
	rep.Results = append(rep.Results, paid)
}

type checkedOut struct {
	ID      string
	Payment struct {
		RedirectURL string `json:"redirect_url"`
	}
}

// checkoutOver checks out over c, with key and body.
func (s *server) checkoutOver(c *http.Client, token, key, body string) (checkedOut, error) {
	req, _ := http.NewRequest("POST", s.base+"/api/v1/stores/demo/checkout", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	var o checkedOut
	resp, err := c.Do(req)
	if err != nil {
		return o, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusCreated {
		return o, fmt.Errorf("checkout: %d", resp.StatusCode)
	}
	return o, json.NewDecoder(resp.Body).Decode(&o)
}

// orderStatus reads an order's status over c.
func (s *server) orderStatus(c *http.Client, token, id string) (string, error) {
	req, _ := http.NewRequest("GET", s.base+"/api/v1/stores/demo/orders/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	var o struct{ Status string }
	err = json.NewDecoder(resp.Body).Decode(&o)
	return o.Status, err
}

// stockUp adds units of a product, through the shop's storage code.
func (s *server) stockUp(slug, product string, units int) {
	s.inStore(slug, func(ctx context.Context, tx *sqlstore.Tx, st shop.Store) error {
		_, err := tx.MoveStock(ctx, st.ID, product, units, "bench", "", "")
		return err
	})
}

// inStore runs fn in a write transaction of the store slug, through the shop's storage code on
// its database.
func (s *server) inStore(slug string, fn func(context.Context, *sqlstore.Tx, shop.Store) error) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, s.dbURL, sqlstore.Options{})
	if err != nil {
		fail(err)
	}
	defer func() { _ = db.Close() }()
	var st shop.Store
	err = db.View(ctx, "", func(tx *sqlstore.Tx) (err error) { st, err = tx.StoreBySlug(ctx, slug); return })
	if err == nil {
		err = db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error { return fn(ctx, tx, st) })
	}
	if err != nil {
		fail(err)
	}
}

// otherStore makes a second store, "other", with one product in stock and n signed-in customers,
// and returns the product and their tokens.
func (s *server) otherStore(n int) (string, []string) {
	cmd := exec.Command(s.bin, "store", "create", "--slug", "other", "--name", "Other", "--currency", "GBP") // #nosec G204 -- our own binary
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		failf("store create: %v %s", err, out)
	}
	p := shop.Product{SKU: "OTHER-1", Name: "Other tea", PriceAmount: 300}
	s.inStore("other", func(ctx context.Context, tx *sqlstore.Tx, st shop.Store) error {
		if err := tx.CreateProduct(ctx, st.ID, &p); err != nil {
			return err
		}
		_, err := tx.MoveStock(ctx, st.ID, p.ID, 1000, "bench", "", "")
		return err
	})
	return p.ID, s.customersOf("other", "other", n)
}
