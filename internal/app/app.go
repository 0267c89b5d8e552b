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
	"os"
	"path/filepath"
	"strings"
	"time"

	"secureshop/internal/auditlog"
	"secureshop/internal/catalog"
	"secureshop/internal/identity"
	"secureshop/internal/kv"
	"secureshop/internal/mail"
	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/sqlstore"
	"secureshop/internal/tenancy"
	"secureshop/internal/vault"
	"secureshop/internal/web"
)

// Config is the whole configuration, from flags and SHOP_* environment variables.
type Config struct {
	Listen        string          // address to serve on
	Database      string          // sqlite:PATH or postgres://...
	Redis         string          // shared state; empty for in-process
	SecretKeyFile string          // master secret (JWT signing and more), created if missing
	SecretKey     string          // master secret as hex, instead of the file (SHOP_SECRET_KEY)
	Env           string          // "development" or "production"
	LogFormat     string          // "text" or "json"
	MailDir       string          // where mail goes as .eml files while no SMTP server is configured
	BaseURL       string          // the shop's public address, for links in mail (default http://LISTEN)
	Identity      identity.Config // session lifetimes and attempt limits; zero values take the defaults
	Demo          bool
	HashParams    identity.Params // Argon2id cost; zero for the default
}

// Defaults returns the configuration for a single machine.
func Defaults() Config {
	return Config{Listen: "127.0.0.1:8080", Database: "sqlite:data/shop.db", SecretKeyFile: "data/secret.key",
		MailDir: "data/mail", Env: "development"}
}

// Validate checks the configuration before anything starts.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Database, "sqlite:") && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		errs = append(errs, errors.New("--database must be sqlite:PATH or a postgres:// URL"))
	}
	if c.Redis != "" {
		errs = append(errs, errors.New("--redis is not supported by this version yet; leave it unset for in-process sessions"))
	}
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, errors.New("SHOP_ENV must be development or production"))
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, errors.New("--log-format must be text or json"))
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
	return []any{"listen", c.Listen, "mail_dir", c.MailDir, "database", db, "redis", c.Redis != "", "secret", secret, "env", c.Env, "demo", c.Demo}
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
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
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
	Web      *web.Server
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
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	master, err := loadSecret(cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	signer, err := identity.NewSigner(identity.DeriveKey(master, "jwt"))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	params := cfg.HashParams
	if params.Memory == 0 {
		params = identity.DefaultParams
	}
	v, err := vault.New(identity.DeriveKey(master, "vault"))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	mailer := mail.Dir{Path: cfg.MailDir, From: "secureshop <no-reply@secureshop.localhost>"}
	idCfg := cfg.Identity
	if idCfg.BaseURL = cfg.BaseURL; idCfg.BaseURL == "" {
		idCfg.BaseURL = "http://" + cfg.Listen
	}
	a := &App{Cfg: cfg, Log: log, DB: db}
	a.Identity = identity.New(identity.Deps{DB: db, Sessions: kv.NewMemorySessions(), Limits: kv.NewMemoryLimits(),
		Hasher: identity.NewHasher(params, 0), Signer: signer, Vault: v, Mailer: mailer, Log: log}, idCfg)
	a.Stores = tenancy.New(db)
	a.Catalog = catalog.New(db)
	a.Audit = auditlog.New(db)
	idemKey := identity.DeriveKey(master, "idempotency")
	keyHash := func(body string) string {
		m := hmac.New(sha256.New, idemKey)
		m.Write([]byte(body))
		return hex.EncodeToString(m.Sum(nil))
	}
	a.Orders = orders.New(db, payment.Dummy{}, mailer, keyHash, log)
	a.Web, err = web.New(web.Config{}, web.Deps{DB: db, Identity: a.Identity, Stores: a.Stores, Catalog: a.Catalog,
		Audit: a.Audit, Orders: a.Orders, Log: log})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// loadSecret reads the master secret from the environment or the key file, creating the file
// (readable by its owner only) on first start.
func loadSecret(cfg Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		b, err := hex.DecodeString(strings.TrimSpace(cfg.SecretKey))
		if err != nil || len(b) < 32 {
			return nil, errors.New("SHOP_SECRET_KEY must be at least 32 bytes as hex")
		}
		return b, nil
	}
	b, err := os.ReadFile(cfg.SecretKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(cfg.SecretKeyFile), 0o700); err != nil {
			return nil, err
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		if err := os.WriteFile(cfg.SecretKeyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write secret key file: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("secret key file %s must hold at least 32 bytes as hex", cfg.SecretKeyFile)
	}
	return key, nil
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
