// Package testenv starts the real servers that tests run against: a throw-away PostgreSQL cluster
// per test binary (initdb into a temporary directory, a free port on 127.0.0.1), stopped when the
// binary ends. When a server's binaries are missing the tests that need it skip, except under
// CI=true, where a missing server is a failure.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases
	_ "modernc.org/sqlite"             // the "sqlite" driver, for RawDB

	"secureshop/internal/sqlstore"
)

// Main runs the tests of a package and stops the servers they started. Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	stopAll()
	os.Exit(code)
}

var (
	mu       sync.Mutex
	stoppers []func()
)

// server is a real server the tests share, started on first use by start, which sets missing
// (not installed: a skip locally, a failure in CI) or err.
type server struct {
	once    sync.Once
	what    string // how the server is named in a skip or failure, with how to install it
	err     error
	missing bool
}

// ready starts the server on first use and fails tb when it could not be.
func (s *server) ready(tb testing.TB, start func()) {
	tb.Helper()
	s.once.Do(start)
	if s.missing {
		missing(tb, s.what)
	}
	if s.err != nil {
		tb.Fatalf("start %s: %v", s.what, s.err)
	}
}

func stopAll() {
	mu.Lock()
	defer mu.Unlock()
	for i := len(stoppers) - 1; i >= 0; i-- {
		stoppers[i]()
	}
	stoppers = nil
}

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("CI") == "1" }

// missing skips the test, or fails it under CI.
func missing(tb testing.TB, what string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s is required in CI: %s", what, "install it (see .ci/run)")
	}
	tb.Skipf("%s not available here; under CI=true this fails", what)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// RandomName returns a short random lower-case name with the given prefix.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// SQLiteURL returns the URL of a new SQLite database file in tb's temporary directory.
func SQLiteURL(tb testing.TB) string {
	return "sqlite:" + filepath.Join(tb.TempDir(), "shop.db")
}

var pg = struct {
	server
	adminURL string
	start    func() error // starts the server again on its port, after stop
	stop     func() error
}{server: server{what: "PostgreSQL (initdb, pg_ctl)"}}

// StopPostgres stops this test binary's PostgreSQL server (fast shutdown: connections are cut).
func StopPostgres(tb testing.TB) {
	tb.Helper()
	if pg.stop == nil {
		tb.Fatal("no PostgreSQL server of this test binary to stop")
	}
	if err := pg.stop(); err != nil {
		tb.Fatal(err)
	}
}

// StartPostgres starts it again on the same port.
func StartPostgres(tb testing.TB) {
	tb.Helper()
	if err := pg.start(); err != nil {
		tb.Fatal(err)
	}
}

// PostgresURL returns the URL of a new, empty database on this test binary's PostgreSQL server,
// starting the server on first use. SHOP_TEST_POSTGRES_URL names an existing server instead.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	pg.ready(tb, startPostgres)
	u, err := newDatabase()
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// ScratchPostgres starts a throwaway PostgreSQL server (as the tests do) for a program such as the
// benchmark harness, and returns the URL of a new, empty database on it and a function that stops
// the server and removes its files.
func ScratchPostgres() (string, func(), error) {
	pg.once.Do(startPostgres)
	if pg.missing {
		return "", stopAll, errors.New("PostgreSQL is not installed (initdb, pg_ctl)")
	}
	if pg.err != nil {
		return "", stopAll, pg.err
	}
	u, err := newDatabase()
	return u, stopAll, err
}

func newDatabase() (string, error) {
	admin, err := sql.Open("pgx", pg.adminURL)
	if err != nil {
		return "", err
	}
	defer func() { _ = admin.Close() }()
	name := RandomName("t_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create test database: %w", err)
	}
	u := *mustParse(pg.adminURL)
	u.Path = "/" + name
	return u.String(), nil
}

// pgBinDir finds the directory of initdb and pg_ctl: on PATH, or Debian's versioned directory.
func pgBinDir() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func startPostgres() {
	if u := os.Getenv("SHOP_TEST_POSTGRES_URL"); u != "" {
		pg.adminURL = u
		return
	}
	bin := pgBinDir()
	if bin == "" {
		pg.missing = true
		return
	}
	dir, err := os.MkdirTemp("", "shop-pg-")
	if err != nil {
		pg.err = err
		return
	}
	// initdb refuses to run as root: run the server tools as the postgres user on a directory it owns.
	var asUser []string
	if os.Geteuid() == 0 {
		pgUser, err := user.Lookup("postgres")
		if err != nil {
			pg.err = fmt.Errorf("running as root needs a postgres user: %w", err)
			return
		}
		uid, _ := strconv.Atoi(pgUser.Uid)
		gid, _ := strconv.Atoi(pgUser.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			pg.err = err
			return
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) ([]byte, error) {
		full := append(append([]string{}, asUser...), args...)
		cmd := exec.Command(full[0], full[1:]...) // #nosec G204 -- fixed tool names from the PostgreSQL installation
		return cmd.CombinedOutput()
	}
	data := filepath.Join(dir, "data")
	if out, err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--no-sync", "--locale=C"); err != nil {
		pg.err = fmt.Errorf("initdb: %v: %s", err, out)
		return
	}
	for attempt := 0; attempt < 5; attempt++ {
		port := freePortRaw()
		opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c synchronous_commit=off "+
			"-c full_page_writes=off -c max_connections=300", port, dir)
		out, err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60",
			"-o", opts, "start")
		if err != nil {
			pg.err = fmt.Errorf("pg_ctl start: %v: %s", err, out)
			continue
		}
		pg.err = nil
		pg.adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		pg.stop = func() error {
			if out, err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"); err != nil {
				return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
			}
			return nil
		}
		pg.start = func() error {
			if out, err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
				return fmt.Errorf("pg_ctl start: %v: %s", err, out)
			}
			return nil
		}
		mu.Lock()
		stoppers = append(stoppers, func() {
			_, _ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
			_ = os.RemoveAll(dir)
		})
		mu.Unlock()
		return
	}
}

func freePortRaw() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// DB is a database the shop's tests run against.
type DB struct {
	Name string // "sqlite" or "postgres"
	URL  string
}

// Databases returns a fresh SQLite database and a fresh PostgreSQL database, for tests that must
// hold on both.
func Databases(tb testing.TB) []DB {
	return []DB{{"sqlite", SQLiteURL(tb)}, {"postgres", PostgresURL(tb)}}
}

// ForEachDB runs fn as a subtest on a fresh SQLite and a fresh PostgreSQL database.
func ForEachDB(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteURL(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresURL(t)) })
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// AppRole creates (once per database) a PostgreSQL role that is neither superuser nor BYPASSRLS
// nor owner of the tables, grants it the data rights the shop needs, and returns dbURL with that
// role as user — how the shop is meant to connect in production. Run migrations first.
func AppRole(tb testing.TB, dbURL string) string {
	tb.Helper()
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	role := RandomName("app_")
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN NOSUPERUSER NOBYPASSRLS",
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role, // the job queue's ids
	} {
		if _, err := admin.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	u := *mustParse(dbURL)
	u.User = url.User(role)
	return u.String()
}

// RawDB opens the database at url directly, around the shop's code, as someone with access to the
// database would (to look at rows, or to tamper with them). It is closed when tb ends.
func RawDB(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	driver, dsn := "pgx", url
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		// The shop's own connections may still be checkpointing as they close: wait, as any tool would.
		driver, dsn = "sqlite", p+"?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// OpenDB opens the shop database at url with opt and migrates it; it is closed when tb ends.
func OpenDB(tb testing.TB, url string, opt sqlstore.Options) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, url, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}
