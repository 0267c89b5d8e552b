package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"secureshop/internal/app"
	"secureshop/internal/identity"
	"secureshop/internal/payment/testpay"
	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
)

func storeCmd(cfg *app.Config, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{Use: "store", Short: "Create, list, suspend and resume stores"}
	var in tenancy.NewStore
	create := &cobra.Command{
		Use: "create", Short: "Create a store", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = a.Close() }()
			st, err := a.Stores.Create(cmd.Context(), shop.System(), in)
			if err != nil {
				return describe(err)
			}
			_, _ = fmt.Fprintf(stdout, "created store %s (%s)\n", st.Slug, st.ID)
			return nil
		},
	}
	create.Flags().StringVar(&in.Slug, "slug", "", "store slug (required)")
	create.Flags().StringVar(&in.Name, "name", "", "store name (required)")
	create.Flags().StringVar(&in.Currency, "currency", "GBP", "ISO 4217 currency")
	_ = create.MarkFlagRequired("slug")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use: "list", Short: "List stores", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = a.Close() }()
			stores, err := a.Stores.List(cmd.Context(), shop.System())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "SLUG\tNAME\tCURRENCY\tSTATUS\tID")
			for _, s := range stores {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Slug, s.Name, s.Currency, s.Status, s.ID)
			}
			return tw.Flush()
		},
	}
	status := func(use string, to shop.StoreStatus) *cobra.Command {
		return &cobra.Command{
			Use: use + " SLUG", Short: use + " a store", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				a, err := open(cmd.Context(), cfg)
				if err != nil {
					return err
				}
				defer func() { _ = a.Close() }()
				st, err := a.Stores.SetStatus(cmd.Context(), shop.System(), args[0], to)
				if err != nil {
					return describe(err)
				}
				_, _ = fmt.Fprintf(stdout, "store %s is %s\n", st.Slug, st.Status)
				return nil
			},
		}
	}
	c.AddCommand(create, list, status("suspend", shop.StoreSuspended), status("resume", shop.StoreActive))
	return c
}

func userCmd(cfg *app.Config, stdin io.Reader, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{Use: "user", Short: "Create, list, deactivate and activate users"}
	var storeSlug, email, role string
	var platform, pwStdin bool
	create := &cobra.Command{
		Use: "create", Short: "Create a store user, or a platform operator with --platform", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !pwStdin {
				return errors.New("give the password on standard input with --password-stdin")
			}
			if platform == (storeSlug != "") {
				return errors.New("give either --store or --platform")
			}
			pw, err := readPassword(stdin)
			if err != nil {
				return err
			}
			a, err := open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = a.Close() }()
			ctx := cmd.Context()
			var u shop.User
			if platform {
				u, err = a.Identity.CreateOperator(ctx, shop.System(), email, pw)
			} else {
				st, serr := a.Stores.BySlug(ctx, storeSlug)
				if serr != nil {
					return describe(serr)
				}
				u, err = a.Identity.CreateUser(ctx, shop.System(), st.ID, identity.NewUser{Email: email, Role: shop.Role(role), Password: pw})
			}
			if err != nil {
				return describe(err)
			}
			_, _ = fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
			return nil
		},
	}
	create.Flags().StringVar(&storeSlug, "store", "", "store slug")
	create.Flags().StringVar(&email, "email", "", "e-mail address (required)")
	create.Flags().StringVar(&role, "role", "customer", "admin, clerk or customer")
	create.Flags().BoolVar(&platform, "platform", false, "create a platform operator")
	create.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	_ = create.MarkFlagRequired("email")

	var listStore string
	list := &cobra.Command{
		Use: "list", Short: "List a store's users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = a.Close() }()
			ctx := cmd.Context()
			st, err := a.Stores.BySlug(ctx, listStore)
			if err != nil {
				return describe(err)
			}
			tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "EMAIL\tROLE\tACTIVE\tID")
			cursor := ""
			for {
				page, err := a.Identity.ListUsers(ctx, shop.System(), st.ID, cursor, 100)
				if err != nil {
					return err
				}
				for _, u := range page.Users {
					_, _ = fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", u.Email, u.Role, u.Active, u.ID)
				}
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listStore, "store", "", "store slug (required)")
	_ = list.MarkFlagRequired("store")

	// onUser makes a command that finds one user of a store by e-mail and acts on them; with
	// operator set, it takes --platform instead of --store and calls operator for a platform operator.
	onUser := func(use, short, done string, act func(ctx context.Context, a *app.App, store shop.StoreID, u shop.User) error,
		operator ...func(ctx context.Context, a *app.App, email string) error) *cobra.Command {
		var s, e string
		var platform bool
		cmd := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if len(operator) > 0 && platform == (s != "") {
					return errors.New("give either --store or --platform")
				}
				a, err := open(cmd.Context(), cfg)
				if err != nil {
					return err
				}
				defer func() { _ = a.Close() }()
				ctx := cmd.Context()
				if platform {
					if err := operator[0](ctx, a, e); err != nil {
						return describe(err)
					}
					_, _ = fmt.Fprintf(stdout, "operator %s %s\n", e, done)
					return nil
				}
				st, err := a.Stores.BySlug(ctx, s)
				if err != nil {
					return describe(err)
				}
				u, err := a.Identity.FindUser(ctx, shop.System(), st.ID, e)
				if err != nil {
					return describe(err)
				}
				if err := act(ctx, a, st.ID, u); err != nil {
					return describe(err)
				}
				_, _ = fmt.Fprintf(stdout, "user %s %s\n", u.Email, done)
				return nil
			},
		}
		cmd.Flags().StringVar(&e, "email", "", "e-mail address (required)")
		_ = cmd.MarkFlagRequired("email")
		if len(operator) > 0 {
			cmd.Flags().StringVar(&s, "store", "", "store slug (or --platform)")
			cmd.Flags().BoolVar(&platform, "platform", false, "a platform operator")
			return cmd
		}
		cmd.Flags().StringVar(&s, "store", "", "store slug (required)")
		_ = cmd.MarkFlagRequired("store")
		return cmd
	}
	setActive := func(active bool) func(context.Context, *app.App, shop.StoreID, shop.User) error {
		return func(ctx context.Context, a *app.App, store shop.StoreID, u shop.User) error {
			_, err := a.Identity.UpdateUser(ctx, shop.System(), store, u.ID, identity.UserPatch{Active: &active})
			return err
		}
	}
	c.AddCommand(create, list,
		onUser("deactivate", "Deactivate a user (their sessions end at once)", "deactivated", setActive(false)),
		onUser("activate", "Activate a user", "activated", setActive(true)),
		onUser("unlock", "Lift a sign-in lock", "unlocked", func(ctx context.Context, a *app.App, store shop.StoreID, u shop.User) error {
			return a.Identity.UnlockUser(ctx, shop.System(), store, u.ID)
		}),
		onUser("reset-mfa", "Remove a user's or an operator's second factor (lost device); staff and operators enrol again at sign-in", "has no second factor now",
			func(ctx context.Context, a *app.App, store shop.StoreID, u shop.User) error {
				return a.Identity.ResetUserMFA(ctx, shop.System(), store, u.ID)
			}, func(ctx context.Context, a *app.App, email string) error {
				_, err := a.Identity.ResetOperatorMFA(ctx, shop.System(), email)
				return err
			}))
	return c
}

