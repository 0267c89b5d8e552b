package payment_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"secureshop/internal/payment"
)

// The client a provider is called over keeps its connections between calls: waves of concurrent
// calls, as a busy instance's checkouts make, reuse the first wave's connections instead of
// opening (and closing) one a call past the second, as net/http's default transport would.
func TestHTTPClient_KeepsItsConnections(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // long enough for every call of a wave to be in flight at once
		_, _ = w.Write([]byte(`{}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := payment.HTTPClient(5 * time.Second)
	const calls, waves = 16, 4
	for range waves {
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			})
		}
		wg.Wait()
	}
	if n := opened.Load(); n > calls {
		t.Fatalf("%d waves of %d concurrent calls opened %d connections, want at most %d", waves, calls, n, calls)
	}
}
