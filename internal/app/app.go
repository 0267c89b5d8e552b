// Package app wires the shop together from its configuration: database, services and web server.
// The command line and the end-to-end tests both start the shop through it.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"secureshop/internal/auditlog"
	"secureshop/internal/catalog"
	"secureshop/internal/identity"
	"secureshop/internal/jobs"
	"secureshop/internal/kv"
	"secureshop/internal/mail"
	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/reports"
	"secureshop/internal/sqlstore"
	"secureshop/internal/tenancy"
	"secureshop/internal/vault"
	"secureshop/internal/web"
)

// Config is the whole configuration, from flags and SHOP_* environment variables.
type Config struct {
	Listen               string          // address to serve on
	Database             string          // sqlite:PATH or postgres://...
	MigrateDatabase      string          // the tables' owner, for migrations, when the shop connects as a less privileged role
	Redis                string          // shared state; empty for in-process
	SecretKeyFile        string          // master secret (JWT signing and more), created if missing
	SecretKey            string          // master secret as hex, instead of the file (SHOP_SECRET_KEY)
	Env                  string          // "development" or "production"
	LogFormat            string          // "text" or "json"
	MailDir              string          // where mail goes as .eml files while no SMTP server is configured
	BaseURL              string          // the shop's public address, for links in mail (default http://LISTEN)
	Identity             identity.Config // session lifetimes and attempt limits; zero values take the defaults
	TLSCert              string          // serve HTTPS with this certificate ...
	TLSKey               string          // ... and key
	HTTPRedirect         string          // with TLS: also listen here and redirect plain HTTP to HTTPS
	TrustedProxies       []string        // addresses or CIDRs whose X-Forwarded-For is believed
	CORSOrigins          []string        // origins allowed to call the API from a browser
	APIRequestsPerMinute int             // API requests a minute per client address (default 600)
	SMTPURL              string          // send mail through this server instead of writing files
	LogLevel             string          // debug, info (default), warn, error
	MetricsListen        string          // serve /metrics on this address instead of the main one
	MetricsToken         string          // or require this bearer token for /metrics on the main one
	Demo                 bool
	DemoProducts         int             // size of the demo catalogue (default 48)
	HashParams           identity.Params // Argon2id cost; zero for the default

	PaymentProvider      string        // "testpay" (default; refused in production) or "stripe"
	StripeSecretKey      string        // SHOP_STRIPE_SECRET_KEY
	StripeWebhookSecret  string        // SHOP_STRIPE_WEBHOOK_SECRET
	StripeAPIURL         string        // Stripe's API, for tests against stripe-mock (default Stripe's own)
	TestpayListen        string        // where the shop starts testpay, on its own listener (default 127.0.0.1:8081; :0 picks a port)
	TestpayURL           string        // or the testpay service already running there ...
	TestpayKey           string        // ... with its API key (SHOP_TESTPAY_KEY) ...
	TestpayWebhookSecret string        // ... and its webhook secret (SHOP_TESTPAY_WEBHOOK_SECRET)
	JobInterval          time.Duration // how often reservations are expired (a periodic job); reconciliation runs every 20 (default 15 s)
	TestpayLatency       time.Duration // how long the testpay the shop starts takes to answer (the benchmark's provider)
}

// Defaults returns the configuration for a single machine.
func Defaults() Config {
	return Config{Listen: "127.0.0.1:8080", Database: "sqlite:data/shop.db", SecretKeyFile: "data/secret.key",
		MailDir: "data/mail", Env: "development", PaymentProvider: "testpay", TestpayListen: "127.0.0.1:8081"}
}

