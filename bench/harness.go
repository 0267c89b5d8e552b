package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"secureshop/internal/testenv"
)

// harness is one run of the benchmark: the shop's binary, the databases and directories it made,
// removed by cleanup.
type harness struct {
	cfg          Config
	bin          string
	dirs         []string
	stopPostgres func()
	creds        map[string][][]string // the demo's accounts, by database: printed only when it is made
}

// failure stops a run: fail panics with it, run recovers it as the run's error.
type failure struct{ err error }

func fail(v ...any) { panic(failure{fmt.Errorf("%s", fmt.Sprint(v...))}) }

func failf(format string, v ...any) { panic(failure{fmt.Errorf(format, v...)}) }

// cleanup stops the scratch PostgreSQL and removes the binary and every shop's data. The data
// goes only now, at the end of the whole run: ext4 without a journal (as on the development
// machine) does not reuse an inode freed in the last minutes, and creating a file scans past
// every such one, so removing the SQLite run's mail files would slow the PostgreSQL run's.
func (h *harness) cleanup() {
	if h.stopPostgres != nil {
		h.stopPostgres()
	}
	for _, d := range h.dirs {
		_ = os.RemoveAll(d)
	}
}

func (h *harness) tempDir(prefix string) string {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fail(err)
	}
	h.dirs = append(h.dirs, dir)
	return dir
}

func (h *harness) startPostgres() {
	u, stop, err := testenv.ScratchPostgres()
	h.stopPostgres = stop
	if err != nil {
		failf("start a scratch PostgreSQL (or pass -postgres URL, or -sqlite-only): %v", err)
	}
	h.cfg.PostgresURL = u
}

// build compiles the shop as it is deployed: pure Go (SQLite included), so a static binary
// without cgo. With cgo the standard library's resolver alone would link the C library in and
// start the server's threads through it, about 1.3 MiB more of resident memory.
func (h *harness) build() {
	h.bin = filepath.Join(h.tempDir("shop-bench-"), "secureshop")
	cmd := exec.Command("go", "build", "-trimpath", "-o", h.bin, "./cmd/secureshop") // #nosec G204 -- fixed arguments
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		failf("go build: %v\n%s", err, out)
	}
}

// measure starts a shop on db and runs every scenario against it.
func (h *harness) measure(db string) Report {
	if h.cfg.PaymentsOnly {
		rep := Report{Database: db, Clients: h.cfg.Clients, Duration: h.cfg.Duration.String()}
		hostedPayments(h, db, &rep)
		return rep
	}
	s := h.start(db)
	defer s.stop()
	rep := Report{Database: db, Clients: h.cfg.Clients, Duration: h.cfg.Duration.String(), FileCreateMicros: s.fileMicros}
	time.Sleep(time.Second)
	rep.IdleRSSMiB = rssMiB(s.cmd.Process.Pid, "VmRSS")
	ld := load{clients: h.cfg.Clients, duration: h.cfg.Duration}
	conns := loadConns(s.host(), h.cfg.Clients)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	bare, ids := catalogue(ld, s, conns, &rep)
	checkout(ld, s, conns, ids, bare, &rep)
	signIn(ld, load{clients: h.cfg.FloodReaders, duration: h.cfg.Duration}, s, conns, bare, &rep)
	rep.PeakRSSMiB = rssMiB(s.cmd.Process.Pid, "VmHWM")
	s.stop()
	hostedPayments(h, db, &rep) // a shop of its own (on PostgreSQL the same database: the demo is made once)
	return rep
}

// server is a shop process under measurement.
type server struct {
	base, dir, dbURL string
	bin              string
	cmd              *exec.Cmd
	env              []string
	creds            [][]string // the demo's accounts as it printed them: role, e-mail, password
	fileMicros       float64
	enrolOnce        sync.Once // the admin's TOTP enrolment, once per run
	adminTok         string
}

// start runs `secureshop serve --demo` (with args) on a fresh database and waits until it answers.
func (h *harness) start(db string, args ...string) *server {
	dir := h.tempDir("shop-bench-run-")
	s := &server{dir: dir, bin: h.bin, fileMicros: fileCreation(dir), dbURL: "sqlite:" + filepath.Join(dir, "shop.db")}
	if db == "postgres" {
		s.dbURL = h.cfg.PostgresURL
	}
	port := freePort()
	s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.env = append(os.Environ(), "SHOP_DATABASE="+s.dbURL, "SHOP_SECRET_KEY_FILE="+filepath.Join(dir, "secret.key"),
		"SHOP_MAIL_DIR="+filepath.Join(dir, "mail"), "SHOP_ATTEMPTS_PER_MINUTE=100000000", "SHOP_ATTEMPTS_PER_IP_MINUTE=100000000",
		"SHOP_API_REQUESTS_PER_MINUTE=1000000000", "SHOP_LOG_LEVEL=error", "SHOP_MAX_SESSIONS=1000")
	args = append([]string{"serve", "--demo", "--demo-products", strconv.Itoa(h.cfg.Products), "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--testpay-listen", "127.0.0.1:0"}, args...)
	s.cmd = exec.Command(h.bin, args...) // #nosec G204 -- our own binary
	s.cmd.Env = s.env
	var out lockedBuffer
	s.cmd.Stdout = &out
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		fail(err)
	}
	s.waitReady()
	for i := 0; i < 100 && !strings.Contains(out.String(), "serving on"); i++ {
		time.Sleep(50 * time.Millisecond) // the output pipe is copied by another goroutine
	}
	s.creds = regexp.MustCompile(`(admin|customer)\s+(\S+@\S+)\s+(\S+)`).FindAllStringSubmatch(out.String(), -1)
	if len(s.creds) < 2 && h.creds[s.dbURL] != nil {
		s.creds = h.creds[s.dbURL] // the demo was made by an earlier start on this database
	}
	if h.creds == nil {
		h.creds = map[string][][]string{}
	}
	h.creds[s.dbURL] = s.creds
	if len(s.creds) < 2 {
		s.stop()
		failf("no demo credentials in:\n%s", out.String())
	}
	return s
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

