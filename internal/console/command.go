package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
)

// Command is `secureshop console`: interactive without a subcommand, one operation per subcommand
// for scripts.
func Command(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var server, store, email, code, method string
	var passwordStdin, asJSON, platform bool
	client := func() *Client {
		if platform {
			return NewClient(server, "")
		}
		return NewClient(server, store)
	}
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Terminal client over the REST API: an interactive menu, or one operation per subcommand",
		Long: "Without a subcommand, signs in and offers the menu of your role. With one, signs in (when the\n" +
			"operation needs it) with --email, the password from SHOP_CONSOLE_PASSWORD or --password-stdin and\n" +
			"--code for a second factor, runs the operation, prints the answer (--json for JSON) and signs out.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if err := New(client(), stdin, stdout).Run(ctx); err != nil {
				return quiet{err}
			}
			return nil
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&server, "server", "http://127.0.0.1:8080", "address of the shop (SHOP_SERVER)")
	pf.StringVar(&store, "store", "demo", "store slug (SHOP_STORE)")
	pf.BoolVar(&platform, "platform", false, "sign in to the platform as an operator, instead of to a store")
	pf.StringVar(&email, "email", "", "sign in as (subcommands; SHOP_EMAIL)")
	pf.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (subcommands)")
	pf.StringVar(&code, "code", "", "second-factor code, when the shop asks for one (subcommands)")
	pf.StringVar(&method, "mfa-method", "totp", "second-factor method for --code: totp or recovery_code (subcommands)")
	pf.BoolVar(&asJSON, "json", false, "print the answer as JSON (subcommands)")

	for _, o := range ops {
		v := map[string]*string{}
		sub := &cobra.Command{
			Use:   o.name,
			Short: o.title,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c := client()
				ctx := cmd.Context()
				if o.roles != "" || email != "" {
					if err := scriptSignIn(ctx, c, email, code, method, passwordStdin, stdin); err != nil {
						return err
					}
					defer func() { _ = c.Logout(context.WithoutCancel(ctx)) }()
				}
				vals := map[string]string{}
				for _, p := range o.params {
					s := strings.TrimSpace(*v[p.name])
					if s == "" {
						s = p.def
					}
					if p.kind == product || p.kind == order || p.kind == user {
						if s == "" {
							return fmt.Errorf("--%s is required", p.name)
						}
						vals[p.name] = s
						continue
					}
					val, msg := normalize(p.kind, s, nil)
					if msg != "" && !(p.prompt == "" && s == "") {
						return fmt.Errorf("--%s: %s", p.name, msg)
					}
					vals[p.name] = val
				}
				res, err := o.run(ctx, c, vals)
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(res)
				}
				o.show(stdout, res)
				return nil
			},
		}
		for _, p := range o.params {
			help := p.prompt
			if help == "" {
				help = p.name
			}
			if p.kind == secret {
				help += " (better: answer the interactive console, which does not echo it)"
			}
			v[p.name] = sub.Flags().String(p.name, p.def, help)
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

// quiet is an error the interactive console has already shown.
type quiet struct{ error }

// Quiet reports whether err was already shown to the user.
func Quiet(err error) bool {
	var q quiet
	return errors.As(err, &q)
}

func scriptSignIn(ctx context.Context, c *Client, email, code, method string, fromStdin bool, stdin io.Reader) error {
	if email == "" {
		return errors.New("this operation needs --email (and the password from SHOP_CONSOLE_PASSWORD or --password-stdin)")
	}
	password := os.Getenv("SHOP_CONSOLE_PASSWORD")
	if fromStdin {
		s, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && s == "" {
			return errors.New("no password on standard input")
		}
		password = strings.TrimRight(s, "\r\n")
	}
	ch, err := c.Login(ctx, email, password)
	if err != nil {
		return err
	}
	if ch != nil {
		if code == "" {
			return errors.New("the shop asks for a second factor: pass --code (and --mfa-method recovery_code for a recovery code)")
		}
		if err := c.MFA(ctx, ch, method, code); err != nil {
			return err
		}
	}
	me, err := c.Me(ctx)
	if err == nil && me.MFARequired {
		return errors.New("this account must set up two-factor sign-in first: run the interactive console, or use Your account in the web shop")
	}
	return err
}