// Validate checks the configuration before anything starts.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Database, "sqlite:") && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		errs = append(errs, errors.New("--database must be sqlite:PATH or a postgres:// URL"))
	}
	if c.Redis != "" {
		if _, err := redis.ParseURL(c.Redis); err != nil {
			errs = append(errs, errors.New("--redis must be a redis:// or rediss:// URL"))
		}
	}
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, errors.New("SHOP_ENV must be development or production"))
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("--log-format must be text or json"))
	}
	var level slog.Level
	if c.LogLevel != "" && level.UnmarshalText([]byte(c.LogLevel)) != nil {
		errs = append(errs, errors.New("--log-level must be debug, info, warn or error"))
	}
	switch c.PaymentProvider {
	case "testpay":
		if c.Env == "production" {
			errs = append(errs, errors.New("--payment-provider testpay is a test provider and is refused in production"))
		}
		if c.TestpayURL != "" && (c.TestpayKey == "" || c.TestpayWebhookSecret == "") {
			errs = append(errs, errors.New("--testpay-url needs SHOP_TESTPAY_KEY and SHOP_TESTPAY_WEBHOOK_SECRET"))
		}
	case "stripe":
		if c.StripeSecretKey == "" || c.StripeWebhookSecret == "" {
			errs = append(errs, errors.New("--payment-provider stripe needs SHOP_STRIPE_SECRET_KEY and SHOP_STRIPE_WEBHOOK_SECRET"))
		}
	default:
		errs = append(errs, errors.New("--payment-provider must be testpay or stripe"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	return errors.Join(errs...)
}

// Masked is the configuration as it may be logged: no secret, no database password.
func (c Config) Masked() []any {
	db := c.Database
	if i := strings.Index(db, "@"); i > 0 && strings.HasPrefix(db, "postgres") {
		if j := strings.Index(db, "://"); j > 0 && j < i {
			db = db[:j+3] + "***" + db[i:]
		}
	}
	secret := "file " + c.SecretKeyFile
	if c.SecretKey != "" {
		secret = "environment"
	}
	return []any{"listen", c.Listen, "mail_dir", c.MailDir, "database", db, "redis", c.Redis != "", "secret", secret, "env", c.Env, "demo", c.Demo,
		"payment_provider", c.PaymentProvider, "stripe_key", mask(c.StripeSecretKey)}
}

// mask shows what kind of key a secret is (its prefix), never the key.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	if i := strings.LastIndex(secret, "_"); i > 0 && i < 12 {
		return secret[:i+1] + "***"
	}
	return "***"
}

// NewLogger returns the structured logger: JSON in production, text in development.
func NewLogger(c Config) *slog.Logger {
	format := c.LogFormat
	if format == "" {
		format = "text"
		if c.Env == "production" {
			format = "json"
		}
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel)) // validated in Validate; empty means info
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// App is a running shop.
type App struct {
	Cfg      Config
	Log      *slog.Logger
	DB       *sqlstore.DB
	Identity *identity.Service
	Stores   *tenancy.Service
	Catalog  *catalog.Service
	Audit    *auditlog.Service
	Orders   *orders.Service
	Payments payment.Provider // the payment provider
	Testpay  string           // the address of the testpay service the shop started ("" for none)
	Jobs     *jobs.Queue      // the durable job queue: mails, webhook events, expiry, reconciliation
	Web      *web.Server
	Metrics  *web.Metrics
	redis    *redis.Client
	testpay  *testpayService
}

