package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/testenv"
)

// buildBinary builds secureshop once for the process tests.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "shop-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "secureshop")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput() // #nosec G204 -- fixed arguments
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

type process struct {
	base   string
	cmd    *exec.Cmd
	stdout *lockedWriter
	exited chan struct{} // closed once the process has ended (and been waited for)
}

// output is what the process printed so far.
func (p *process) output() string {
	p.stdout.mu.Lock()
	defer p.stdout.mu.Unlock()
	return p.stdout.w.(*bytes.Buffer).String()
}

// startProcess runs `secureshop serve` with env on a free port and waits until it is ready.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	return startProcessOn(t, testenv.FreePort(t), env, args...)
}

// startProcessOn runs `secureshop serve` with env on port and waits until it is ready. Unless
// told of a testpay service, the shop starts its own on a port of its own.
func startProcessOn(t *testing.T, port int, env []string, args ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(append(env, args...), " "), "TESTPAY_URL") {
		args = append(args, "--testpay-listen", "127.0.0.1:0")
	}
	for attempt := 1; ; attempt++ {
		cmd := exec.Command(bin, append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...) // #nosec G204 -- the binary we built
		cmd.Env = append(os.Environ(), env...)
		out := &lockedWriter{w: &bytes.Buffer{}}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &process{base: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, stdout: out, exited: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(p.exited) }()
		t.Cleanup(func() {
			select {
			case <-p.exited:
				return // it ended, or the test killed it
			default:
			}
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.exited:
			case <-time.After(25 * time.Second):
				_ = cmd.Process.Kill()
				<-p.exited
			}
		})
		if p.ready(t) {
			return p
		}
		// It ended before it was ready: the port it was given, free a moment ago, was taken meanwhile
		// (by another test's connection), or it failed outright — then say why.
		if attempt == 3 || !strings.Contains(p.output(), "address already in use") {
			t.Fatalf("secureshop serve ended before it was ready:\n%s", p.output())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// ready waits until the process answers /readyz (true), or has ended (false).
func (p *process) ready(t *testing.T) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		select {
		case <-p.exited:
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("secureshop serve did not become ready:\n%s", p.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testpayProcess is `secureshop testpay` on its own, as several shop instances share it.
type testpayProcess struct {
	base string
	env  []string // what a shop needs to reach it: SHOP_TESTPAY_URL, its key and webhook secret
}

// startTestpay runs `secureshop testpay` on a free port, sending its webhooks to the shop at shopBase.
func startTestpay(t *testing.T, shopBase string) testpayProcess {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	key, secret := testenv.RandomName("testpay-key-"), testenv.RandomName("testpay-whsec-")
	cmd := exec.Command(bin, "testpay", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--webhook-url", shopBase+"/api/v1/payments/webhooks/testpay") // #nosec G204 -- the binary we built
	cmd.Env = append(os.Environ(), "SHOP_TESTPAY_KEY="+key, "SHOP_TESTPAY_WEBHOOK_SECRET="+secret)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	tp := testpayProcess{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	tp.env = []string{"SHOP_TESTPAY_URL=" + tp.base, "SHOP_TESTPAY_KEY=" + key, "SHOP_TESTPAY_WEBHOOK_SECRET=" + secret}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(tp.base + "/pay/none"); err == nil {
			_ = resp.Body.Close()
			return tp
		}
		if time.Now().After(deadline) {
			t.Fatal("secureshop testpay did not start")
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// toLondon is a checkout's body for the demo store: its cart sent to London by the first method
// the demo offers there.
func toLondon(t *testing.T, base, token string) string {
	t.Helper()
	const to = `"shipping_address":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postcode":"SW1Y 4JU","country":"GB"}`
	st, b := call(t, "POST", base+"/api/v1/stores/demo/checkout/quote", token, "{"+to+"}")
	var q struct {
		Options []struct{ ID string } `json:"shipping_options"`
	}
	if err := json.Unmarshal(b, &q); st != http.StatusOK || err != nil || len(q.Options) == 0 {
		t.Errorf("quote: %d %s", st, b)
		return "{}"
	}
	return "{" + to + `,"shipping_method_id":"` + q.Options[0].ID + `"}`
}

func call(t *testing.T, method, url, token, body string, hdr ...string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func loginTokens(t *testing.T, base, email, password string) (string, string) {
	t.Helper()
	st, b := call(t, "POST", base+"/api/v1/stores/demo/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	if st != 200 {
		t.Fatalf("login %s: %d %s", email, st, b)
	}
	var tok struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	_ = json.Unmarshal(b, &tok)
	return tok.Access, tok.Refresh
}

var credRE = regexp.MustCompile(`customer\s+(\S+)\s+(\S+)`)

// TestProcesses_TwoServeProcessesShareOnePostgresAndRedis runs two real `secureshop serve`
// processes on one PostgreSQL and one Redis.
func TestProcesses_TwoServeProcessesShareOnePostgresAndRedis(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("ab", 32)
	env := []string{"SHOP_DATABASE=" + testenv.PostgresURL(t), "SHOP_REDIS=" + testenv.RedisURL(t), "SHOP_SECRET_KEY=" + key,
		"SHOP_MAIL_DIR=" + filepath.Join(dir, "mail"), "SHOP_ATTEMPTS_PER_IP_MINUTE=100000", "SHOP_LOG_LEVEL=error"}
	// One payment provider for both instances; its webhooks reach the shop through the first.
	port := testenv.FreePort(t)
	env = append(env, startTestpay(t, fmt.Sprintf("http://127.0.0.1:%d", port)).env...)
	one := startProcessOn(t, port, env, "--demo")
	two := startProcess(t, env)
	m := credRE.FindStringSubmatch(one.output())
	if m == nil {
		t.Fatalf("no demo credentials printed:\n%s", one.output())
	}
	email, password := m[1], m[2]

	access, _ := loginTokens(t, one.base, email, password)
	if st, _ := call(t, "GET", two.base+"/api/v1/me", access, ""); st != 200 {
		t.Fatalf("a session made on one process, used on the other: %d", st)
	}
	if st, _ := call(t, "POST", two.base+"/api/v1/auth/logout", access, ""); st != 204 {
		t.Fatalf("logout on two: %d", st)
	}
	if st, _ := call(t, "GET", one.base+"/api/v1/me", access, ""); st != 401 {
		t.Fatalf("after logout on two, one still accepts the token: %d", st)
	}

	// The login limit (5 a minute per account) counts attempts on both processes.
	for i := 1; i <= 5; i++ {
		base := one.base
		if i%2 == 0 {
			base = two.base
		}
		if st, _ := call(t, "POST", base+"/api/v1/stores/demo/auth/login", "", `{"email":"nobody@example.com","password":"wrong wrong wrong"}`); st != 401 {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	if st, _ := call(t, "POST", two.base+"/api/v1/stores/demo/auth/login", "", `{"email":"nobody@example.com","password":"wrong wrong wrong"}`); st != 429 {
		t.Fatalf("sixth attempt across processes: %d, want 429", st)
	}

	// 64 buyers, split across the processes, race for the last units of a product.
	_, b := call(t, "GET", one.base+"/api/v1/stores/demo/products?limit=100&sort=price", "", "")
	var page struct {
		Items []struct {
			ID    string `json:"id"`
			Stock int    `json:"stock"`
		} `json:"items"`
	}
	_ = json.Unmarshal(b, &page)
	target := page.Items[0]
	for _, p := range page.Items {
		if p.Stock < target.Stock {
			target = p
		}
	}
	c := newCLI(t, env[0][len("SHOP_DATABASE="):])
	c.args = nil // use the environment of the processes
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	const buyers = 64
	tokens := make([]string, buyers)
	for i := range tokens {
		e := fmt.Sprintf("racer%02d@example.com", i)
		c.ok("velvet comet lantern 3\n", "user", "create", "--store", "demo", "--email", e, "--role", "customer", "--password-stdin")
		tokens[i], _ = loginTokens(t, one.base, e, "velvet comet lantern 3")
		if st, body := call(t, "PUT", two.base+"/api/v1/stores/demo/cart/items/"+target.ID, tokens[i], `{"quantity":1}`); st != 200 {
			t.Fatalf("cart: %d %s", st, body)
		}
	}
	var wg sync.WaitGroup
	statuses := make([]int, buyers)
	bodies := make([][]byte, buyers)
	for i := range tokens {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			base := one.base
			if i%2 == 1 {
				base = two.base
			}
			statuses[i], bodies[i] = call(t, "POST", base+"/api/v1/stores/demo/checkout", tokens[i], toLondon(t, base, tokens[i]), "Idempotency-Key", fmt.Sprint("race", i))
		}(i)
	}
	wg.Wait()
	paid := 0
	for i, st := range statuses {
		switch st {
		case 201: // sent to the one provider, and paid there
			var o struct {
				Payment struct {
					RedirectURL string `json:"redirect_url"`
				}
			}
			_ = json.Unmarshal(bodies[i], &o)
			if status := testenv.PayOnPage(t, o.Payment.RedirectURL, "4242424242424242"); status != http.StatusSeeOther {
				t.Fatalf("paying order %d: %d", i, status)
			}
			paid++
		case 409:
		default:
			t.Fatalf("checkout answered %d", st)
		}
	}
	_, b = call(t, "GET", two.base+"/api/v1/stores/demo/products/"+target.ID, "", "")
	var after struct{ Stock int }
	_ = json.Unmarshal(b, &after)
	if paid != target.Stock || after.Stock != 0 {
		t.Fatalf("%d orders paid for %d units; stock now %d", paid, target.Stock, after.Stock)
	}
}

// TestProcesses_KilledBeforeTheWebhookNeverLosesAPayment: the shop is killed (SIGKILL) with an
// order pending payment; the customer pays while it is down, so the provider's webhook cannot be
// handled; restarted, the shop gets the webhook the provider keeps sending, and the order ends
// paid — once, with one session and one charge — on both databases.
func TestProcesses_KilledBeforeTheWebhookNeverLosesAPayment(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		dir := t.TempDir()
		env := []string{"SHOP_DATABASE=" + url, "SHOP_SECRET_KEY=" + strings.Repeat("cd", 32), "SHOP_MAIL_DIR=" + filepath.Join(dir, "mail"),
			"SHOP_ATTEMPTS_PER_IP_MINUTE=100000", "SHOP_LOG_LEVEL=error", "SHOP_DEMO_PRODUCTS=4"}
		port := testenv.FreePort(t)
		env = append(env, startTestpay(t, fmt.Sprintf("http://127.0.0.1:%d", port)).env...)
		shop := startProcessOn(t, port, env, "--demo")
		m := credRE.FindStringSubmatch(shop.output())
		if m == nil {
			t.Fatalf("no demo credentials printed:\n%s", shop.output())
		}
		access, _ := loginTokens(t, shop.base, m[1], m[2])
		_, b := call(t, "GET", shop.base+"/api/v1/stores/demo/products?limit=1", "", "")
		var page struct{ Items []struct{ ID string } }
		_ = json.Unmarshal(b, &page)
		if st, body := call(t, "PUT", shop.base+"/api/v1/stores/demo/cart/items/"+page.Items[0].ID, access, `{"quantity":1}`); st != 200 {
			t.Fatalf("cart: %d %s", st, body)
		}
		body := toLondon(t, shop.base, access)
		st, b := call(t, "POST", shop.base+"/api/v1/stores/demo/checkout", access, body, "Idempotency-Key", "crash-1")
		var o struct {
			ID      string
			Status  string
			Payment struct {
				RedirectURL string `json:"redirect_url"`
			}
			Payments []struct{ Kind, State string }
		}
		if err := json.Unmarshal(b, &o); err != nil || st != 201 {
			t.Fatalf("checkout: %d %s", st, b)
		}
		if err := shop.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-shop.exited
		if status := testenv.PayOnPage(t, o.Payment.RedirectURL, "4242424242424242"); status != http.StatusSeeOther {
			t.Fatalf("paying while the shop is down: %d", status)
		}
		shop = startProcessOn(t, port, env)
		access, _ = loginTokens(t, shop.base, m[1], m[2])
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			_, b = call(t, "GET", shop.base+"/api/v1/stores/demo/orders/"+o.ID, access, "")
			_ = json.Unmarshal(b, &o)
			if o.Status != "pending_payment" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the payment made while the shop was down never reached it")
			}
		}
		// The checkout retried with its key is the same order: no second session, no second charge.
		st, again := call(t, "POST", shop.base+"/api/v1/stores/demo/checkout", access, body, "Idempotency-Key", "crash-1")
		if st != 201 || !strings.Contains(string(again), o.ID) {
			t.Fatalf("the checkout retried: %d %s", st, again)
		}
		_, b = call(t, "GET", shop.base+"/api/v1/stores/demo/orders/"+o.ID, access, "")
		_ = json.Unmarshal(b, &o)
		if o.Status != "paid" || len(o.Payments) != 1 || o.Payments[0].Kind != "charge" || o.Payments[0].State != "succeeded" {
			t.Fatalf("after the restart: %s", b)
		}
	})
}
