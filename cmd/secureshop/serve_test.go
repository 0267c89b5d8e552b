package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"secureshop/internal/testenv"
)

// lockedBuffer is a bytes.Buffer safe to read while the server writes to it.
type lockedBuffer struct {
	ch  chan struct{}
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.ch <- struct{}{}
	defer func() { <-b.ch }()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.ch <- struct{}{}
	defer func() { <-b.ch }()
	return b.buf.String()
}

func TestServe_DemoThenGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	c := newCLI(t, testenv.SQLiteURL(t))
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background()) // cancelling is what SIGTERM does in main
	defer cancel()
	out := &lockedBuffer{ch: make(chan struct{}, 1)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--demo", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, c.args...),
			strings.NewReader(""), out, io.Discard)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become ready; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "admin@demo.example") {
		t.Fatalf("demo credentials not printed:\n%s", out.String())
	}

	// Requests in flight when the shutdown starts — their bodies still arriving — and a stream of
	// catalogue reads until then: every one of them gets its normal answer.
	const inFlight = 10
	pipes := make([]*io.PipeWriter, inFlight)
	result := make(chan int, inFlight)
	for i := range pipes {
		pr, pw := io.Pipe()
		pipes[i] = pw
		req, _ := http.NewRequest("POST", base+"/api/v1/stores/demo/auth/login", pr)
		req.Header.Set("Content-Type", "application/json")
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				result <- -1
				return
			}
			_ = resp.Body.Close()
			result <- resp.StatusCode
		}()
		_, _ = pw.Write([]byte(`{"email":"admin@demo.example",`))
	}
	reads := make(chan int, 1000)
	readers := make(chan struct{})
	go func() {
		defer close(readers)
		for i := 0; i < 200; i++ {
			resp, err := http.Get(base + "/api/v1/stores/demo/products?limit=5")
			if err != nil {
				return // the listener is closed: shutdown has begun; no request was cut
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			reads <- resp.StatusCode
		}
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	time.Sleep(200 * time.Millisecond)
	for _, pw := range pipes {
		_, _ = pw.Write([]byte(`"password":"wrong wrong wrong"}`))
		_ = pw.Close()
	}
	for range inFlight {
		if st := <-result; st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
			t.Fatalf("in-flight request during shutdown: status %d, want its normal answer", st)
		}
	}
	<-readers
	close(reads)
	for st := range reads {
		if st != http.StatusOK {
			t.Fatalf("a catalogue read during shutdown got %d", st)
		}
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

// holdCollections holds the collector back only until settle, and settle gives the operator's
// GOGC and GOMEMLIMIT back, keeping a memory limit lower than the start-up's own.
func TestHoldCollections_SettleRestoresTheOperatorsSettings(t *testing.T) {
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) }()
	for _, c := range []struct {
		percent       int
		limit, during int64
	}{
		{150, math.MaxInt64, startUpMemoryLimit},
		{100, 64 << 20, 64 << 20}, // the operator's lower limit holds during start-up too
	} {
		debug.SetGCPercent(c.percent)
		debug.SetMemoryLimit(c.limit)
		settle := holdCollections()
		if got := debug.SetGCPercent(-1); got != -1 {
			t.Errorf("GOGC during start-up = %d, want -1 (held)", got)
		}
		if got := debug.SetMemoryLimit(-1); got != c.during {
			t.Errorf("memory limit during start-up = %d, want %d", got, c.during)
		}
		settle()
		settle() // a second call changes nothing
		if got := debug.SetGCPercent(c.percent); got != c.percent {
			t.Errorf("GOGC after settle = %d, want %d", got, c.percent)
		}
		if got := debug.SetMemoryLimit(-1); got != c.limit {
			t.Errorf("memory limit after settle = %d, want %d", got, c.limit)
		}
	}
}
