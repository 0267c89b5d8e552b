package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// cli runs the command line against one database and returns exit code and output.
type cli struct {
	t    *testing.T
	args []string
}

func newCLI(t *testing.T, url string) *cli {
	t.Setenv("SHOP_SECRET_KEY", "")
	t.Setenv("SHOP_MAIL_DIR", filepath.Join(t.TempDir(), "mail"))
	t.Setenv("SHOP_LOG_LEVEL", "error")
	return &cli{t: t, args: []string{"--database", url, "--secret-key-file", filepath.Join(t.TempDir(), "secret.key")}}
}

func (c *cli) run(stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append(append([]string{}, args...), c.args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("secureshop %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

func TestCLI_StoresUsersAndAuditVerify(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		c := newCLI(t, url)
		c.ok("", "migrate")
		c.ok("", "migrate")
		c.ok("", "store", "create", "--slug", "acme", "--name", "Acme Ltd", "--currency", "EUR")
		if code, _, errOut := c.run("", "store", "create", "--slug", "acme", "--name", "Again"); code != 1 || !strings.Contains(errOut, "already exists") {
			t.Fatalf("duplicate store: exit %d %s", code, errOut)
		}
		if code, _, errOut := c.run("", "store", "create", "--slug", "Bad Slug!", "--name", "x"); code != 1 || !strings.Contains(errOut, "slug") {
			t.Fatalf("bad slug: exit %d %s", code, errOut)
		}
		c.ok("plum orbit canvas 42\n", "user", "create", "--store", "acme", "--email", "boss@acme.example", "--role", "admin", "--password-stdin")
		c.ok("violet harbor spoon 7\n", "user", "create", "--store", "acme", "--email", "till@acme.example", "--role", "clerk", "--password-stdin")
		c.ok("granite meadow tulip 9\n", "user", "create", "--platform", "--email", "ops@platform.example", "--password-stdin")
		if code, _, errOut := c.run("short\n", "user", "create", "--store", "acme", "--email", "x@acme.example", "--password-stdin"); code != 1 || !strings.Contains(errOut, "password") {
			t.Fatalf("short password: exit %d %s", code, errOut)
		}
		if code, _, _ := c.run("", "user", "create", "--store", "acme", "--email", "x@acme.example"); code != 1 {
			t.Fatal("user create without --password-stdin succeeded")
		}
		if code, _, _ := c.run("plum orbit canvas 42\n", "user", "create", "--store", "acme", "--email", "x@acme.example", "--role", "root", "--password-stdin"); code != 1 {
			t.Fatal("unknown role accepted")
		}
		out := c.ok("", "user", "list", "--store", "acme")
		if !strings.Contains(out, "boss@acme.example") || !strings.Contains(out, "clerk") || strings.Contains(out, "ops@platform") {
			t.Fatalf("user list:\n%s", out)
		}
		c.ok("", "user", "deactivate", "--store", "acme", "--email", "till@acme.example")
		if out := c.ok("", "user", "list", "--store", "acme"); !strings.Contains(out, "false") {
			t.Fatalf("deactivated user still active:\n%s", out)
		}
		c.ok("", "user", "activate", "--store", "acme", "--email", "till@acme.example")
		if out := c.ok("", "user", "unlock", "--store", "acme", "--email", "till@acme.example"); !strings.Contains(out, "unlocked") {
			t.Fatalf("unlock: %s", out)
		}
		c.ok("", "user", "reset-mfa", "--store", "acme", "--email", "till@acme.example")
		if code, _, _ := c.run("", "user", "unlock", "--store", "acme", "--email", "nobody@acme.example"); code != 1 {
			t.Fatal("unlocking an unknown user succeeded")
		}
		if code, _, errOut := c.run("", "user", "deactivate", "--store", "acme", "--email", "boss@acme.example"); code != 1 || !strings.Contains(errOut, "last active admin") {
			t.Fatalf("deactivating the last admin: exit %d %s", code, errOut)
		}
		c.ok("", "store", "suspend", "acme")
		if out := c.ok("", "store", "list"); !strings.Contains(out, "suspended") {
			t.Fatalf("store list after suspend:\n%s", out)
		}
		c.ok("", "store", "resume", "acme")

		if out := c.ok("", "audit", "verify"); !strings.Contains(out, "intact") {
			t.Fatalf("verify of an intact log: %s", out)
		}
		if out := c.ok("", "audit", "verify", "--store", "acme"); !strings.Contains(out, "intact") {
			t.Fatalf("verify of one store: %s", out)
		}

		// Someone with database access rewrites entry 2 of acme's chain.
		db := testenv.RawDB(t, url)
		var id, chain string
		if err := db.QueryRow(`SELECT id, chain FROM audit_events WHERE chain LIKE 'store:%' AND seq = 2`).Scan(&id, &chain); err != nil {
			t.Fatal(err)
		}
		tamper(t, db, url, `UPDATE audit_events SET actor_id = 'someone-else' WHERE id = '`+id+`'`)
		code, out, errOut := c.run("", "audit", "verify")
		if code != 1 {
			t.Fatalf("verify after an edit: exit %d\n%s%s", code, out, errOut)
		}
		if !strings.Contains(out, "event="+id) || !strings.Contains(out, "seq=2") || !strings.Contains(out, chain) {
			t.Fatalf("verify does not name the edited row %s:\n%s", id, out)
		}
		if code, _, _ := c.run("", "audit", "verify", "--store", "acme"); code != 1 {
			t.Fatal("store verify missed the edit")
		}
	})
}

func TestCLI_AuditVerifyFindsDeletedEntries(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		c := newCLI(t, url)
		c.ok("", "store", "create", "--slug", "shop", "--name", "Shop")
		for _, e := range []string{"a", "b", "c"} {
			c.ok("plum orbit canvas 42\n", "user", "create", "--store", "shop", "--email", e+"@shop.example", "--role", "clerk", "--password-stdin")
		}
		db := testenv.RawDB(t, url)
		var id string
		if err := db.QueryRow(`SELECT id FROM audit_events WHERE chain LIKE 'store:%' AND seq = 2`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		tamper(t, db, url, `DELETE FROM audit_events WHERE id = '`+id+`'`)
		code, out, _ := c.run("", "audit", "verify")
		if code != 1 || !strings.Contains(out, "seq=3") || !strings.Contains(out, "deleted") {
			t.Fatalf("deleted entry 2 not found: exit %d\n%s", code, out)
		}
	})
}

// tamper runs q around the append-only triggers, as an attacker with the owner's rights could.
func tamper(t *testing.T, db *sql.DB, url, q string) {
	t.Helper()
	stmts := []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`, q, `ALTER TABLE audit_events ENABLE TRIGGER USER`}
	if strings.HasPrefix(url, "sqlite:") {
		stmts = []string{`DROP TRIGGER IF EXISTS audit_events_no_update`, `DROP TRIGGER IF EXISTS audit_events_no_delete`, q}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