// Open connects to the database, applies migrations and builds the services.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	db, err := sqlstore.Open(ctx, cfg.Database, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, cfg.MigrateDatabase); err != nil {
		_ = db.Close()
		return nil, err
	}
	keys, err := loadKeys(cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	master := keys[0]
	signer, err := identity.NewSigner(derive(keys, "jwt")...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	params := cfg.HashParams
	if params.Memory == 0 {
		params = identity.DefaultParams
	}
	v, err := vault.New(derive(keys, "vault")...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	queue, err := jobs.New(ctx, db, cfg.Database, jobs.Config{Expiry: cfg.JobInterval, Reconcile: 20 * cfg.JobInterval, Window: reconcileWindow, Vault: v, Log: log})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	var mailer mail.Sender = mail.Dir{Path: cfg.MailDir, From: "secureshop <no-reply@secureshop.localhost>"}
	if cfg.SMTPURL != "" {
		if mailer, err = mail.NewSMTP(cfg.SMTPURL, "no-reply@"+mailDomain(cfg)); err != nil {
			queue.Stop()
			_ = db.Close()
			return nil, err
		}
	}
	idCfg := cfg.Identity
	if idCfg.BaseURL = cfg.BaseURL; idCfg.BaseURL == "" {
		idCfg.BaseURL = "http://" + cfg.Listen
	}
	a := &App{Cfg: cfg, Log: log, DB: db, Jobs: queue, Metrics: web.NewMetrics()}
	for name, pool := range db.Stats() {
		a.Metrics.Registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	if db.Dialect() == sqlstore.Postgres {
		a.Metrics.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "shop_db_round_trips_total",
			Help: "Round trips the shop's transactions made to PostgreSQL: each statement that answers, each pipeline of writes."},
			func() float64 { return float64(db.RoundTrips()) }))
	}
	a.Metrics.Registry.MustRegister(queue.Collector())
	idCfg.OnLockout = a.Metrics.Lockouts.Inc
	var sessions identity.SessionStore = kv.NewMemorySessions()
	var limits interface {
		identity.Limits
		web.RateLimiter
	} = kv.NewMemoryLimits()
	var visitors orders.VisitorCarts = kv.NewMemoryCarts(0)
	var checks []func(context.Context) error
	if cfg.Redis != "" {
		opt, _ := redis.ParseURL(cfg.Redis) // checked in Validate
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, time.Second, time.Second
		redis.SetLogger(redisLog{log})
		a.redis = redis.NewClient(opt)
		shared := kv.NewRedis(a.redis, "shop:")
		sessions, limits, visitors = shared, shared, shared
		checks = append(checks, func(ctx context.Context) error { return shared.Ping(ctx) })
	}
	a.Identity = identity.New(identity.Deps{DB: db, Sessions: sessions, Limits: limits,
		Hasher: identity.NewHasher(params, 0), Signer: signer, Vault: v, Mailer: queue.Mailer(), DeviceKey: identity.DeriveKey(master, "device"), Log: log}, idCfg)
	a.Stores = tenancy.New(db)
	a.Catalog = catalog.New(db)
	a.Audit = auditlog.New(db)
	idemKey := identity.DeriveKey(master, "idempotency")
	keyHash := func(body string) string {
		m := hmac.New(sha256.New, idemKey)
		m.Write([]byte(body))
		return hex.EncodeToString(m.Sum(nil))
	}
	if err := a.openPayments(idCfg.BaseURL); err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Orders = orders.New(orders.Deps{DB: db, Provider: a.Payments, Queue: queue, Mailer: mailer, Visitors: visitors, BaseURL: idCfg.BaseURL,
		GuestKey: identity.DeriveKey(master, "guest-orders"), Log: log})
	proxies, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Web, err = web.New(web.Config{TrustedProxies: proxies, CORSOrigins: cfg.CORSOrigins, APIRequestsPerMin: cfg.APIRequestsPerMinute,
		Limits: limits, LocalLimits: kv.NewMemoryLimits(), HSTS: cfg.TLSCert != "" || len(proxies) > 0, Metrics: a.Metrics, MetricsToken: cfg.MetricsToken,
		MetricsElsewhere: cfg.MetricsListen != "", PaymentOrigin: a.paymentOrigin()}, web.Deps{DB: db, Identity: a.Identity, Stores: a.Stores, Catalog: a.Catalog,
		Audit: a.Audit, Orders: a.Orders, Payments: a.Payments, Reports: reports.New(db), Jobs: queue, Checks: checks, KeyHash: keyHash, Log: log})
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	// Every process of the shop works jobs: the console's mails go out as the server's do.
	if err := queue.Start(ctx, jobs.Work{Orders: a.Orders, Mailer: mailer}); err != nil {
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the database and Redis.
func (a *App) Close() error {
	if a.Identity != nil {
		a.Identity.Close() // its work after answers (reset mails) needs the database still
	}
	if a.Jobs != nil {
		a.Jobs.Stop() // the jobs in hand finish while the database is still open
	}
	if a.testpay != nil {
		a.testpay.close()
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
	return a.DB.Close()
}

// loadKeys reads the key ring — hex keys of at least 32 bytes, the current one first — from the
// environment (comma-separated) or the key file (one per line), creating the file (readable by
// its owner only) with one new key on first start. Older keys still open what they sealed.
func loadKeys(cfg Config) ([][]byte, error) {
	if cfg.SecretKey == "" {
		if _, err := os.Stat(cfg.SecretKeyFile); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(cfg.SecretKeyFile), 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(cfg.SecretKeyFile, []byte(newKey()+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("write secret key file: %w", err)
			}
		}
	}
	return loadKeysNoCreate(cfg)
}

// loadKeysNoCreate is loadKeys that creates nothing: no key file, no keys (nil, nil).
func loadKeysNoCreate(cfg Config) ([][]byte, error) {
	text := cfg.SecretKey
	if text == "" {
		b, err := os.ReadFile(cfg.SecretKeyFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read secret key file: %w", err)
		}
		text = string(b)
	}
	var keys [][]byte
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := hex.DecodeString(line)
		if err != nil || len(k) < 32 {
			return nil, errors.New("secret keys must be hex, at least 32 bytes each (SHOP_SECRET_KEY or the key file)")
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no secret key")
	}
	return keys, nil
}

func newKey() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return hex.EncodeToString(key)
}

// derive derives one purpose's key from every key of the ring, current first.
func derive(keys [][]byte, purpose string) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = identity.DeriveKey(k, purpose)
	}
	return out
}

