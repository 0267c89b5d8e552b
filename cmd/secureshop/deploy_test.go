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
	for _, name := range []string{"no-tls", "base-url", "secret-key-readable", "mail-to-files", "debug", "demo", "cors"} {
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
	code, out, _ = c.run("", "check", "--deploy", "--tls-cert", cert, "--tls-key", key, "--http-redirect", ":8081",
		"--base-url", "https://shop.example.com", "--listen", "0.0.0.0:8443", "--metrics-listen", "127.0.0.1:9090")
	if code != 0 {
		t.Fatalf("a production setup still has findings: exit %d\n%s", code, out)
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
