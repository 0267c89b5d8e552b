// Command bench measures the shop over HTTP on 127.0.0.1 against baselines taken in the same run:
// a bare net/http handler serving a pre-encoded product list, and a bare database/sql transaction
// doing checkout's conditional stock update and order insert. It starts `secureshop serve --demo`
// on a fresh database (SQLite, and PostgreSQL with -postgres), drives it with a closed loop of
// concurrent clients, and prints each figure as a ratio to its baseline, plus a JSON file.
//
// Checkout is measured as the checkout request itself, against the bare transaction that does its
// conditional stock update and order insert — the same statements on the shop's own tables,
// prepared, straight through database/sql (bareCheckouts; the earlier baseline on two minimal
// tables is reported as well): each client fills its customer's cart, untimed, and once every
// client has, all check out at once, timed (measureRounds). Filling a cart is add to cart's own
// row; the two one after the other in a closed loop are reported as well.
//
//	go run ./bench [-clients 64] [-duration 5s] [-postgres postgres://...]
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"secureshop/internal/testenv"
)

var (
	clients  = flag.Int("clients", 64, "concurrent clients (closed loop)")
	duration = flag.Duration("duration", 5*time.Second, "length of each measurement")
	products = flag.Int("products", 1000, "size of the demo catalogue")
	pgURL    = flag.String("postgres", os.Getenv("SHOP_BENCH_POSTGRES_URL"), "an empty PostgreSQL database to run on as well (default: start a scratch server)")
	sqlOnly  = flag.Bool("sqlite-only", false, "skip the PostgreSQL run")
	outDir   = flag.String("out", "bench/out", "directory for the JSON results")
)

// Result is one measured workload.
type Result struct {
	Name     string  `json:"name"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Errors   int64   `json:"errors"`
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio_to_baseline,omitempty"`
}

// Report is one database's run.
type Report struct {
	Database     string   `json:"database"`
	Clients      int      `json:"clients"`
	Duration     string   `json:"duration"`
	Results      []Result `json:"results"`
	IdleRSSMiB   float64  `json:"idle_rss_mib"`
	PeakRSSMiB   float64  `json:"peak_rss_mib"`
	FloodRSSMiB  float64  `json:"flood_peak_rss_mib"`
	FloodP99ms   float64  `json:"catalogue_p99_ms_during_signin_flood"`
	OversellPaid int      `json:"oversell_check_paid"`
	OversellUnit int      `json:"oversell_check_units"`
	StockAfter   int      `json:"oversell_check_stock_after"`
	// FileCreateMicros is what creating a small file in the shop's data directory cost before the
	// run (each order's confirmation mail is one).
	FileCreateMicros float64 `json:"file_create_us"`
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	bin := build()
	dbs := []string{"sqlite"}
	if !*sqlOnly {
		if *pgURL == "" {
			u, stop, err := testenv.ScratchPostgres()
			cleanup = stop
			if err != nil {
				fatalf("start a scratch PostgreSQL (or pass -postgres URL, or -sqlite-only): %v", err)
			}
			*pgURL = u
		}
		dbs = append(dbs, "postgres")
	}
	defer runCleanup()
	for _, db := range dbs {
		rep := run(bin, db)
		print(rep)
		if err := os.MkdirAll(*outDir, 0o750); err != nil {
			fatal(err)
		}
		b, _ := json.MarshalIndent(rep, "", "  ")
		file := filepath.Join(*outDir, "results-"+db+".json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			fatal(err)
		}
		fmt.Printf("written %s\n\n", file)
	}
}

// cleanup stops what main started (a scratch PostgreSQL), also when the run fails; buildDir
// holds the shop's binary for the run and runDirs the shops' data, removed at the end.
var (
	cleanup  func()
	buildDir string
	runDirs  []string
)

func runCleanup() {
	if cleanup != nil {
		cleanup()
		cleanup = nil
	}
	for _, d := range append(runDirs, buildDir) {
		if d != "" {
			_ = os.RemoveAll(d)
		}
	}
	runDirs, buildDir = nil, ""
}

func fatal(v ...any) {
	runCleanup()
	log.Fatal(v...)
}

func fatalf(format string, v ...any) {
	runCleanup()
	log.Fatalf(format, v...)
}

