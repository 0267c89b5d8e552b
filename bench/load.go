package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load is how hard a measurement drives the shop: clients in a closed loop, for duration.
type load struct {
	clients  int
	duration time.Duration
}

// measure runs fn in a closed loop on every client for the duration.
func (ld load) measure(name string, fn func(client int) error) Result {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(ld.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range ld.clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := fn(i); err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return summarise(name, lat, time.Since(start), errs.Load())
}

// measureRounds measures fn alone when each call needs prepare first (a checkout needs a filled
// cart, and empties it): in rounds, every client prepares, and once all have, every client calls fn
// once, timed. The rate is the calls over the time the timed halves took, each half lasting until
// its slowest call has returned — so the tail of every round, when fewer than all clients are
// still waiting, counts against the rate.
func (ld load) measureRounds(name string, prepare, fn func(client int) error) Result {
	var lat []time.Duration
	var errs atomic.Int64
	var timed time.Duration
	for timed < ld.duration {
		ld.all(func(i int) {
			if err := prepare(i); err != nil {
				errs.Add(1)
			}
		})
		mine := make([]time.Duration, ld.clients)
		failed := make([]bool, ld.clients)
		start := time.Now()
		ld.all(func(i int) {
			t := time.Now()
			failed[i] = fn(i) != nil
			mine[i] = time.Since(t)
		})
		timed += time.Since(start)
		for i, d := range mine {
			if failed[i] {
				errs.Add(1)
			} else {
				lat = append(lat, d)
			}
		}
	}
	return summarise(name, lat, timed, errs.Load())
}

// all runs fn on every client at once and waits for them.
func (ld load) all(fn func(client int)) {
	var wg sync.WaitGroup
	for i := range ld.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// summarise turns the latencies of the successful calls into a Result.
func summarise(name string, lat []time.Duration, elapsed time.Duration, errs int64) Result {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return Result{Name: name, RPS: float64(len(lat)) / elapsed.Seconds(), P50ms: pct(.5), P99ms: pct(.99), Errors: errs}
}

// loadConn is one load-generating client: its own keep-alive HTTP/1.1 connection, a request
// written and its answer read in the calling goroutine, the answer parsed by net/http. The load
// generator shares the two cores with the server it measures, so it should cost little:
// net/http's client takes about twice the CPU a request (a reading and a writing goroutine per
// connection, handing each request and answer over channels). One goroutine uses it at a time.
type loadConn struct {
	host string // host:port
	conn net.Conn
	r    *bufio.Reader
	req  []byte
	keys string // the prefix of this client's Idempotency-Keys, unique to it and to the run
	n    int64  // keys used
}

// loadConns returns n clients of host.
func loadConns(host string, n int) []*loadConn {
	cs := make([]*loadConn, n)
	run := strings.ToLower(rand.Text()[:10])
	for i := range cs {
		cs[i] = &loadConn{host: host, keys: fmt.Sprintf("bench-%s-%d-", run, i)}
	}
	return cs
}

// do sends a request (a JSON body, when there is one) and reads its answer, which must have the
// status want. A broken or closed connection is dialled again on the next call. A checkout
// carries a new Idempotency-Key, as a client makes one for each.
func (c *loadConn) do(method, path, token, body string, want int) error {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.host, 5*time.Second)
		if err != nil {
			return err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	b := append(c.req[:0], method...)
	b = append(append(append(b, ' '), path...), " HTTP/1.1\r\nHost: "...)
	b = append(append(b, c.host...), "\r\n"...)
	if token != "" {
		b = append(append(append(b, "Authorization: Bearer "...), token...), "\r\n"...)
	}
	if method != http.MethodGet {
		if body != "" {
			b = append(b, "Content-Type: application/json\r\n"...)
		}
		if strings.HasSuffix(path, "/checkout") {
			c.n++
			b = strconv.AppendInt(append(append(b, "Idempotency-Key: "...), c.keys...), c.n, 10)
			b = append(b, "\r\n"...)
		}
		b = append(strconv.AppendInt(append(b, "Content-Length: "...), int64(len(body)), 10), "\r\n"...)
	}
	b = append(append(b, "\r\n"...), body...)
	c.req = b
	_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.close()
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.close()
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err == nil && resp.StatusCode != want {
		err = fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
	return err
}

func (c *loadConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn, c.r = nil, nil
	}
}
