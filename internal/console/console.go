package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// Console is the interactive client: it signs in, then offers the menu of the signed-in role.
type Console struct {
	c    *Client
	in   *bufio.Reader
	fd   int // the terminal behind in, for prompts without echo; -1 when in is not a terminal
	out  io.Writer
	role string
	last map[int][]string // ids of the last listing, by param kind, so that "3" can name its third row
}

// New returns a console of c reading from in and writing to out.
func New(c *Client, in io.Reader, out io.Writer) *Console {
	k := &Console{c: c, in: bufio.NewReader(in), fd: -1, out: out, last: map[int][]string{}}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) { // #nosec G115 -- a file descriptor fits an int
		k.fd = int(f.Fd()) // #nosec G115 -- as above
	}
	return k
}

var errQuit = errors.New("quit")

// decimalRE is the shape of an amount typed at a prompt: whole units and optional decimals.
var decimalRE = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,3})?$`)

func (k *Console) say(format string, a ...any) { _, _ = fmt.Fprintf(k.out, format, a...) }

// line reads one answer. It gives up when ctx ends (Ctrl-C) or the input does (Ctrl-D).
func (k *Console) line(ctx context.Context, prompt string, hidden bool) (string, error) {
	k.say("%s: ", prompt)
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	var restore func()
	if hidden && k.fd >= 0 {
		if st, err := term.GetState(k.fd); err == nil {
			restore = func() { _ = term.Restore(k.fd, st) }
		}
	}
	go func() {
		if hidden && k.fd >= 0 {
			b, err := term.ReadPassword(k.fd)
			k.say("\n")
			ch <- answer{string(b), err}
			return
		}
		s, err := k.in.ReadString('\n')
		if err == io.EOF && s != "" {
			err = nil
		}
		ch <- answer{s, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil {
			return "", errQuit
		}
		return strings.TrimSpace(a.s), nil
	case <-ctx.Done():
		if restore != nil {
			restore()
		}
		k.say("\n")
		return "", errQuit
	}
}

// Run signs in and serves the menu until the user quits; it always signs out on the way out.
func (k *Console) Run(ctx context.Context) error {
	if k.c.Store == "" {
		k.say("secureshop console — the platform at %s\n", k.c.Server)
	} else {
		k.say("secureshop console — store %q at %s\n", k.c.Store, k.c.Server)
	}
	if _, _, err := k.c.send(ctx, "GET", "/healthz", nil, false); err != nil {
		k.say("%v\n", err)
		return err
	}
	defer func() {
		if k.c.SignedIn() {
			if err := k.c.Logout(context.WithoutCancel(ctx)); err != nil {
				k.say("Signing out failed: %v\n", err)
				return
			}
			k.say("Signed out.\n")
		}
	}()
	me, err := k.signIn(ctx)
	if err != nil {
		if errors.Is(err, errQuit) {
			return nil
		}
		k.say("%v\n", err)
		return err
	}
	if me.MFARequired {
		if err := k.enrol(ctx); err != nil {
			if errors.Is(err, errQuit) {
				return nil
			}
			return err
		}
	}
	k.role = me.Role
	k.say("Signed in as %s (%s).\n", me.Email, me.Role)
	for {
		if err := k.menu(ctx); err != nil {
			if errors.Is(err, errQuit) {
				return nil
			}
			return err
		}
	}
}

// signIn asks for the e-mail and password, then a second factor when the shop asks for one.
func (k *Console) signIn(ctx context.Context) (Me, error) {
	for {
		email, err := k.line(ctx, "E-mail", false)
		if err != nil {
			return Me{}, err
		}
		if email == "" {
			k.say("Please enter the e-mail address of your account.\n")
			continue
		}
		password, err := k.line(ctx, "Password", true)
		if err != nil {
			return Me{}, err
		}
		ch, err := k.c.Login(ctx, email, password)
		var u *Unreachable
		if errors.As(err, &u) {
			return Me{}, err
		}
		if err != nil {
			k.say("%v\n", err)
			continue
		}
		if ch != nil {
			if err := k.secondFactor(ctx, ch); err != nil {
				return Me{}, err
			}
		}
		return k.c.Me(ctx)
	}
}

// enrol sets up two-factor sign-in (TOTP), which staff and platform operators need before anything
// else opens: the secret to add to an authenticator app, then a code from it, then the recovery
// codes, shown once.
func (k *Console) enrol(ctx context.Context) error {
	k.say("Your account needs two-factor sign-in before anything else opens. Set it up now.\n")
	e, err := k.c.EnrollTOTP(ctx)
	if err != nil {
		return err
	}
	k.say("Add this account to your authenticator app: enter the secret %s, or open %s\n", e.Secret, e.OTPAuthURL)
	for {
		code, err := k.line(ctx, "Code from the app", false)
		if err != nil {
			return err
		}
		codes, err := k.c.ConfirmTOTP(ctx, code)
		if err != nil {
			var u *Unreachable
			if errors.As(err, &u) {
				return err
			}
			k.say("%v\n", err)
			continue
		}
		k.say("Two-factor sign-in is on. Keep these recovery codes somewhere safe; each works once, and they are shown only now:\n")
		for _, c := range codes {
			k.say("  %s\n", c)
		}
		return nil
	}
}

var methodNames = map[string]string{"totp": "code from your authenticator app", "email": "code sent by e-mail", "recovery_code": "recovery code"}

func (k *Console) secondFactor(ctx context.Context, ch *Challenge) error {
	for {
		method := ch.Methods[0]
		if len(ch.Methods) > 1 {
			k.say("Second factor:\n")
			for i, m := range ch.Methods {
				k.say("  %d. %s\n", i+1, methodNames[m])
			}
			n, err := k.choose(ctx, "Choose", len(ch.Methods), 1)
			if err != nil {
				return err
			}
			method = ch.Methods[n-1]
		}
		if method == "email" {
			if err := k.c.MFA(ctx, ch, "email", ""); err != nil {
				k.say("%v\n", err)
				continue
			}
			k.say("A code is on its way to your e-mail.\n")
		}
		for {
			code, err := k.line(ctx, strings.ToUpper(methodNames[method][:1])+methodNames[method][1:]+" (empty to choose again)", false)
			if err != nil {
				return err
			}
			if code == "" {
				break
			}
			err = k.c.MFA(ctx, ch, method, code)
			if err == nil {
				return nil
			}
			var u *Unreachable
			if errors.As(err, &u) {
				return err
			}
			k.say("%v\n", err)
		}
	}
}

// choose reads a number from 1 to n (or 0 when zero is allowed as low) until it gets one.
func (k *Console) choose(ctx context.Context, prompt string, n, low int) (int, error) {
	for {
		s, err := k.line(ctx, prompt, false)
		if err != nil {
			return 0, err
		}
		v, err := strconv.Atoi(s)
		if err == nil && v >= low && v <= n {
			return v, nil
		}
		k.say("%q is not on the menu; enter a number from %d to %d.\n", s, low, n)
	}
}

// menu shows the role's menu once and runs the chosen operation.
func (k *Console) menu(ctx context.Context) error {
	var mine []op
	for _, o := range ops {
		if o.allowed(k.role) {
			mine = append(mine, o)
		}
	}
	k.say("\n")
	for i, o := range mine {
		k.say("  %2d. %s\n", i+1, o.title)
	}
	k.say("   0. Sign out and quit\n")
	n, err := k.choose(ctx, "Choose", len(mine), 0)
	if err != nil {
		return err
	}
	if n == 0 {
		return errQuit
	}
	o := mine[n-1]
	v := map[string]string{}
	for _, p := range o.params {
		if when := askedWhen[p.name]; p.prompt == "" || (when != nil && !when(v)) {
			continue
		}
		if list := choices[p.kind]; list != nil {
			if err := list(ctx, k.c, v, k.out); err != nil {
				k.say("%v\n", err)
				return nil
			}
		}
		val, err := k.ask(ctx, p)
		if err != nil {
			return err
		}
		v[p.name] = val
	}
	res, err := o.run(ctx, k.c, v)
	if err != nil {
		var pr *Problem
		if errors.As(err, &pr) && pr.Status == 401 && !k.c.SignedIn() {
			k.say("%v\n", err)
			return errQuit
		}
		k.say("%v\n", err)
		return nil
	}
	o.show(k.out, res)
	k.remember(res)
	if o.name == "products" {
		return k.more(ctx, o, res.(list[Product]))
	}
	return nil
}

// more offers the next pages of the catalogue; their rows number on from the first page's.
func (k *Console) more(ctx context.Context, o op, shown list[Product]) error {
	for shown.NextCursor != "" {
		yes, err := k.line(ctx, "More? (y/N)", false)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(strings.ToLower(yes), "y") {
			return nil
		}
		res, err := o.run(ctx, k.c, map[string]string{"cursor": shown.NextCursor})
		if err != nil {
			k.say("%v\n", err)
			return nil
		}
		page := res.(list[Product])
		page.first = len(shown.Items)
		o.show(k.out, page)
		shown.Items, shown.NextCursor = append(shown.Items, page.Items...), page.NextCursor
		k.remember(shown)
	}
	return nil
}

// ask reads one parameter until the answer is acceptable.
func (k *Console) ask(ctx context.Context, p param) (string, error) {
	prompt := p.prompt
	if p.def != "" {
		prompt += " [" + p.def + "]"
	}
	for {
		s, err := k.line(ctx, prompt, p.kind == secret)
		if err != nil {
			return "", err
		}
		if s == "" {
			s = p.def
		}
		v, msg := normalize(p.kind, s, k.last[p.kind])
		if msg == "" {
			return v, nil
		}
		k.say("%s\n", msg)
	}
}

// normalize checks an answer of a kind; it returns the value to send, or what is wrong with it.
// rows are the ids of the last listing of that kind, which a row number stands for.
func normalize(kind int, s string, rows []string) (string, string) {
	switch kind {
	case optional:
		return s, ""
	case number:
		if _, err := strconv.Atoi(s); err != nil {
			return "", "Please enter a whole number, such as 3 or -2."
		}
	case amount:
		if s == "" {
			return "", ""
		}
		if !decimalRE.MatchString(s) {
			return "", "Please enter an amount such as 12 or 12.50."
		}
		return s, "" // read in the order's currency when it is sent
	case product, order, user:
		if n, err := strconv.Atoi(s); err == nil {
			if n < 1 || n > len(rows) {
				return "", fmt.Sprintf("There is no row %d in the last list; enter a row number from it or an id.", n)
			}
			return rows[n-1], ""
		}
	}
	if s == "" {
		return "", "This cannot be empty."
	}
	return s, ""
}

// remember keeps the ids of a listing for row numbers in later answers.
func (k *Console) remember(res any) {
	switch l := res.(type) {
	case list[Product]:
		k.last[product] = ids(l.Items, func(p Product) string { return p.ID })
	case list[Order]:
		k.last[order] = ids(l.Items, func(o Order) string { return o.ID })
	case list[User]:
		k.last[user] = ids(l.Items, func(u User) string { return u.ID })
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}