func (s *server) host() string { return strings.TrimPrefix(s.base, "http://") }

func (s *server) waitReady() {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("the shop did not start")
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call makes one request of the shop outside the measurements (set-up), with net/http.
func call(method, url, token, body string) (int, []byte) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		fail(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func get(url string) []byte {
	st, b := call("GET", url, "", "")
	if st != 200 {
		failf("GET %s: %d", url, st)
	}
	return b
}

// customers makes n customers of the demo store with the shop's console command and signs each in.
func (s *server) customers(n int) []string { return s.customersOf("demo", "bench", n) }

// customersOf makes n customers of store, their addresses starting with prefix, and signs each in.
func (s *server) customersOf(store, prefix string, n int) []string {
	tokens := make([]string, n)
	for i := range tokens {
		email := customerEmail(i)
		if prefix != "bench" {
			email = fmt.Sprintf("%s%03d@example.com", prefix, i)
		}
		cmd := exec.Command(s.bin, "user", "create", "--store", store, "--email", email, "--role", "customer", "--password-stdin") // #nosec G204 -- our own binary
		cmd.Env = s.env
		cmd.Stdin = strings.NewReader("velvet comet lantern 3\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			failf("user create: %v %s", err, out)
		}
		st, b := call("POST", s.base+"/api/v1/stores/"+store+"/auth/login", "", fmt.Sprintf(`{"email":%q,"password":"velvet comet lantern 3"}`, email))
		if st != 200 {
			failf("login: %d %s", st, b)
		}
		var t struct {
			A string `json:"access_token"`
		}
		_ = json.Unmarshal(b, &t)
		tokens[i] = t.A
	}
	return tokens
}

func customerEmail(i int) string { return fmt.Sprintf("bench%03d@example.com", i) }

// admin signs the demo admin in and enrols TOTP for the session (staff must before anything
// else), once; it returns the session's token.
func (s *server) admin() string {
	s.enrolOnce.Do(func() {
		st, b := call("POST", s.base+"/api/v1/stores/demo/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, s.creds[0][2], s.creds[0][3]))
		if st != 200 {
			failf("admin login: %d %s", st, b)
		}
		var t struct {
			A string `json:"access_token"`
		}
		_ = json.Unmarshal(b, &t)
		s.adminTok = t.A
		st, b = call("POST", s.base+"/api/v1/me/mfa/totp", s.adminTok, "")
		if st != 201 {
			failf("enrol: %d %s", st, b)
		}
		var e struct{ Secret string }
		_ = json.Unmarshal(b, &e)
		if st, b := call("POST", s.base+"/api/v1/me/mfa/totp/confirm", s.adminTok, fmt.Sprintf(`{"code":%q}`, totpNow(e.Secret))); st != 200 {
			failf("confirm: %d %s", st, b)
		}
	})
	return s.adminTok
}

func (s *server) adjust(id string, delta int) {
	st, b := call("POST", s.base+"/api/v1/stores/demo/products/"+id+"/stock-adjustments", s.admin(), fmt.Sprintf(`{"delta":%d,"reason":"bench"}`, delta))
	if st != 201 {
		failf("stock adjustment: %d %s", st, b)
	}
}

func (s *server) setStock(id string, level int) {
	s.adjust(id, level-s.stock(id))
}

func (s *server) stock(id string) int {
	var p struct{ Stock int }
	_ = json.Unmarshal(get(s.base+"/api/v1/stores/demo/products/"+id), &p)
	return p.Stock
}

// lockedBuffer is the server's output, written by exec's copying goroutine while start reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// rssMiB reads a memory figure of a process from /proc (VmRSS now, VmHWM the peak).
func rssMiB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// fileCreation measures what creating a small file costs in dir, where the shop's mail will go
// (each order's confirmation is a file), in microseconds a file. On ext4 without a journal it is
// ~30 µs on a settled disk and up to ~1.5 ms in the minutes after many files were removed, which
// takes a good part of checkout's rate; the report carries it so that such a run can be told apart.
func fileCreation(dir string) float64 {
	probe := filepath.Join(dir, "file-probe")
	if err := os.Mkdir(probe, 0o700); err != nil {
		fail(err)
	}
	const n = 200
	page := make([]byte, 1024)
	start := time.Now()
	for i := range n {
		if err := os.WriteFile(filepath.Join(probe, strconv.Itoa(i)), page, 0o600); err != nil {
			fail(err)
		}
	}
	return float64(time.Since(start).Microseconds()) / n
}

// toLondon is the body of a checkout in the demo store: its cart sent to a London address by the
// demo's first method there, asked of the shop once (the methods' ids are the demo's own) with
// token's cart, which must hold something.
func (s *server) toLondon(token string) string {
	const to = `"shipping_address":{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postcode":"SW1Y 4JU","country":"GB"}`
	st, b := call("POST", s.base+"/api/v1/stores/demo/checkout/quote", token, "{"+to+"}")
	var q struct {
		Options []struct {
			ID string `json:"id"`
		} `json:"shipping_options"`
	}
	if err := json.Unmarshal(b, &q); st != 200 || err != nil || len(q.Options) == 0 {
		failf("quote: %d %s", st, b)
	}
	return "{" + to + `,"shipping_method_id":"` + q.Options[0].ID + `"}`
}
