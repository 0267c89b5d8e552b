// Command bench measures the shop over HTTP on 127.0.0.1 against baselines taken in the same run:
// a bare net/http handler serving a pre-encoded product list, and a bare write transaction doing
// checkout's stock update and order insert through the shop's own storage code, without HTTP or
// the orders service. It builds the shop, starts `secureshop serve --demo` on a fresh database
// (SQLite, then PostgreSQL: a scratch server, or -postgres URL), drives it with a closed loop of
// concurrent clients, and prints each figure as a ratio to its baseline, with a JSON file per
// database. Each scenario is a file of its own: catalogue.go, checkout.go, signin.go, and the
// baselines in baseline.go. bench/RESULTS.md holds the measurements and their history.
//
//	go run ./bench [-clients 64] [-duration 5s] [-products 1000] [-postgres URL | -sqlite-only] [-payments-only]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

// Config is what a run measures, and how hard.
type Config struct {
	Clients      int           // concurrent clients of each workload (closed loop)
	FloodReaders int           // clients reading the catalogue during the sign-in flood
	Duration     time.Duration // length of each measurement
	Products     int           // size of the demo catalogue
	PostgresURL  string        // an empty PostgreSQL database; "" starts a scratch server
	SQLiteOnly   bool          // skip the PostgreSQL run
	PaymentsOnly bool          // measure only the hosted-payments scenario (payments.go)
	OutDir       string        // where the JSON results go
}

func main() {
	cfg := Config{FloodReaders: 8}
	flag.IntVar(&cfg.Clients, "clients", 64, "concurrent clients (closed loop)")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "length of each measurement")
	flag.IntVar(&cfg.Products, "products", 1000, "size of the demo catalogue")
	flag.StringVar(&cfg.PostgresURL, "postgres", os.Getenv("SHOP_BENCH_POSTGRES_URL"), "an empty PostgreSQL database to run on as well (default: start a scratch server)")
	flag.BoolVar(&cfg.SQLiteOnly, "sqlite-only", false, "skip the PostgreSQL run")
	flag.BoolVar(&cfg.PaymentsOnly, "payments-only", false, "measure only the hosted-payments scenario")
	flag.StringVar(&cfg.OutDir, "out", "bench/out", "directory for the JSON results")
	flag.Parse()
	log.SetFlags(0)
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

// run measures every database in turn; whatever happens, what it started and made is removed.
func run(cfg Config) (err error) {
	h := &harness{cfg: cfg}
	defer h.cleanup()
	defer func() { // a scenario that cannot go on stops the run with h.fail
		if p := recover(); p != nil {
			f, ok := p.(failure)
			if !ok {
				panic(p)
			}
			err = f.err
		}
	}()
	h.build()
	dbs := []string{"sqlite"}
	if !cfg.SQLiteOnly {
		if cfg.PostgresURL == "" {
			h.startPostgres()
		}
		dbs = append(dbs, "postgres")
	}
	for _, db := range dbs {
		rep := h.measure(db)
		print(rep)
		if err := os.MkdirAll(cfg.OutDir, 0o750); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(rep, "", "  ")
		file := filepath.Join(cfg.OutDir, "results-"+db+".json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			return err
		}
		fmt.Printf("written %s\n\n", file)
	}
	return nil
}

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
	// The p99 of cart writes in another store, alone and while checkouts wait on a slow provider.
	CartP99Alone  float64 `json:"cart_p99_ms_other_store_alone"`
	CartP99During float64 `json:"cart_p99_ms_other_store_during_checkout"`
}

// add records r as a ratio to baseline.
func (rep *Report) add(r, baseline Result) {
	r.Baseline, r.Ratio = baseline.Name, r.RPS/baseline.RPS
	rep.Results = append(rep.Results, r)
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
	fmt.Printf("cart writes in another store, p99: %.2f ms alone, %.2f ms during checkouts on a provider answering in %s (%.2f×)\n",
		r.CartP99Alone, r.CartP99During, providerLatency, r.CartP99During/r.CartP99Alone)
	fmt.Printf("creating a file in the data directory before the run: %.0f µs", r.FileCreateMicros)
	if r.FileCreateMicros > 200 {
		fmt.Print(" — slow: the disk is still paying for files removed lately (bench/RESULTS.md); checkout's figure is low")
	}
	fmt.Println()
	fmt.Printf("server RSS: idle %.1f MiB, peak %.1f MiB, during the sign-in flood %.1f MiB; catalogue p99 during the flood %.2f ms\n",
		r.IdleRSSMiB, r.PeakRSSMiB, r.FloodRSSMiB, r.FloodP99ms)
}
