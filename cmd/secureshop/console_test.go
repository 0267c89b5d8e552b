package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/sys/unix"

	"secureshop/internal/testenv"
)

// openPTY opens a pseudo-terminal pair: the test holds the master, the console gets the slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	fd := int(m.Fd()) // #nosec G115 -- a file descriptor fits an int
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	return m, s
}

// terminal is a console process on a pseudo-terminal, driven like a person at a keyboard.
type terminal struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	seen   int // output before this offset has been matched already
	exited chan error
}

func startConsole(t *testing.T, args ...string) *terminal {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	master, slave := openPTY(t)
	cmd := exec.Command(bin, append([]string{"console"}, args...)...) // #nosec G204 -- the binary we built
	cmd.Env = append(os.Environ(), "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = slave.Close()
	term := &terminal{t: t, master: master, cmd: cmd, exited: make(chan error, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return // EIO once the console has exited
			}
		}
	}()
	go func() { term.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = master.Close()
	})
	return term
}

// expect waits until the console has printed want (after what was matched before) and returns the
// output up to and including it.
func (term *terminal) expect(want string) string {
	term.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		term.mu.Lock()
		all := term.out.String()
		term.mu.Unlock()
		if i := strings.Index(all[term.seen:], want); i >= 0 {
			got := all[term.seen : term.seen+i+len(want)]
			term.seen += i + len(want)
			return got
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the console never printed %q; it printed:\n%s", want, all[term.seen:])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// all is everything the console printed.
func (term *terminal) all() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// send types a line.
func (term *terminal) send(line string) {
	term.t.Helper()
	if _, err := term.master.Write([]byte(line + "\r")); err != nil {
		term.t.Fatal(err)
	}
}

// choose picks the menu entry titled title from the menu just printed.
func (term *terminal) choose(title string) {
	term.t.Helper()
	menu := term.expect("Choose: ")
	term.mu.Lock()
	upto := term.out.String()[:term.seen] // the menu may have been printed before a refused choice
	term.mu.Unlock()
	all := regexp.MustCompile(`(\d+)\. `+regexp.QuoteMeta(title)+`\r?\n`).FindAllStringSubmatch(upto, -1)
	if all == nil {
		term.t.Fatalf("no %q in the menu:\n%s", title, menu)
	}
	term.send(all[len(all)-1][1])
}

// answer waits for a prompt and types the answer.
func (term *terminal) answer(prompt, value string) {
	term.t.Helper()
	term.expect(prompt)
	term.send(value)
}

// secret waits for a prompt that must not echo, and for the console to have turned the echo off
// (a person types after the prompt appears; a test can be quicker than the console), then types.
func (term *terminal) secret(prompt, value string) {
	term.t.Helper()
	term.expect(prompt)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The master side reports the terminal settings the console set on its side.
		st, err := unix.IoctlGetTermios(int(term.master.Fd()), unix.TCGETS)
		if err != nil {
			term.t.Fatal(err)
		}
		if st.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the console asked %q with the echo on", prompt)
		}
		time.Sleep(2 * time.Millisecond)
	}
	term.send(value)
}

