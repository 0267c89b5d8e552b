package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/app"
	"secureshop/internal/identity"
	"secureshop/internal/payment/testpay"
	"secureshop/internal/testenv"
)

// twoInstances starts two shops on one PostgreSQL database and one Redis, with one key ring.
func twoInstances(t *testing.T, idc identity.Config) (*testShop, *testShop) {
	t.Helper()
	db, rds := testenv.PostgresURL(t), testenv.RedisURL(t)
	prefix := testenv.RandomName("scale")
	var secret string
	first := startShopFull(t, db, func(c *app.Config) {
		c.Redis = rds + "?client_name=" + prefix
		c.Identity = idc
		secret = c.SecretKey
	})
	second := startShopFull(t, db, func(c *app.Config) {
		c.Redis = rds + "?client_name=" + prefix
		c.Identity = idc
		c.SecretKey = secret
		c.MailDir = first.app.Cfg.MailDir
	})
	second.secret = first.secret
	return first, second
}

func TestScaleOut_TwoInstancesShareSessionsLimitsAndStock(t *testing.T) {
	one, two := twoInstances(t, identity.Config{AttemptsPerMinute: 1000, AttemptsPerIPMinute: 1000})
	one.store("scale")
	tok := one.login("scale", "customer@example.com")
	expectStatus(t, "session made on one, used on two", two.call("GET", "/api/v1/me", tok.AccessToken, nil), 200)
	a := two.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
	expectStatus(t, "refresh on two", a, 200)
	var next identity.Tokens
	a.json(t, &next)
	expectStatus(t, "spent refresh token on one", one.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}), 401)
	expectStatus(t, "the reuse ended the session everywhere", two.call("GET", "/api/v1/me", next.AccessToken, nil), 401)

	tok = two.login("scale", "customer@example.com")
	expectStatus(t, "logout on one", one.call("POST", "/api/v1/auth/logout", tok.AccessToken, nil), 204)
	expectStatus(t, "dead on two at once", two.call("GET", "/api/v1/me", tok.AccessToken, nil), 401)

	// 64 buyers split across both instances never oversell.
	p := one.newProduct("scale", "SCALE-10", 1000, 10)
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = one.customer("scale", fmt.Sprintf("b%02d@example.com", i)).AccessToken
		expectStatus(t, "cart", two.call("PUT", "/api/v1/stores/scale/cart/items/"+p.ID, tokens[i], `{"quantity":1}`), 200)
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(tokens))
	for i := range tokens {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := one
			if i%2 == 1 {
				s = two
			}
			statuses[i] = s.call("POST", "/api/v1/stores/scale/checkout", tokens[i], checkoutBody, "Idempotency-Key", fmt.Sprint("k", i)).status
		}(i)
	}
	wg.Wait()
	paid := 0
	for _, st := range statuses {
		if st == 201 {
			paid++
		} else if st != 409 {
			t.Fatalf("checkout status %d", st)
		}
	}
	if stock, ledger := one.stockAndLedger("scale", p.ID); paid != 10 || stock != 0 || ledger != 0 {
		t.Fatalf("%d paid, stock %d, ledger %d", paid, stock, ledger)
	}
}

