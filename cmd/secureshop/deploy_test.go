package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"secureshop/internal/testenv"
)

func TestCheckDeploy_NamesEachFinding(t *testing.T) {
	c := newCLI(t, testenv.SQLiteURL(t))
	c.ok("", "migrate")
	keyFile := c.args[len(c.args)-1]
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := c.run("", "check", "--deploy", "--demo", "--log-level", "debug", "--cors-origins", "http://evil.example")
	if code != 1 {
		t.Fatalf("check --deploy on a development setup: exit %d\n%s", code, out)
	}
	for _, name := range []string{"no-tls", "base-url", "secret-key-readable", "mail-to-files", "debug", "demo", "cors", "payment-testpay"} {
		if !strings.Contains(out, "FINDING "+name+":") {
			t.Errorf("finding %s not named:\n%s", name, out)
		}
	}
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	t.Setenv("SHOP_SMTP_URL", "smtps://shop:pw@mail.example.com:465")
	t.Setenv("SHOP_STRIPE_SECRET_KEY", "sk_live_"+strings.Repeat("4f", 12))
	t.Setenv("SHOP_STRIPE_WEBHOOK_SECRET", "whsec_"+strings.Repeat("9c", 16))
	code, out, _ = c.run("", "check", "--deploy", "--payment-provider", "stripe", "--tls-cert", cert, "--tls-key", key, "--http-redirect", ":8081",
		"--base-url", "https://shop.example.com", "--listen", "0.0.0.0:8443", "--metrics-listen", "127.0.0.1:9090")
	if code != 0 {
		t.Fatalf("a production setup still has findings: exit %d\n%s", code, out)
	}
}

// TestCheckDeploy_NamesWeakSettings: settings that pass for configured but are not safe — proxies
// that trust everyone, a key that is not random, a guessable or missing metrics token where
// anyone can reach it, absurd limits, Redis and PostgreSQL to remote hosts without TLS or password,
// a wildcard CORS origin — are each a finding with its reason.
func TestCheckDeploy_NamesWeakSettings(t *testing.T) {
	c := newCLI(t, testenv.SQLiteURL(t))
	t.Setenv("SHOP_SECRET_KEY", strings.Repeat("00", 32))
	t.Setenv("SHOP_SMTP_URL", "smtps://shop:pw@mail.example.com:465")
	t.Setenv("SHOP_METRICS_TOKEN", "x")
	t.Setenv("SHOP_STRIPE_SECRET_KEY", "sk_test_"+strings.Repeat("4f", 12))
	t.Setenv("SHOP_STRIPE_WEBHOOK_SECRET", "whsec_"+strings.Repeat("9c", 16))
	base := []string{"check", "--deploy", "--base-url", "https://shop.example.com"}
	cases := map[string][]string{
		"trusted-proxies-too-broad": {"--trusted-proxies", "0.0.0.0/0"},
		"no-tls":                    {"--trusted-proxies", "0.0.0.0/0"},
		"weak-secret-key":           nil,
		"weak-metrics-token":        nil,
		"limit-too-high":            {"--attempts-per-minute", "100000"},
		"redis-no-tls":              {"--redis", "redis://cache.example.com:6379/0"},
		"redis-no-password":         {"--redis", "redis://cache.example.com:6379/0"},
		"database-no-tls":           {"--migrate-database", "postgres://owner:pw@db.example.com/shop?sslmode=prefer"},
		"cors-wildcard":             {"--cors-origins", "*"},
		"stripe-test-key":           {"--payment-provider", "stripe"},
		"payment-testpay":           nil,
	}
	for name, args := range cases {
		code, out, _ := c.run("", append(append(append([]string{}, base...), "--trusted-proxies", "10.0.0.0/8"), args...)...)
		if code != 1 || !strings.Contains(out, "FINDING "+name+":") {
			t.Errorf("%s with %v: exit %d\n%s", name, args, code, out)
		}
	}
	t.Setenv("SHOP_METRICS_TOKEN", "")
	code, out, _ := c.run("", append(append([]string{}, base...), "--trusted-proxies", "10.0.0.0/8", "--metrics-listen", "0.0.0.0:9090")...)
	if code != 1 || !strings.Contains(out, "FINDING metrics-exposed:") {
		t.Errorf("metrics on every interface without a token: exit %d\n%s", code, out)
	}
	// A narrow proxy list, a random key, remote servers over TLS with passwords: none of these.
	t.Setenv("SHOP_SECRET_KEY", "9f3a1c77e0b24d58a6c913f0e2d47b85c1f6093ae7d42b18f5c7e30a96d2b4e1")
	t.Setenv("SHOP_METRICS_TOKEN", strings.Repeat("k7", 20))
	t.Setenv("SHOP_STRIPE_SECRET_KEY", "sk_live_"+strings.Repeat("4f", 12))
	_, out, _ = c.run("", append(append([]string{}, base...), "--payment-provider", "stripe", "--trusted-proxies", "10.0.0.0/8,192.0.2.10", "--redis", "rediss://:pw@cache.example.com:6380/0",
		"--migrate-database", "postgres://owner:pw@db.example.com/shop?sslmode=verify-full", "--cors-origins", "https://app.example.com")...)
	for _, name := range []string{"trusted-proxies-too-broad", "no-tls", "weak-secret-key", "weak-metrics-token", "redis-no-tls", "redis-no-password", "database-no-tls", "cors-wildcard", "limit-too-high", "stripe-test-key", "payment-testpay"} {
		if strings.Contains(out, "FINDING "+name+":") {
			t.Errorf("%s on a sound setting:\n%s", name, out)
		}
	}
}

func TestServe_ProductionRefusesInsecureSettings(t *testing.T) {
	c := newCLI(t, testenv.SQLiteURL(t))
	t.Setenv("SHOP_ENV", "production")
	code, _, errOut := c.run("", "serve", "--listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "refuses to start") || !strings.Contains(errOut, "no-tls") || !strings.Contains(errOut, "mail-to-files") {
		t.Fatalf("production serve with findings: exit %d\n%s", code, errOut)
	}
}

func TestKeysRotate_ResealsSecretsAndKeepsThemReadable(t *testing.T) {
	c := newCLI(t, testenv.SQLiteURL(t))
	c.ok("", "store", "create", "--slug", "keys", "--name", "Keys")
	c.ok("plum orbit canvas 42\n", "user", "create", "--store", "keys", "--email", "a@keys.example", "--role", "admin", "--password-stdin")
	keyFile := c.args[len(c.args)-1]
	before, _ := os.ReadFile(keyFile)
	if out := c.ok("", "keys", "rotate"); !strings.Contains(out, "sealed again") {
		t.Fatalf("rotate: %s", out)
	}
	after, _ := os.ReadFile(keyFile)
	lines := strings.Fields(string(after))
	if len(lines) != 2 || lines[1] != strings.TrimSpace(string(before)) {
		t.Fatalf("key file after rotation:\n%s", after)
	}
	if info, _ := os.Stat(keyFile); info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", info.Mode().Perm())
	}
}