// Serve answers HTTP on ln until ctx ends, then stops taking new connections and lets in-flight
// requests finish (up to 20 seconds).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Web.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	if a.Cfg.TLSCert != "" {
		srv.TLSConfig = tlsConfig(time.Now)
		go func() { errc <- srv.ServeTLS(ln, a.Cfg.TLSCert, a.Cfg.TLSKey) }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	if a.Cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.Metrics.Handler(a.Cfg.MetricsToken))
		metrics := &http.Server{Addr: a.Cfg.MetricsListen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := metrics.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		defer func() { _ = metrics.Close() }()
	}
	var redirect *http.Server
	if a.Cfg.TLSCert != "" && a.Cfg.HTTPRedirect != "" {
		redirect = &http.Server{Addr: a.Cfg.HTTPRedirect, Handler: httpsRedirect(ln.Addr().String()), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
		go func() {
			if err := redirect.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if redirect != nil {
		_ = redirect.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// parsePrefixes reads trusted proxies: addresses or CIDR prefixes.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func mailDomain(c Config) string {
	if u, err := url.Parse(c.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "secureshop.localhost"
}

// httpsRedirect sends plain-HTTP visitors to the same path over HTTPS, on the TLS listener's port.
func httpsRedirect(tlsAddr string) http.Handler {
	_, port, _ := net.SplitHostPort(tlsAddr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if port != "443" {
			host = net.JoinHostPort(host, port)
		}
		target := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, target.String(), http.StatusPermanentRedirect) // #nosec G710 -- the same host and path, over HTTPS
	})
}

// redisLog sends go-redis's own messages (reconnection attempts) to the shop's log.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// migrate applies the migrations, as the tables' owner when a separate URL names them.
func migrate(ctx context.Context, db *sqlstore.DB, ownerURL string) error {
	if ownerURL == "" {
		return db.Migrate(ctx)
	}
	owner, err := sqlstore.Open(ctx, ownerURL, sqlstore.Options{MaxOpenConns: 2})
	if err != nil {
		return fmt.Errorf("migration database: %w", err)
	}
	defer func() { _ = owner.Close() }()
	return owner.Migrate(ctx)
}