func build() string {
	dir, err := os.MkdirTemp("", "shop-bench-")
	if err != nil {
		fatal(err)
	}
	buildDir = dir
	bin := filepath.Join(dir, "secureshop")
	// Built as it is deployed: the shop is pure Go (SQLite included), so a static binary without
	// cgo. With cgo available, the standard library's resolver alone would link the C library in
	// and start the server's threads through it, about 1.3 MiB more of resident memory.
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/secureshop") // #nosec G204 -- fixed arguments
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type shop struct {
	base, dir, dbURL string
	cmd              *exec.Cmd
	env              []string
	bin              string
	enrolOnce        sync.Once // the admin's TOTP enrolment, once per run
}

func run(bin, db string) Report {
	dir, err := os.MkdirTemp("", "shop-bench-run-")
	if err != nil {
		fatal(err)
	}
	// Removed at the end of the whole run, not of this database's: ext4 without a journal (as
	// on the development machine) does not reuse an inode freed in the last minute (six, while
	// its inode table block is unwritten), and creating a file scans past every such one, so
	// removing the SQLite run's tens of thousands of mail files made each order's mail file in
	// the PostgreSQL run cost up to a millisecond of kernel time.
	runDirs = append(runDirs, dir)
	fileMicros := fileCreation(dir)
	dbURL := "sqlite:" + filepath.Join(dir, "shop.db")
	if db == "postgres" {
		dbURL = *pgURL
	}
	port := freePort()
	s := &shop{base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, dbURL: dbURL, bin: bin}
	s.env = append(os.Environ(), "SHOP_DATABASE="+dbURL, "SHOP_SECRET_KEY_FILE="+filepath.Join(dir, "secret.key"),
		"SHOP_MAIL_DIR="+filepath.Join(dir, "mail"), "SHOP_ATTEMPTS_PER_MINUTE=100000000", "SHOP_ATTEMPTS_PER_IP_MINUTE=100000000",
		"SHOP_API_REQUESTS_PER_MINUTE=1000000000", "SHOP_LOG_LEVEL=error", "SHOP_MAX_SESSIONS=1000")
	s.cmd = exec.Command(bin, "serve", "--demo", "--demo-products", strconv.Itoa(*products), "--listen", fmt.Sprintf("127.0.0.1:%d", port)) // #nosec G204 -- our own binary
	s.cmd.Env = s.env
	var out lockedBuffer
	s.cmd.Stdout = &out
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		fatal(err)
	}
	defer func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_ = s.cmd.Wait()
	}()
	waitReady(s.base)
	for i := 0; i < 100 && !strings.Contains(out.String(), "serving on"); i++ {
		time.Sleep(50 * time.Millisecond) // the output pipe is copied by another goroutine
	}
	creds := regexp.MustCompile(`(admin|customer)\s+(\S+@\S+)\s+(\S+)`).FindAllStringSubmatch(out.String(), -1)
	if len(creds) < 2 {
		fatalf("no demo credentials in:\n%s", out.String())
	}
	rep := Report{Database: db, Clients: *clients, Duration: duration.String(), FileCreateMicros: fileMicros}
	time.Sleep(time.Second)
	rep.IdleRSSMiB = rssMiB(s.cmd.Process.Pid, "VmRSS")

	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	body := get(s.base + "/api/v1/stores/demo/products?limit=24")
	_ = json.Unmarshal(body, &list)
	ids := make([]string, len(list.Items))
	for i, it := range list.Items {
		ids[i] = it.ID
	}
	// The baseline: a bare handler serving the same list, pre-encoded.
	bl, _ := net.Listen("tcp", "127.0.0.1:0")
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = bare.Serve(bl) }()
	defer func() { _ = bare.Close() }()

	bareConns, c := loadConns(bl.Addr().String(), *clients), loadConns(strings.TrimPrefix(s.base, "http://"), *clients)
	defer func() {
		for i := range c {
			bareConns[i].close()
			c[i].close()
		}
	}()
	base := measure("bare handler (baseline)", func(i int) error { return bareConns[i].do("GET", "/", "", "", 200) })
	add := func(r Result, baseline Result) {
		r.Baseline, r.Ratio = baseline.Name, r.RPS/baseline.RPS
		rep.Results = append(rep.Results, r)
	}
	rep.Results = append(rep.Results, base)
	add(measure("catalogue JSON (24 products)", func(i int) error {
		return c[i].do("GET", "/api/v1/stores/demo/products?limit=24", "", "", 200)
	}), base)
	add(measure("catalogue HTML page", func(i int) error { return c[i].do("GET", "/s/demo/", "", "", 200) }), base)
	var n atomic.Int64
	add(measure("product page", func(i int) error {
		return c[i].do("GET", "/s/demo/products/"+ids[int(n.Add(1))%len(ids)], "", "", 200)
	}), base)
	add(measure("search", func(i int) error {
		return c[i].do("GET", "/api/v1/stores/demo/products?q=tea&limit=24", "", "", 200)
	}), base)

	// Customers, one per client, and a product with plenty of stock.
	tokens := customers(s, *clients)
	admin := adminToken(s, creds)
	target, unit, sold := ids[0], ids[1], ids[2]
	adjust(s, admin, target, 1_000_000)
	add(measure("add to cart", func(i int) error {
		return c[i].do("PUT", "/api/v1/stores/demo/cart/items/"+target, tokens[i], `{"quantity":1}`, 200)
	}), base)
	card := `{"payment":{"card_number":"4242424242424242","exp_month":12,"exp_year":2035,"cvc":"123"}}`
	fill := func(i int) error {
		return c[i].do("PUT", "/api/v1/stores/demo/cart/items/"+target, tokens[i], `{"quantity":1}`, 200)
	}
	pay := func(i int) error {
		return c[i].do("POST", "/api/v1/stores/demo/checkout", tokens[i], card, 201)
	}
	checkout := measureRounds("checkout", fill, pay)
	cartAndPay := measure("cart + checkout, one after the other", func(i int) error {
		if err := fill(i); err != nil {
			return err
		}
		return pay(i)
	})
	adjust(s, admin, sold, 1_000_000) // the bare transactions' product
	bareTx, minimalTx := bareCheckouts(db, dbURL, sold)
	add(checkout, bareTx)
	add(cartAndPay, bareTx)
	rep.Results = append(rep.Results, bareTx)
	checkout.Name = "checkout, against the minimal tables"
	add(checkout, minimalTx)
	rep.Results = append(rep.Results, minimalTx)
	signIn := fmt.Sprintf(`{"email":%q,"password":%q}`, creds[1][2], creds[1][3])
	add(measure("sign-in (Argon2id)", func(i int) error {
		return c[i].do("POST", "/api/v1/stores/demo/auth/login", "", signIn, 200)
	}), base)

	// Oversell: every client races for the last units of a product until it is gone.
	units := 200
	setStock(s, admin, unit, units)
	var paid atomic.Int64
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		go func(c *loadConn, tok string) {
			defer wg.Done()
			for {
				if c.do("PUT", "/api/v1/stores/demo/cart/items/"+unit, tok, `{"quantity":1}`, 200) != nil {
					return // out of stock: the cart refuses more than is left
				}
				if c.do("POST", "/api/v1/stores/demo/checkout", tok, card, 201) != nil {
					return
				}
				paid.Add(1)
			}
		}(c[i], tokens[i])
	}
	wg.Wait()
	var p struct{ Stock int }
	_ = json.Unmarshal(get(s.base+"/api/v1/stores/demo/products/"+unit), &p)
	rep.OversellPaid, rep.OversellUnit, rep.StockAfter = int(paid.Load()), units, p.Stock

	// A flood of 200 concurrent bad sign-ins while 8 clients read the catalogue.
	stop := make(chan struct{})
	var peak atomic.Int64
	for range 200 {
		go func() {
			fc := &loadConn{host: c[0].host}
			defer fc.close()
			for {
				select {
				case <-stop:
					return
				default:
					_ = fc.do("POST", "/api/v1/stores/demo/auth/login", "", `{"email":"nobody@example.com","password":"not the password"}`, 401)
				}
			}
		}()
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if v := int64(rssMiB(s.cmd.Process.Pid, "VmRSS") * 1024); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	time.Sleep(time.Second)
	saved := *clients
	*clients = 8
	flood := measure("catalogue JSON during a sign-in flood", func(i int) error {
		return c[i].do("GET", "/api/v1/stores/demo/products?limit=24", "", "", 200)
	})
	*clients = saved
	close(stop)
	rep.FloodP99ms, rep.FloodRSSMiB = flood.P99ms, float64(peak.Load())/1024
	rep.Results = append(rep.Results, flood)
	rep.PeakRSSMiB = rssMiB(s.cmd.Process.Pid, "VmHWM")
	return rep
}

