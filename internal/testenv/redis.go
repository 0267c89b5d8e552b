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

var rd = struct {
	server
	url  string
	port string
	cmd  *exec.Cmd
	dir  string // its working directory, removed when it stops
}{server: server{what: "Redis (redis-server)"}}

// RedisURL returns the URL of this test binary's Redis server, starting it (on a free port on
// 127.0.0.1, without persistence) on first use. Tests share it; give each its own key prefix.
// SHOP_TEST_REDIS_URL names an existing server instead.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	rd.ready(tb, startRedis)
	return rd.url
}

// StopRedis kills the test Redis server; StartRedis starts it again on the same port.
func StopRedis(tb testing.TB) {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if rd.cmd != nil && rd.cmd.Process != nil {
		_ = rd.cmd.Process.Kill()
		_ = rd.cmd.Wait()
		rd.cmd = nil
	}
}

// StartRedis starts the test Redis server again after StopRedis.
func StartRedis(tb testing.TB) {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if err := runRedis(rd.port); err != nil {
		tb.Fatal(err)
	}
}

func startRedis() {
	if u := os.Getenv("SHOP_TEST_REDIS_URL"); u != "" {
		rd.url = u
		return
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		rd.missing = true
		return
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := fmt.Sprint(freePortRaw())
		if rd.err = runRedis(port); rd.err == nil {
			rd.url, rd.port = "redis://127.0.0.1:"+port+"/0", port
			mu.Lock()
			stoppers = append(stoppers, func() {
				if rd.cmd != nil && rd.cmd.Process != nil {
					_ = rd.cmd.Process.Kill()
					_ = rd.cmd.Wait()
				}
				_ = os.RemoveAll(rd.dir)
			})
			mu.Unlock()
			return
		}
	}
}

func runRedis(port string) error {
	dir, err := os.MkdirTemp("", "shop-redis-")
	if err != nil {
		return err
	}
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", // #nosec G204 -- fixed arguments and a port we chose
		"--dir", dir, "--logfile", filepath.Join(dir, "log"))
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return err
	}
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 100*time.Millisecond); err == nil {
			_ = c.Close()
			rd.cmd, rd.dir = cmd, dir
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_ = os.RemoveAll(dir)
	return fmt.Errorf("redis-server did not answer on port %s", port)
}