// quit signs out from the menu and expects a clean exit.
func (term *terminal) quit() {
	term.t.Helper()
	term.expect("Choose: ")
	term.send("0")
	term.expect("Signed out.")
	select {
	case err := <-term.exited:
		if err != nil {
			term.t.Fatalf("console exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		term.t.Fatal("the console did not exit after sign-out")
	}
}

// enrolTOTP turns on TOTP for a staff account over the API and returns its secret.
func enrolTOTP(t *testing.T, base, email, password string) (string, []string) {
	t.Helper()
	access, _ := loginTokens(t, base, email, password)
	st, b := call(t, "POST", base+"/api/v1/me/mfa/totp", access, "")
	if st != 201 {
		t.Fatalf("enrol %s: %d %s", email, st, b)
	}
	var e struct{ Secret string }
	_ = json.Unmarshal(b, &e)
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	st, b = call(t, "POST", base+"/api/v1/me/mfa/totp/confirm", access, fmt.Sprintf(`{"code":%q}`, code))
	if st != 200 {
		t.Fatalf("confirm %s: %d %s", email, st, b)
	}
	var rc struct {
		Codes []string `json:"recovery_codes"`
	}
	_ = json.Unmarshal(b, &rc)
	_, _ = call(t, "POST", base+"/api/v1/auth/logout", access, "")
	return e.Secret, rc.Codes
}

var demoCredRE = regexp.MustCompile(`(admin|clerk|customer)\s+(\S+@\S+)\s+(\S+)`)

// staffSignIn signs a staff member in: a wrong code first, which must be refused clearly, then the
// code of the next time step (the current one went into the enrolment and cannot be replayed).
func staffSignIn(term *terminal, email, password, secret string) {
	term.t.Helper()
	term.answer("E-mail: ", email)
	term.secret("Password: ", password)
	term.expect("Second factor:")
	term.expect("Choose: ")
	term.send("7")
	term.expect(`"7" is not on the menu`)
	term.send("1")
	term.answer("authenticator app (empty to choose again): ", "000000")
	term.expect("The code is wrong or has expired.")
	code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	term.answer("authenticator app (empty to choose again): ", code)
}

func TestConsole_EveryRoleThroughAPseudoTerminal(t *testing.T) {
	dir := t.TempDir()
	srv := startProcess(t, []string{"SHOP_DATABASE=sqlite:" + filepath.Join(dir, "shop.db"), "SHOP_SECRET_KEY=" + strings.Repeat("cd", 32),
		"SHOP_MAIL_DIR=" + filepath.Join(dir, "mail"), "SHOP_LOG_LEVEL=error", "SHOP_ATTEMPTS_PER_IP_MINUTE=1000", "SHOP_ATTEMPTS_PER_MINUTE=1000"}, "--demo")
	creds := map[string][2]string{}
	for _, m := range demoCredRE.FindAllStringSubmatch(srv.output(), -1) {
		creds[m[1]] = [2]string{m[2], m[3]}
	}
	if len(creds) != 3 {
		t.Fatalf("demo credentials not printed:\n%s", srv.output())
	}
	clerkSecret, _ := enrolTOTP(t, srv.base, creds["clerk"][0], creds["clerk"][1])
	_, adminRecovery := enrolTOTP(t, srv.base, creds["admin"][0], creds["admin"][1])
	mailDir := filepath.Join(dir, "mail")
	server := []string{"--server", srv.base, "--store", "demo"}

	// A customer: a wrong password, a wrong menu choice, then search, cart and checkout.
	term := startConsole(t, server...)
	term.answer("E-mail: ", creds["customer"][0])
	term.secret("Password: ", "not my password at all")
	term.expect("Invalid credentials.") // the shop's problem detail
	term.answer("E-mail: ", creds["customer"][0])
	term.secret("Password: ", creds["customer"][1])
	term.expect("Signed in as customer@demo.example (customer).")
	if out := term.expect("Choose: "); strings.Contains(out, "Refund") || strings.Contains(out, "Adjust stock") {
		t.Fatalf("the customer's menu offers staff work:\n%s", out)
	}
	term.send("99")
	term.expect(`"99" is not on the menu; enter a number from 0 to`)
	term.send("")
	term.expect("is not on the menu")
	term.choose("Browse products")
	term.answer("More? (y/N): ", "y")
	term.expect("\n21 ") // the second page numbers on
	term.answer("More? (y/N): ", "")
	term.choose("Search products")
	term.answer("Search for: ", "earl grey")
	row := rowNumber(t, term.expect("Earl Grey"), "Earl Grey")
	term.choose("Add to cart")
	term.answer("Product (number or id): ", "42")
	term.expect("There is no row 42 in the last list")
	term.send(row)
	term.answer("Quantity [1]: ", "two")
	term.expect("Please enter a whole number")
	term.send("2")
	term.expect("Total: £14.48")
	term.choose("Check out")
	term.answer("Deliver to (full name): ", "Ada Lovelace")
	term.answer("Address: ", "12 St James's Square")
	term.answer("Flat, floor, company (optional): ", "")
	term.answer("Town or city: ", "London")
	term.answer("County, state or province (optional): ", "")
	term.answer("Postcode: ", "sw1y 4ju")
	term.answer("Country (ISO code: GB, DE, US…) [GB]: ", "")
	// Two teas come to £14.48: standard delivery adds £3.95, of which £0.66 is VAT.
	term.expect("1. Standard delivery (2–3 working days): £3.95, total £18.43")
	term.answer("Delivery method (its number) [1]: ", "")
	term.expect(": pending_payment, total £18.43 including tax £0.66")
	id := regexp.MustCompile(`id ([0-9a-f-]{36})`).FindStringSubmatch(term.expect("To Ada Lovelace, 12 St James's Square, London, SW1Y 4JU, United Kingdom"))
	if id == nil {
		t.Fatalf("no order id in:\n%s", term.all())
	}
	order := id[1]
	page := regexp.MustCompile(`Pay in your browser: (\S+)`).FindStringSubmatch(term.expect("\n"))
	if page == nil {
		page = regexp.MustCompile(`Pay in your browser: (\S+)`).FindStringSubmatch(term.all())
	}
	if page == nil {
		t.Fatalf("no payment page shown:\n%s", term.all())
	}
	term.quit()
	if out := term.all(); strings.Contains(out, creds["customer"][1]) {
		t.Fatal("the terminal echoed the password")
	}
	// The customer pays in the browser; the provider's webhook tells the shop.
	if status := testenv.PayOnPage(t, page[1], "4242424242424242"); status != http.StatusSeeOther {
		t.Fatalf("paying: %d", status)
	}
	access, _ := loginTokens(t, srv.base, creds["customer"][0], creds["customer"][1])
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, b := call(t, "GET", srv.base+"/api/v1/stores/demo/orders/"+order, access, ""); strings.Contains(string(b), `"status":"paid"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the order was never marked paid")
		}
	}

	// A clerk: a wrong code, then stock and shipping.
	term = startConsole(t, server...)
	staffSignIn(term, creds["clerk"][0], creds["clerk"][1], clerkSecret)
	term.expect("Signed in as clerk@demo.example (clerk).")
	if out := term.expect("Choose: "); strings.Contains(out, "Refund") || strings.Contains(out, "Users") {
		t.Fatalf("the clerk's menu offers admin work:\n%s", out)
	}
	term.send("999")
	term.expect("is not on the menu")
	term.choose("Low stock")
	term.answer("Show products with at most this many in stock [5]: ", "20")
	row = rowNumber(t, term.expect("Earl Grey"), "Earl Grey")
	term.choose("Adjust stock")
	term.answer("Product (number or id): ", row)
	term.answer("Change (e.g. 12 or -3): ", "5")
	term.answer("Reason: ", "")
	term.expect("This cannot be empty.")
	term.send("delivery")
	term.expect("Earl Grey now has 22 in stock.")
	move := func(status, note, want string) {
		t.Helper()
		term.choose("Move an order on")
		term.answer("Order (number or id): ", order)
		term.answer("New status (processing, shipped, delivered, cancelled): ", status)
		if status == "shipped" {
			term.answer("Carrier (optional): ", "Royal Mail")
			term.answer("Tracking number (optional): ", "AB123456785GB")
		}
		term.answer("Note: ", note)
		term.expect(want)
	}
	move("delivered", "", "paid") // the illegal move is refused with the shop's detail
	move("processing", "picked", ": processing, total")
	move("shipped", "first class", ": shipped, total")
	term.expect("Royal Mail tracking number AB123456785GB")
	// Ctrl-C at a prompt still signs out.
	term.expect("Choose: ")
	if _, err := term.master.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	term.expect("Signed out.")
	if err := <-term.exited; err != nil {
		t.Fatalf("console exit after Ctrl-C: %v", err)
	}

	// An admin: refund the order, read the report.
	term = startConsole(t, server...)
	term.answer("E-mail: ", creds["admin"][0])
	term.secret("Password: ", creds["admin"][1])
	term.expect("Second factor:")
	term.answer("Choose: ", "2") // a code by e-mail
	term.expect("A code is on its way to your e-mail.")
	term.answer("Code sent by e-mail (empty to choose again): ", "12345x")
	term.expect("The code is wrong or has expired.")
	term.answer("Code sent by e-mail (empty to choose again): ", mailedCode(t, mailDir, creds["admin"][0]))
	term.expect("Signed in as admin@demo.example (admin).")
	term.choose("Refund an order")
	term.answer("Order (number or id): ", order)
	term.answer("Amount (e.g. 12.50; empty for the rest): ", "12.5.0")
	term.expect("Please enter an amount such as 12 or 12.50.")
	term.send("")
	term.answer("Reason: ", "arrived damaged")
	term.answer(`Back in stock: line and units, e.g. 1x2 for two of line 1, "all" for every unit not yet back, empty for none: `, "all")
	term.expect(": refunded, total £18.43 including tax £0.66, paid £18.43, refunded £18.43")
	term.expect("back in stock)")
	term.choose("Sales report")
	term.answer("From (YYYY-MM-DD, empty for 30 days ago): ", "")
	term.answer("To (YYYY-MM-DD, empty for now): ", "")
	term.answer("Interval (day, week, month) [day]: ", "")
	report := term.expect("Total")
	report += term.expect("\n")
	if !regexp.MustCompile(`Total\s+1\s+£18\.43\s+£18\.43\s+£0\.00`).MatchString(report) {
		t.Fatalf("report:\n%s", report)
	}
	term.choose("Audit log")
	term.answer("How many of the latest events [20]: ", "")
	term.expect("order.refund")
	term.quit()

	// The same operations for scripts, with JSON answers; the API, not the console, decides.
	c := newCLI(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"))
	var products struct{ Items []struct{ ID, Name string } }
	if err := json.Unmarshal([]byte(c.ok("", "console", "--server", srv.base, "search", "--q", "earl", "--json")), &products); err != nil ||
		len(products.Items) != 1 || products.Items[0].Name != "Earl Grey" {
		t.Fatalf("console search --json: %+v %v", products, err)
	}
	var orders struct{ Items []struct{ ID, Status string } }
	out := c.ok(creds["customer"][1]+"\n", "console", "--server", srv.base, "--email", creds["customer"][0], "--password-stdin", "orders", "--json")
	if err := json.Unmarshal([]byte(out), &orders); err != nil || len(orders.Items) != 1 || orders.Items[0].ID != order || orders.Items[0].Status != "refunded" {
		t.Fatalf("console orders --json: %s", out)
	}
	customer := func(args ...string) string {
		t.Helper()
		return c.ok(creds["customer"][1]+"\n", append([]string{"console", "--server", srv.base, "--email", creds["customer"][0], "--password-stdin", "--json"}, args...)...)
	}
	customer("add", "--product", products.Items[0].ID, "--quantity", "1")
	var second struct{ ID, Status string }
	if err := json.Unmarshal([]byte(customer("checkout", "--name", "Ada Lovelace", "--line1", "12 St James's Square", "--city", "London",
		"--postcode", "SW1Y 4JU", "--method", "2")), &second); err != nil || second.Status != "pending_payment" {
		t.Fatalf("console checkout: %+v %v", second, err)
	}
	if err := json.Unmarshal([]byte(customer("cancel", "--order", second.ID)), &second); err != nil || second.Status != "cancelled" {
		t.Fatalf("console cancel: %+v %v", second, err)
	}
	code, out, errOut := c.run(creds["customer"][1]+"\n", "console", "--server", srv.base, "--email", creds["customer"][0], "--password-stdin",
		"refund", "--order", order, "--amount", "1", "--reason", "for myself")
	if code != 1 || !strings.Contains(errOut, "You are not allowed to do this.") || strings.Contains(out, "refunded") {
		t.Fatalf("a customer refunding through the console: exit %d\n%s%s", code, out, errOut)
	}
	admin := func(args ...string) string {
		t.Helper()
		rc := adminRecovery[0]
		adminRecovery = adminRecovery[1:]
		return c.ok(creds["admin"][1]+"\n", append([]string{"console", "--server", srv.base, "--email", creds["admin"][0], "--password-stdin",
			"--mfa-method", "recovery_code", "--code", rc, "--json"}, args...)...)
	}
	var u struct {
		ID, Role string
		Active   bool
	}
	if err := json.Unmarshal([]byte(admin("user-create", "--new-email", "till@demo.example", "--role", "clerk", "--password", "velvet comet lantern 42")), &u); err != nil || u.Role != "clerk" {
		t.Fatalf("user-create: %+v %v", u, err)
	}
	if err := json.Unmarshal([]byte(admin("user-role", "--user", u.ID, "--role", "customer")), &u); err != nil || u.Role != "customer" {
		t.Fatalf("user-role: %+v %v", u, err)
	}
	if err := json.Unmarshal([]byte(admin("user-deactivate", "--user", u.ID)), &u); err != nil || u.Active {
		t.Fatalf("user-deactivate: %+v %v", u, err)
	}
	if out := admin("user-unlock", "--user", u.ID); !strings.Contains(out, "Unlocked") {
		t.Fatalf("user-unlock: %s", out)
	}
	if out := admin("user-end-sessions", "--user", u.ID); !strings.Contains(out, "ended") {
		t.Fatalf("user-end-sessions: %s", out)
	}
	code, _, errOut = c.run(creds["clerk"][1]+"\n", "console", "--server", srv.base, "--email", creds["clerk"][0], "--password-stdin", "inventory")
	if code != 1 || !strings.Contains(errOut, "pass --code") {
		t.Fatalf("a clerk without a second factor: exit %d %s", code, errOut)
	}

	// Nobody is listening: a clear message and exit status 1, not a crash.
	term = startConsole(t, "--server", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)), "--store", "demo")
	term.expect("Cannot reach the shop at http://127.0.0.1:")
	select {
	case err := <-term.exited:
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("console against no server: %v, want exit status 1", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the console did not give up on an unreachable server")
	}
	if out := term.all(); strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
		t.Fatalf("the console crashed:\n%s", out)
	}
}

var signInCodeRE = regexp.MustCompile(`sign-in code is (\d{6})`)

// mailedCode waits for the sign-in code just mailed to address (each mail's code is handed out once).
func mailedCode(t *testing.T, dir, address string) string {
	t.Helper()
	return mailedCodes.Next(t, dir, address, signInCodeRE)
}

var mailedCodes testenv.MailedCodes

// rowNumber finds the row number of name in a listing the console printed, which ends at name.
func rowNumber(t *testing.T, listing, name string) string {
	t.Helper()
	last := listing[strings.LastIndex(listing, "\n")+1:]
	m := regexp.MustCompile(`(\d+)\s+` + regexp.QuoteMeta(name) + `$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("no row number for %s in:\n%s", name, listing)
	}
	return m[1]
}

// TestConsole_OperatorEnrolsTOTPThenRunsStores: an operator signing in to the platform with a
// password alone is asked to set up two-factor sign-in before anything else; once the code from
// the authenticator is confirmed, the recovery codes are shown and the platform's menu opens.
func TestConsole_OperatorEnrolsTOTPThenRunsStores(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "shop.db")
	key := strings.Repeat("ef", 32)
	srv := startProcess(t, []string{"SHOP_DATABASE=" + db, "SHOP_SECRET_KEY=" + key, "SHOP_MAIL_DIR=" + filepath.Join(dir, "mail"),
		"SHOP_LOG_LEVEL=error", "SHOP_ATTEMPTS_PER_IP_MINUTE=1000", "SHOP_ATTEMPTS_PER_MINUTE=1000"}, "--demo")
	c := newCLI(t, db)
	t.Setenv("SHOP_SECRET_KEY", key)
	c.ok("a long operator password\n", "user", "create", "--platform", "--email", "ops@example.com", "--password-stdin")

	term := startConsole(t, "--server", srv.base, "--platform")
	term.expect("the platform at " + srv.base)
	term.answer("E-mail: ", "ops@example.com")
	term.secret("Password: ", "a long operator password")
	term.expect("Your account needs two-factor sign-in before anything else opens.")
	line := term.expect("otpauth://")
	secret := regexp.MustCompile(`enter the secret ([A-Z2-7]+)`).FindStringSubmatch(line)
	if secret == nil {
		t.Fatalf("no secret in %q", line)
	}
	term.answer("Code from the app: ", "000000")
	term.expect("is not the current code of your authenticator")
	code, _ := totp.GenerateCode(secret[1], time.Now())
	term.answer("Code from the app: ", code)
	term.expect("Two-factor sign-in is on.")
	term.expect("Signed in as ops@example.com (operator).")
	if menu := term.expect("Choose: "); strings.Contains(menu, "Browse products") || !strings.Contains(menu, "Stores") {
		t.Fatalf("the platform's menu:\n%s", menu)
	}
	term.send("0")
	term.expect("Signed out.")
	term = startConsole(t, "--server", srv.base, "--platform")
	term.answer("E-mail: ", "ops@example.com")
	term.secret("Password: ", "a long operator password")
	term.expect("Second factor:")
	term.answer("Choose: ", "1")
	code, _ = totp.GenerateCode(secret[1], time.Now().Add(30*time.Second))
	term.answer("authenticator app (empty to choose again): ", code)
	term.choose("Stores")
	term.expect("demo")
	term.quit()

	// The authenticator is lost: the command line lifts the operator's second factor, and the next
	// sign-in asks for a new one before anything opens.
	if code, _, errOut := c.run("", "user", "reset-mfa", "--platform", "--store", "demo", "--email", "ops@example.com"); code == 0 || !strings.Contains(errOut, "either --store or --platform") {
		t.Fatalf("reset-mfa with both --platform and --store: exit %d %s", code, errOut)
	}
	if code, _, _ := c.run("", "user", "reset-mfa", "--platform", "--email", "nobody@example.com"); code != 1 {
		t.Fatal("reset-mfa of an unknown operator succeeded")
	}
	if out := c.ok("", "user", "reset-mfa", "--platform", "--email", "ops@example.com"); !strings.Contains(out, "operator ops@example.com has no second factor now") {
		t.Fatalf("reset-mfa --platform: %q", out)
	}
	term = startConsole(t, "--server", srv.base, "--platform")
	term.answer("E-mail: ", "ops@example.com")
	term.secret("Password: ", "a long operator password")
	term.expect("Your account needs two-factor sign-in before anything else opens.")
	term.expect("otpauth://")
}
