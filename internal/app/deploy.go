package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"secureshop/internal/payment/stripe"
)

// Finding is one setting that is unsafe for production.
type Finding struct {
	Name   string
	Detail string
}

// DeployFindings lists every insecure production setting of cfg. SHOP_ENV=production refuses to
// start while any remains; `secureshop check --deploy` prints them.
func DeployFindings(cfg Config) []Finding {
	var out []Finding
	add := func(name, format string, args ...any) { out = append(out, Finding{name, fmt.Sprintf(format, args...)}) }

	broad := broadProxies(cfg.TrustedProxies)
	for _, p := range broad {
		add("trusted-proxies-too-broad", "--trusted-proxies %s takes in addresses beyond the shop's own proxies: any client there could write its own X-Forwarded-For, choose the address the limits count and the audit log records, and pass the rate limits; name the proxies' own addresses or private network", p)
	}
	if cfg.TLSCert == "" && (len(cfg.TrustedProxies) == 0 || len(broad) > 0) {
		add("no-tls", "neither TLS (--tls-cert, --tls-key) nor a TLS-terminating proxy named narrowly in --trusted-proxies: passwords and sessions would cross the network in clear")
	}
	if cfg.TLSCert != "" && cfg.HTTPRedirect == "" && !loopback(cfg.Listen) {
		add("no-http-redirect", "TLS without --http-redirect: visitors typing http:// get no answer instead of the secure site")
	}
	if u, err := url.Parse(cfg.BaseURL); cfg.BaseURL == "" || err != nil || u.Scheme != "https" {
		add("base-url", "--base-url is not an https:// address, so links in mail (verification, password reset) would go over plain HTTP")
	}
	switch cfg.PaymentProvider {
	case "", "testpay":
		add("payment-testpay", "--payment-provider is testpay, the test provider: no money would move; use stripe with a live key")
	case "stripe":
		if stripe.TestMode(cfg.StripeSecretKey) || !strings.HasPrefix(cfg.StripeSecretKey, "sk_live_") && !strings.HasPrefix(cfg.StripeSecretKey, "rk_live_") {
			add("stripe-test-key", "SHOP_STRIPE_SECRET_KEY is not a live key (sk_live_… or rk_live_…): customers could not pay")
		}
		if !strings.HasPrefix(cfg.StripeWebhookSecret, "whsec_") {
			add("stripe-webhook-secret", "SHOP_STRIPE_WEBHOOK_SECRET is not a webhook signing secret (whsec_…): no payment would be confirmed")
		}
	}
	if cfg.SecretKey == "" {
		if clean(cfg.SecretKeyFile) == clean(Defaults().SecretKeyFile) {
			add("default-secret-key", "the secret key is the one generated in %s, next to the database: keep keys out of the data directory (--secret-key-file or SHOP_SECRET_KEY)", cfg.SecretKeyFile)
		}
		switch info, err := os.Stat(cfg.SecretKeyFile); {
		case errors.Is(err, fs.ErrNotExist):
			add("secret-key-missing", "the secret key file %s does not exist; it would be generated at start", cfg.SecretKeyFile)
		case err == nil && info.Mode().Perm()&0o077 != 0:
			add("secret-key-readable", "the secret key file %s is readable by other users (mode %v); chmod 600 it", cfg.SecretKeyFile, info.Mode().Perm())
		}
	}
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			add("database-readable", "the SQLite file %s is readable by other users (mode %v); chmod 600 it", path, info.Mode().Perm())
		}
	}
	for flag, u := range map[string]string{"--database": cfg.Database, "--migrate-database": cfg.MigrateDatabase} {
		if reason := postgresWithoutTLS(u); reason != "" {
			add("database-no-tls", "%s connects to a remote PostgreSQL server %s: passwords and customers' data would cross the network in clear or to an unverified server; use sslmode=verify-full (or require)", flag, reason)
		}
	}
	if cfg.Redis != "" {
		for _, f := range redisFindings(cfg.Redis) {
			add(f.Name, "%s", f.Detail)
		}
	}
	out = append(out, keyFindings(cfg)...)
	out = append(out, limitFindings(cfg)...)
	if room, ok := sqliteRoom(cfg.Database); ok && room < minSQLiteRoom {
		add("sqlite-disk-room", "the disk of the SQLite database has %d MiB free: keep at least %d MiB, for the write-ahead log (it grows to about 16 MiB before a checkpoint) and the database's growth; on a full disk every write is refused (503)", room>>20, minSQLiteRoom>>20)
	}
	if cfg.SMTPURL == "" {
		add("mail-to-files", "mail is written to files in %s instead of being sent (SHOP_SMTP_URL)", cfg.MailDir)
	}
	if cfg.MetricsListen == "" && cfg.MetricsToken == "" {
		add("metrics-open", "/metrics is served on the main address without a token (--metrics-listen or SHOP_METRICS_TOKEN)")
	}
	if cfg.MetricsListen != "" && cfg.MetricsToken == "" && !privateAddress(cfg.MetricsListen) {
		add("metrics-exposed", "--metrics-listen %s can be reached from outside the machine and its private network, and /metrics asks no token there (SHOP_METRICS_TOKEN)", cfg.MetricsListen)
	}
	if t := cfg.MetricsToken; t != "" && len(t) < minTokenLength {
		add("weak-metrics-token", "SHOP_METRICS_TOKEN has %d characters; a guessable token opens the shop's figures: use at least %d random characters", len(t), minTokenLength)
	}
	if strings.EqualFold(cfg.LogLevel, "debug") {
		add("debug", "debug logging is on (--log-level debug)")
	}
	if cfg.Demo {
		add("demo", "--demo creates a demo store with printed passwords")
	}
	for _, o := range cfg.CORSOrigins {
		switch {
		case strings.Contains(o, "*"):
			add("cors-wildcard", "CORS origin %q is a wildcard: name each origin allowed to call the API from a browser", o)
		case !strings.HasPrefix(o, "https://"):
			add("cors", "CORS allows %q, which is not an https:// origin", o)
		}
	}
	return out
}

func clean(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// RotateKey puts a new key at the head of the key file's ring (keeping the older ones, which
// still open old values and verify tokens signed before), atomically and readable by its owner only.
func RotateKey(cfg Config) error {
	if cfg.SecretKey != "" {
		return errors.New("the keys come from SHOP_SECRET_KEY: put a new key first in that list, then run `secureshop keys reseal`")
	}
	old, err := os.ReadFile(cfg.SecretKeyFile)
	if err != nil {
		return fmt.Errorf("read key file: %w", err)
	}
	tmp := cfg.SecretKeyFile + ".new"
	// #nosec G703 -- the key file path is the operator's own configuration
	if err := os.WriteFile(tmp, []byte(newKey()+"\n"+strings.TrimSpace(string(old))+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, cfg.SecretKeyFile)
}