func TestScaleOut_LoginLimitCountsOnBothInstances(t *testing.T) {
	one, two := twoInstances(t, identity.Config{AttemptsPerIPMinute: 1000})
	one.store("limit2")
	login := "/api/v1/stores/limit2/auth/login"
	for i := 1; i <= 5; i++ {
		s := one
		if i%2 == 0 {
			s = two
		}
		expectStatus(t, fmt.Sprint("attempt ", i), s.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": "wrong wrong wrong"}), 401)
	}
	expectStatus(t, "sixth, on either", two.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": testPassword}), 429)
	expectStatus(t, "sixth, on the other", one.call("POST", login, "", map[string]string{"email": "customer@example.com", "password": testPassword}), 429)
}

func TestRedisDown_SignInFailsClosedAndRecovers(t *testing.T) {
	rds := testenv.RedisURL(t)
	s := startShopFull(t, testenv.SQLiteURL(t), func(c *app.Config) { c.Redis = rds })
	s.store("outage")
	product := s.newProduct("outage", "OUT-1", 100, 5)
	tok := s.login("outage", "customer@example.com")
	testenv.StopRedis(t)
	restarted := false
	defer func() {
		if !restarted {
			testenv.StartRedis(t)
		}
	}()
	a := s.call("POST", "/api/v1/stores/outage/auth/login", "", map[string]string{"email": "customer@example.com", "password": testPassword})
	expectStatus(t, "sign-in with Redis down", a, http.StatusServiceUnavailable)
	if typ := a.problemType(t); typ != "/problems/unavailable" {
		t.Fatalf("problem %s", a.body)
	}
	expectStatus(t, "a signed-in request with Redis down", s.call("GET", "/api/v1/me", tok.AccessToken, nil), http.StatusServiceUnavailable)
	expectStatus(t, "readiness with Redis down", s.call("GET", "/readyz", "", nil), http.StatusServiceUnavailable)
	expectStatus(t, "the public catalogue still answers", s.call("GET", "/s/outage/", "", nil, "Accept", "text/html"), 200)
	// The API's public reads answer too — the rate limit counts in this instance meanwhile — and a
	// product page; what needs shared state fails closed with a clear 503.
	expectStatus(t, "the catalogue over the API with Redis down", s.call("GET", "/api/v1/stores/outage/products", "", nil), http.StatusOK)
	expectStatus(t, "categories over the API with Redis down", s.call("GET", "/api/v1/stores/outage/categories", "", nil), http.StatusOK)
	expectStatus(t, "a product page with Redis down", s.call("GET", "/s/outage/products/"+product.ID, "", nil, "Accept", "text/html"), 200)
	expectStatus(t, "the API docs with Redis down", s.call("GET", "/api/v1/openapi.json", "", nil), http.StatusOK)
	testenv.StartRedis(t)
	restarted = true
	deadline := time.Now().Add(10 * time.Second)
	for s.call("GET", "/readyz", "", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("not ready again after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Redis kept nothing (no persistence in tests): the old session is gone, a new sign-in works.
	s.login("outage", "customer@example.com")
}

// TestRedisDown_PublicReadsStayRateLimited: while the shared limits (Redis) do not answer, the
// public reads keep answering — and keep their per-address limit, counted by the instance itself,
// for the API and the pages apart. Without that fallback they would either fail or go unlimited.
func TestRedisDown_PublicReadsStayRateLimited(t *testing.T) {
	rds := testenv.RedisURL(t)
	const limit = 10
	s := startShopFull(t, testenv.SQLiteURL(t), func(c *app.Config) { c.Redis = rds; c.APIRequestsPerMinute = limit })
	s.store("limited")
	testenv.StopRedis(t)
	defer testenv.StartRedis(t)
	for name, call := range map[string]func() answer{
		"the catalogue over the API": func() answer { return s.call("GET", "/api/v1/stores/limited/products", "", nil) },
		"the storefront":             func() answer { return s.call("GET", "/s/limited/", "", nil, "Accept", "text/html") },
	} {
		answered := 0
		for range limit {
			if call().status == http.StatusOK {
				answered++
			}
		}
		if answered != limit {
			t.Errorf("%s with Redis down: %d of %d answered within the limit", name, answered, limit)
		}
		a := call()
		expectStatus(t, name+" beyond the limit with Redis down", a, http.StatusTooManyRequests)
		if a.header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", name)
		}
	}
}

func TestMetrics_CountRequestsFailuresAndOrders(t *testing.T) {
	s := startShopFull(t, testenv.SQLiteURL(t), func(c *app.Config) { c.MetricsToken = "metrics-secret" })
	s.store("metrics")
	p := s.newProduct("metrics", "M-1", 100, 5)
	s.call("POST", "/api/v1/stores/metrics/auth/login", "", map[string]string{"email": "customer@example.com", "password": "wrong wrong wrong"})
	tok := s.login("metrics", "customer@example.com").AccessToken
	s.call("PUT", "/api/v1/stores/metrics/cart/items/"+p.ID, tok, `{"quantity":1}`)
	s.call("POST", "/api/v1/stores/metrics/checkout", tok, checkoutBody, "Idempotency-Key", testenv.RandomName("k"))
	forged := s.call("POST", "/api/v1/payments/webhooks/testpay", "", `{"id":"evt_1","type":"session.paid"}`, testpay.SignatureHeader, "t=1,v1=00")
	expectStatus(t, "a forged webhook", forged, http.StatusBadRequest)
	expectStatus(t, "metrics without the token", s.call("GET", "/metrics", "", nil), 401)
	a := s.call("GET", "/metrics", "metrics-secret", nil)
	expectStatus(t, "metrics", a, 200)
	body := string(a.body)
	for _, want := range []string{"shop_signin_failures_total 1", "shop_orders_total 1", "shop_payment_webhooks_refused_total 1",
		`shop_http_requests_total{code="201",route="POST /api/v1/stores/{store}/checkout"} 1`, "shop_http_request_duration_seconds_bucket",
		"go_sql_open_connections"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestOutage_DatabaseAndRedisRestartUnderLoad keeps customers buying while PostgreSQL and Redis
// restart: requests during the outage get 503 (never 500), the shop comes back by itself, and
// every order it acknowledged is there afterwards.
func TestOutage_DatabaseAndRedisRestartUnderLoad(t *testing.T) {
	rds := testenv.RedisURL(t)
	s := startShopFull(t, testenv.PostgresURL(t), func(c *app.Config) { c.Redis = rds })
	s.store("outage-pg")
	p := s.newProduct("outage-pg", "LOAD-1", 100, 100000)
	tokens := make([]string, 4)
	for i := range tokens {
		tokens[i] = s.customer("outage-pg", fmt.Sprintf("load%d@example.com", i)).AccessToken
	}
	var mu sync.Mutex
	acknowledged := map[string]string{} // order id → its buyer's token
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		go func(tok string) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				cart := s.call("PUT", "/api/v1/stores/outage-pg/cart/items/"+p.ID, tok, `{"quantity":1}`)
				a := cart
				if cart.status == 200 {
					a = s.call("POST", "/api/v1/stores/outage-pg/checkout", tok, checkoutBody, "Idempotency-Key", fmt.Sprint(tok[len(tok)-8:], n))
				}
				mu.Lock()
				statuses[a.status]++
				if a.status == 201 {
					var o orderJSON
					a.json(t, &o)
					acknowledged[o.ID] = tok
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}(tokens[i])
	}
	time.Sleep(300 * time.Millisecond)
	testenv.StopPostgres(t)
	time.Sleep(500 * time.Millisecond)
	expectStatus(t, "readiness without the database", s.call("GET", "/readyz", "", nil), 503)
	testenv.StartPostgres(t)
	time.Sleep(300 * time.Millisecond)
	testenv.StopRedis(t)
	time.Sleep(300 * time.Millisecond)
	testenv.StartRedis(t)
	deadline := time.Now().Add(15 * time.Second)
	for s.call("GET", "/readyz", "", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the shop did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if statuses[500] > 0 {
		t.Fatalf("internal errors during the outage: %v", statuses)
	}
	if statuses[503] == 0 || statuses[201] == 0 {
		t.Fatalf("the load saw no outage or no orders: %v", statuses)
	}
	// Redis lost the sessions (no persistence in tests): sign in again, then find every order.
	admin := s.login("outage-pg", "admin@example.com").AccessToken
	for id := range acknowledged {
		expectStatus(t, "acknowledged order "+id, s.call("GET", "/api/v1/stores/outage-pg/orders/"+id, admin, nil), 200)
	}
	t.Logf("statuses during the run: %v; %d orders acknowledged", statuses, len(acknowledged))
}