// measure runs fn in a closed loop on every client for the duration.
func measure(name string, fn func(client int) error) Result {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *clients {
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

// measureRounds measures fn alone when each call needs prepare first (a checkout needs a filled
// cart, and empties it): in rounds, every client prepares, and once all have, every client calls fn
// once, timed. The rate is the calls over the time the timed halves took, each half lasting until
// its slowest call has returned — so the tail of every round, when fewer than all clients are
// still waiting, counts against the rate.
func measureRounds(name string, prepare, fn func(client int) error) Result {
	var lat []time.Duration
	var errs atomic.Int64
	var timed time.Duration
	for timed < *duration {
		all(func(i int) {
			if err := prepare(i); err != nil {
				errs.Add(1)
			}
		})
		mine := make([]time.Duration, *clients)
		failed := make([]bool, *clients)
		start := time.Now()
		all(func(i int) {
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
func all(fn func(client int)) {
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	wg.Wait()
}

// The checkout's conditional stock update and order insert, as the shop writes them (the stock
// update in its plain form: the shop's own returns the new level for the ledger, or on PostgreSQL
// writes the ledger row in the same statement).
const (
	bareStockUpdate = `UPDATE products SET stock = stock - ?, updated_at = ? WHERE store_id = ? AND id = ? AND stock >= ?`
	bareOrderInsert = `INSERT INTO orders (id, store_id, customer_id, status, currency, total_amount, card_brand,
		card_last4, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// bareCheckouts measures the baselines of checkout, straight through database/sql on the shop's
// database with the same concurrency and no HTTP, no shop code: a transaction doing checkout's
// conditional stock update and order insert on the shop's own tables (products and orders, with
// their constraints, foreign keys and indexes), prepared statements, which is the baseline of the
// target; and a stock update and an order insert on two minimal tables made for it (an
// integer-keyed stock row, a four-column order table), not prepared, the harness's baseline until
// the ninth session, still reported.
func bareCheckouts(db, dbURL, product string) (same, minimal Result) {
	driver, dsn := "pgx", dbURL
	if db == "sqlite" {
		driver = "sqlite"
		dsn = "file:" + strings.TrimPrefix(dbURL, "sqlite:") + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_txlock=immediate"
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if db == "sqlite" {
		conn.SetMaxOpenConns(1) // one writer, as the shop has
	} else {
		conn.SetMaxOpenConns(16)
	}
	ctx := context.Background()
	ph := func(q string) string {
		if db == "sqlite" {
			return q
		}
		n := 0
		return regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
	}
	// Under PostgreSQL's row-level security (a role that is neither superuser nor BYPASSRLS) a
	// transaction sees a store's rows only once it names the store, as the shop's do.
	scoped := false
	if db == "postgres" {
		if err := conn.QueryRowContext(ctx, `SELECT NOT (rolsuper OR rolbypassrls) FROM pg_roles WHERE rolname = current_user`).Scan(&scoped); err != nil {
			fatal(err)
		}
	}
	var store, customer string
	begin := func() (*sql.Tx, error) {
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil && scoped {
			if _, err = tx.ExecContext(ctx, `SELECT set_config('app.store_id', $1, true)`, store); err != nil {
				_ = tx.Rollback()
			}
		}
		return tx, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT id FROM stores WHERE slug = 'demo'`).Scan(&store); err != nil {
		fatal(err)
	}
	tx, err := begin()
	if err != nil {
		fatal(err)
	}
	err = tx.QueryRowContext(ctx, ph(`SELECT id FROM users WHERE store_id = ? AND role = 'customer' ORDER BY id LIMIT 1`), store).Scan(&customer)
	_ = tx.Rollback()
	if err != nil {
		fatal(err)
	}
	now := func() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") } // as the shop writes times
	// Prepared once, as the shop's own statements are: compiling them for every transaction would
	// make the baseline slower than the shop's way of running the same statements.
	update, err := conn.PrepareContext(ctx, ph(bareStockUpdate))
	if err != nil {
		fatal(err)
	}
	insert, err := conn.PrepareContext(ctx, ph(bareOrderInsert))
	if err != nil {
		fatal(err)
	}
	same = measure("bare transaction (checkout baseline)", func(int) error {
		t := now()
		return sale(begin, func(tx *sql.Tx) (sql.Result, error) {
			return tx.StmtContext(ctx, update).ExecContext(ctx, 1, t, store, product, 1)
		}, func(tx *sql.Tx) (sql.Result, error) {
			return tx.StmtContext(ctx, insert).ExecContext(ctx, uuid.Must(uuid.NewV7()).String(), store, customer, "paid", "GBP",
				999, "visa", "4242", t, t)
		})
	})
	_, _ = update.Close(), insert.Close()

	for _, q := range []string{`CREATE TABLE IF NOT EXISTS bench_stock (id INTEGER PRIMARY KEY, stock INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS bench_orders (id TEXT PRIMARY KEY, product INTEGER NOT NULL, amount INTEGER NOT NULL, created_at TEXT NOT NULL)`,
		`INSERT INTO bench_stock (id, stock) VALUES (1, 100000000) ON CONFLICT (id) DO NOTHING`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			fatal(err)
		}
	}
	var seq atomic.Int64
	take := ph(`UPDATE bench_stock SET stock = stock - ? WHERE id = 1 AND stock >= ?`)
	record := ph(`INSERT INTO bench_orders (id, product, amount, created_at) VALUES (?, ?, ?, ?)`)
	minimal = measure("bare transaction, minimal tables (earlier baseline)", func(int) error {
		return sale(func() (*sql.Tx, error) { return conn.BeginTx(ctx, nil) }, func(tx *sql.Tx) (sql.Result, error) {
			return tx.ExecContext(ctx, take, 1, 1)
		}, func(tx *sql.Tx) (sql.Result, error) {
			return tx.ExecContext(ctx, record, strconv.FormatInt(seq.Add(1), 10)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36), 1, 999,
				time.Now().UTC().Format(time.RFC3339Nano))
		})
	})
	return same, minimal
}

// sale is one bare checkout transaction: take a unit (the update must change exactly one row, or
// the product is out of stock), record the order, commit; anything short of the commit rolls back.
func sale(begin func() (*sql.Tx, error), take, record func(*sql.Tx) (sql.Result, error)) error {
	tx, err := begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := take(tx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("out of stock")
	}
	if _, err := record(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
}

// loadConn is one load-generating client: its own keep-alive HTTP/1.1 connection, a request
// written and its answer read in the calling goroutine, the answer parsed by net/http. The load
// generator shares the two cores with the server it measures, so it should cost little:
// net/http's client took ~50 µs of CPU a request (a reading and a writing goroutine per
// connection, handing each request and answer over channels), a quarter of the CPU used during
// the checkout rounds; this takes about half of that. One goroutine uses it at a time.
type loadConn struct {
	host string // host:port
	conn net.Conn
	r    *bufio.Reader
	req  []byte
}

// loadConns returns n clients of host.
func loadConns(host string, n int) []*loadConn {
	cs := make([]*loadConn, n)
	for i := range cs {
		cs[i] = &loadConn{host: host}
	}
	return cs
}

// do sends a request (a JSON body, when there is one) and reads its answer, which must have the
// status want. A broken or closed connection is dialled again on the next call.
// runKey and checkoutKeys make every checkout's Idempotency-Key, unique within and across runs.
var (
	runKey       = "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	checkoutKeys atomic.Int64
)

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
		if strings.HasSuffix(path, "/checkout") { // each checkout a new one, as a client makes it
			b = strconv.AppendInt(append(append(b, "Idempotency-Key: "...), runKey...), checkoutKeys.Add(1), 10)
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

func call(method, url, token, body string) (int, []byte) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client().Do(req)
	if err != nil {
		fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func get(url string) []byte {
	st, b := call("GET", url, "", "")
	if st != 200 {
		fatalf("GET %s: %d", url, st)
	}
	return b
}

// lockedBuffer is the server's output, written by exec's copying goroutine while run reads it.
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

func waitReady(base string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fatal("the shop did not start")
}

func customers(s *shop, n int) []string {
	tokens := make([]string, n)
	for i := range tokens {
		email := fmt.Sprintf("bench%03d@example.com", i)
		cmd := exec.Command(s.bin, "user", "create", "--store", "demo", "--email", email, "--role", "customer", "--password-stdin") // #nosec G204 -- our own binary
		cmd.Env = s.env
		cmd.Stdin = strings.NewReader("velvet comet lantern 3\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			fatalf("user create: %v %s", err, out)
		}
		st, b := call("POST", s.base+"/api/v1/stores/demo/auth/login", "", fmt.Sprintf(`{"email":%q,"password":"velvet comet lantern 3"}`, email))
		if st != 200 {
			fatalf("login: %d %s", st, b)
		}
		var t struct {
			A string `json:"access_token"`
		}
		_ = json.Unmarshal(b, &t)
		tokens[i] = t.A
	}
	return tokens
}

// adminToken signs the demo admin in; staff without a second factor may only enrol, which
// enrolled does over the API.
func adminToken(s *shop, creds [][]string) string {
	st, b := call("POST", s.base+"/api/v1/stores/demo/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, creds[0][2], creds[0][3]))
	if st != 200 {
		fatalf("admin login: %d %s", st, b)
	}
	var t struct {
		A string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &t)
	return t.A
}

func adjust(s *shop, admin, id string, delta int) {
	tok := enrolled(s, admin)
	st, b := call("POST", s.base+"/api/v1/stores/demo/products/"+id+"/stock-adjustments", tok, fmt.Sprintf(`{"delta":%d,"reason":"bench"}`, delta))
	if st != 201 {
		fatalf("stock adjustment: %d %s", st, b)
	}
}

func setStock(s *shop, admin, id string, level int) {
	var p struct{ Stock int }
	_ = json.Unmarshal(get(s.base+"/api/v1/stores/demo/products/"+id), &p)
	adjust(s, admin, id, level-p.Stock)
}

// enrolled turns on TOTP for the admin's session (staff must) and returns the same token, now open.
func enrolled(s *shop, admin string) string {
	s.enrolOnce.Do(func() {
		st, b := call("POST", s.base+"/api/v1/me/mfa/totp", admin, "")
		if st != 201 {
			fatalf("enrol: %d %s", st, b)
		}
		var e struct{ Secret string }
		_ = json.Unmarshal(b, &e)
		code := totpNow(e.Secret)
		if st, b := call("POST", s.base+"/api/v1/me/mfa/totp/confirm", admin, fmt.Sprintf(`{"code":%q}`, code)); st != 200 {
			fatalf("confirm: %d %s", st, b)
		}
	})
	return admin
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
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
// ~30 µs on a settled disk and up to ~1.5 ms in the minutes after many files were removed (the
// kernel scans past every inode freed lately), which takes a good part of checkout's rate; the
// figure goes into the report so that such a run can be told apart. The files stay until the end.
func fileCreation(dir string) float64 {
	probe := filepath.Join(dir, "file-probe")
	if err := os.Mkdir(probe, 0o700); err != nil {
		fatal(err)
	}
	const n = 200
	page := make([]byte, 1024)
	start := time.Now()
	for i := range n {
		if err := os.WriteFile(filepath.Join(probe, strconv.Itoa(i)), page, 0o600); err != nil {
			fatal(err)
		}
	}
	return float64(time.Since(start).Microseconds()) / n
}

func print(r Report) {
	fmt.Printf("\n%s, %d clients, %s each\n", r.Database, r.Clients, r.Duration)
	fmt.Printf("%-42s %10s %9s %9s %7s %s\n", "workload", "req/s", "p50 ms", "p99 ms", "errors", "ratio to baseline")
	for _, x := range r.Results {
		ratio := ""
		if x.Baseline != "" {
			ratio = fmt.Sprintf("%.3f of %s", x.Ratio, x.Baseline)
		}
		fmt.Printf("%-42s %10.0f %9.2f %9.2f %7d %s\n", x.Name, x.RPS, x.P50ms, x.P99ms, x.Errors, ratio)
	}
	fmt.Printf("oversell check: %d paid for %d units, stock after %d\n", r.OversellPaid, r.OversellUnit, r.StockAfter)
	fmt.Printf("creating a file in the data directory before the run: %.0f µs", r.FileCreateMicros)
	if r.FileCreateMicros > 200 {
		fmt.Print(" — slow: the disk is still paying for files removed lately (bench/RESULTS.md); checkout's figure is low")
	}
	fmt.Println()
	fmt.Printf("server RSS: idle %.1f MiB, peak %.1f MiB, during the sign-in flood %.1f MiB; catalogue p99 during the flood %.2f ms\n",
		r.IdleRSSMiB, r.PeakRSSMiB, r.FloodRSSMiB, r.FloodP99ms)
}