func auditCmd(cfg *app.Config, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Work with the audit log"}
	var storeSlug string
	verify := &cobra.Command{
		Use: "verify", Short: "Check the audit hash chains; exit 1 on any tampering", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = a.Close() }()
			ctx := cmd.Context()
			var store shop.StoreID
			if storeSlug != "" {
				st, err := a.Stores.BySlug(ctx, storeSlug)
				if err != nil {
					return describe(err)
				}
				store = st.ID
			}
			chains, problems, err := a.Audit.Verify(ctx, store)
			if err != nil {
				return err
			}
			for _, p := range problems {
				id := p.EventID
				if id == "" {
					id = "-"
				}
				_, _ = fmt.Fprintf(stdout, "TAMPERED chain=%s seq=%d event=%s: %s\n", p.Chain, p.Seq, id, p.Reason)
			}
			if len(problems) > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("audit log verification failed: %d problem(s)", len(problems))}
			}
			_, _ = fmt.Fprintf(stdout, "audit log intact: %d chain(s) verified\n", chains)
			return nil
		},
	}
	verify.Flags().StringVar(&storeSlug, "store", "", "verify only this store's chain")
	c.AddCommand(verify)
	return c
}

// describe turns a service error into a line for the terminal, with its field errors.
func describe(err error) error {
	e := shop.AsError(err)
	if e == nil {
		return err
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return errors.New(msg)
}

func paymentsCmd(cfg *app.Config, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{Use: "payments", Short: "Work with payments"}
	var since time.Duration
	reconcile := &cobra.Command{
		Use:   "reconcile",
		Short: "Ask the payment provider about every payment still pending and repair what a lost webhook left behind",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.PaymentProvider == "testpay" && cfg.TestpayURL == "" {
				return errors.New("the shop's own testpay keeps its payments in the serving process: reconcile runs there by itself; give --testpay-url to reach a testpay service")
			}
			a, err := open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer func() { _ = a.Close() }()
			r, err := a.Orders.Reconcile(cmd.Context(), since)
			_, _ = fmt.Fprintf(stdout, "orders with a payment pending: %d; repaired: %d\n", r.Orders, r.Repairs)
			return err
		},
	}
	reconcile.Flags().DurationVar(&since, "since", 7*24*time.Hour, "how far back to look for payments still pending")
	c.AddCommand(reconcile)
	return c
}

// testpayCmd serves testpay on its own, for shops that reach it at --testpay-url (several
// instances sharing one provider, a shop restarted while payments are open).
func testpayCmd(stdout io.Writer) *cobra.Command {
	var listen, webhookURL, baseURL string
	c := &cobra.Command{
		Use:   "testpay",
		Short: "Serve testpay, the test payment provider, on its own (SHOP_TESTPAY_KEY and SHOP_TESTPAY_WEBHOOK_SECRET are its secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, secret := os.Getenv("SHOP_TESTPAY_KEY"), os.Getenv("SHOP_TESTPAY_WEBHOOK_SECRET")
			if len(key) < 16 || len(secret) < 16 || webhookURL == "" {
				return errors.New("testpay needs SHOP_TESTPAY_KEY and SHOP_TESTPAY_WEBHOOK_SECRET (16 characters or more) and --webhook-url")
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			if baseURL == "" {
				baseURL = "http://" + ln.Addr().String()
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			p := testpay.NewServer(testpay.Config{SecretKey: key, WebhookSecret: secret, WebhookURL: webhookURL, BaseURL: baseURL, Log: log})
			defer p.Close()
			srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
			_, _ = fmt.Fprintf(stdout, "testpay is serving on %s/\n", baseURL)
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8081", "address to listen on")
	c.Flags().StringVar(&webhookURL, "webhook-url", "", "where its webhooks go: the shop's /api/v1/payments/webhooks/testpay")
	c.Flags().StringVar(&baseURL, "base-url", "", "its public address (default http://LISTEN)")
	return c
}
