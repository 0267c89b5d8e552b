package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var sm = struct {
	server
	url string
}{server: server{what: "stripe-mock (go install github.com/stripe/stripe-mock@v0.203.0)"}}

// StripeMockURL returns the base URL of Stripe's own API mock, stripe-mock, started for this test
// binary on first use (HTTP on a free port on 127.0.0.1; `go install
// github.com/stripe/stripe-mock@v0.203.0`, as .ci/run does). It validates every request against
// Stripe's API description and answers with fixtures. SHOP_TEST_STRIPE_MOCK_URL names a running
// one instead.
func StripeMockURL(tb testing.TB) string {
	tb.Helper()
	sm.ready(tb, startStripeMock)
	return sm.url
}

func startStripeMock() {
	if u := os.Getenv("SHOP_TEST_STRIPE_MOCK_URL"); u != "" {
		sm.url = u
		return
	}
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		if out, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil { // go install puts it there
			p := filepath.Join(string(trimNewline(out)), "bin", "stripe-mock")
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		sm.missing = true
		return
	}
	port := freePortRaw()
	cmd := exec.Command(bin, "-http-addr", fmt.Sprintf("127.0.0.1:%d", port)) // #nosec G204 -- the tool's own binary and a port we chose
	if sm.err = cmd.Start(); sm.err != nil {
		return
	}
	mu.Lock()
	stoppers = append(stoppers, func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	mu.Unlock()
	for i := 0; i < 200; i++ {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
			_ = c.Close()
			sm.url = fmt.Sprintf("http://127.0.0.1:%d", port)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	sm.err = fmt.Errorf("stripe-mock did not answer on port %d", port)
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
