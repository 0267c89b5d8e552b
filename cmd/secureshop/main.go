// Command secureshop runs a multi-tenant shop and administers it from the shell.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"secureshop/internal/app"
	"secureshop/internal/console"
	"secureshop/internal/shop"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a specific exit code (audit verify answers 1 on tampering).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg := app.Defaults()
	root := newRoot(&cfg, stdin, stdout)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			_, _ = fmt.Fprintln(stderr, "secureshop:", ee.msg)
		}
		return ee.code
	}
	if console.Quiet(err) {
		return 1 // the console has shown it
	}
	_, _ = fmt.Fprintln(stderr, "secureshop:", err)
	return 1
}

func newRoot(cfg *app.Config, stdin io.Reader, stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "secureshop",
		Short:         "A secure multi-tenant shop",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := fromEnv(cmd.Flags()); err != nil {
				return err
			}
			cfg.SecretKey = os.Getenv("SHOP_SECRET_KEY")
			if v := os.Getenv("SHOP_ENV"); v != "" {
				cfg.Env = v
			}
			if v := os.Getenv("SHOP_MAIL_DIR"); v != "" {
				cfg.MailDir = v
			}
			cfg.SMTPURL = os.Getenv("SHOP_SMTP_URL")
			cfg.MetricsToken = os.Getenv("SHOP_METRICS_TOKEN")
			cfg.StripeSecretKey = os.Getenv("SHOP_STRIPE_SECRET_KEY")
			cfg.StripeWebhookSecret = os.Getenv("SHOP_STRIPE_WEBHOOK_SECRET")
			cfg.TestpayKey = os.Getenv("SHOP_TESTPAY_KEY")
			cfg.TestpayWebhookSecret = os.Getenv("SHOP_TESTPAY_WEBHOOK_SECRET")
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&cfg.Database, "database", cfg.Database, "database URL: sqlite:PATH or postgres://... (SHOP_DATABASE)")
	pf.StringVar(&cfg.MigrateDatabase, "migrate-database", "", "database URL of the tables' owner, for migrations, when --database is a less privileged role (SHOP_MIGRATE_DATABASE)")
	pf.StringVar(&cfg.SecretKeyFile, "secret-key-file", cfg.SecretKeyFile, "file holding the master secret, created if missing (SHOP_SECRET_KEY_FILE)")
	pf.StringVar(&cfg.LogFormat, "log-format", "", "log format: text or json (default text, json in production) (SHOP_LOG_FORMAT)")
	pf.StringVar(&cfg.LogLevel, "log-level", "", "log level: debug, info, warn or error (SHOP_LOG_LEVEL)")
	pf.StringVar(&cfg.PaymentProvider, "payment-provider", cfg.PaymentProvider, "payment provider: testpay (test payments, refused in production) or stripe (SHOP_PAYMENT_PROVIDER; stripe takes SHOP_STRIPE_SECRET_KEY and SHOP_STRIPE_WEBHOOK_SECRET)")
	pf.StringVar(&cfg.TestpayListen, "testpay-listen", cfg.TestpayListen, "with testpay, where the shop starts it, on its own listener (SHOP_TESTPAY_LISTEN)")
	pf.StringVar(&cfg.TestpayURL, "testpay-url", "", "with testpay, a testpay service already running there instead (`secureshop testpay`; SHOP_TESTPAY_URL, with SHOP_TESTPAY_KEY and SHOP_TESTPAY_WEBHOOK_SECRET)")
	pf.StringVar(&cfg.StripeAPIURL, "stripe-api-url", "", "Stripe's API address, for stripe-mock in tests (SHOP_STRIPE_API_URL)")
	_ = pf.MarkHidden("stripe-api-url")

	root.AddCommand(serveCmd(cfg, stdout), migrateCmd(cfg), storeCmd(cfg, stdout), userCmd(cfg, stdin, stdout), auditCmd(cfg, stdout),
		paymentsCmd(cfg, stdout), testpayCmd(stdout), checkCmd(cfg, stdout), keysCmd(cfg, stdout), console.Command(stdin, stdout))
	return root
}

// fromEnv fills every flag not given on the command line from SHOP_<FLAG_NAME>.
func fromEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "SHOP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

// open starts the shop's services for a command. A command other than serve starts no testpay on
// the shop's port (a running shop has it): one of its own, on a port of its own, if any.
func open(ctx context.Context, cfg *app.Config) (*app.App, error) {
	c := *cfg
	c.TestpayListen = "127.0.0.1:0"
	return app.Open(ctx, c, app.NewLogger(c))
}

// startUpMemoryLimit bounds the heap while holdCollections holds the collector back: the demo's
// start-up peaks at about 130 MiB with it held (three Argon2id work areas and a catalogue import),
// so a collection runs during start-up only if a much larger one would otherwise grow unchecked.
const startUpMemoryLimit = 256 << 20

// holdCollections holds the garbage collector back during start-up (migrations, and with --demo
// the password hashes and the catalogue) and returns settle, which hands the start-up's garbage
// back to the system (collections, everything free released) and only then restores the
// operator's GOGC and GOMEMLIMIT. Measured over starts of `serve --demo`: when the collector paces
// itself through start-up, or resumes before the release, the runtime's background scavenger is at
// work while the release runs, and the Go heap keeps 10-14.6 MiB of resident pages, differently
// from start to start; held back, released, then resumed, 10.0-10.6 MiB in 40 starts of 40 (the
// heap in use is the same 9.5-9.8 MiB throughout). settle may be called more than once; the first
// call does the work.
func holdCollections() (settle func()) {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(-1) // a negative limit only reads the current one
	debug.SetMemoryLimit(min(limit, startUpMemoryLimit))
	var once sync.Once
	return func() {
		once.Do(func() {
			// Two collections: what start-up left in sync.Pools (among them goose's 4 MiB parse
			// buffers) survives the first as the pools' victims and goes with the second.
			runtime.GC()
			debug.FreeOSMemory()
			debug.SetMemoryLimit(limit)
			debug.SetGCPercent(percent)
		})
	}
}

func serveCmd(cfg *app.Config, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the shop over HTTP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cfg.Env == "production" {
				if findings := app.DeployFindings(*cfg); len(findings) > 0 {
					return refuse(findings)
				}
			}
			settle := holdCollections()
			defer settle()
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return err
			}
			base := "http://" + ln.Addr().String()
			if cfg.BaseURL == "" {
				cfg.BaseURL = base // the links in mail and the payment provider's way back
			}
			a, err := app.Open(ctx, *cfg, app.NewLogger(*cfg))
			if err != nil {
				_ = ln.Close()
				return err
			}
			defer func() { _ = a.Close() }()
			a.Log.Info("configuration", cfg.Masked()...)
			if cfg.Demo {
				if _, err := a.SeedDemo(ctx, stdout, base); err != nil {
					_ = ln.Close()
					return fmt.Errorf("demo: %w", err)
				}
			}
			a.DB.ReleaseMemory(ctx)
			settle()
			_, _ = fmt.Fprintf(stdout, "secureshop is serving on %s/\n", base)
			if a.Testpay != "" {
				_, _ = fmt.Fprintf(stdout, "testpay, the test payment provider, is serving on %s/ (cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined, 4000 0027 6000 3184 asks for approval)\n", a.Testpay)
			}
			a.Log.Info("listening", "address", ln.Addr().String())
			return a.Serve(ctx, ln)
		},
	}
	c.Flags().StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on (SHOP_LISTEN)")
	c.Flags().DurationVar(&cfg.TestpayLatency, "testpay-latency", 0, "how long the testpay the shop starts takes to answer, as a real provider does (the benchmark)")
	_ = c.Flags().MarkHidden("testpay-latency")
	c.Flags().StringVar(&cfg.Redis, "redis", "", "Redis URL for shared sessions; unset keeps them in process (SHOP_REDIS)")
	c.Flags().BoolVar(&cfg.Demo, "demo", false, "create the demo store, users and catalogue once and print the credentials (SHOP_DEMO)")
	c.Flags().StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate file (SHOP_TLS_CERT)")
	c.Flags().StringVar(&cfg.TLSKey, "tls-key", "", "... and this key file (SHOP_TLS_KEY)")
	c.Flags().StringVar(&cfg.HTTPRedirect, "http-redirect", "", "with TLS, also listen here and redirect HTTP to HTTPS, e.g. :80 (SHOP_HTTP_REDIRECT)")
	c.Flags().StringSliceVar(&cfg.TrustedProxies, "trusted-proxies", nil, "addresses or CIDRs of proxies whose X-Forwarded-For is believed (SHOP_TRUSTED_PROXIES)")
	c.Flags().StringSliceVar(&cfg.CORSOrigins, "cors-origins", nil, "origins allowed to call the API from a browser (SHOP_CORS_ORIGINS)")
	c.Flags().IntVar(&cfg.APIRequestsPerMinute, "api-requests-per-minute", 600, "API requests a minute per client address (SHOP_API_REQUESTS_PER_MINUTE)")
	c.Flags().IntVar(&cfg.DemoProducts, "demo-products", 48, "with --demo, the size of the demo catalogue (SHOP_DEMO_PRODUCTS)")
	c.Flags().StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve /metrics on this address instead of the main one (SHOP_METRICS_LISTEN)")
	c.Flags().StringVar(&cfg.BaseURL, "base-url", "", "public address of the shop, for links in mail (SHOP_BASE_URL; default http://LISTEN)")
	c.Flags().IntVar(&cfg.Identity.AttemptsPerMinute, "attempts-per-minute", 5, "sign-in, code, registration and reset attempts per account a minute (SHOP_ATTEMPTS_PER_MINUTE)")
	c.Flags().IntVar(&cfg.Identity.AttemptsPerIPMinute, "attempts-per-ip-minute", 5, "the same per client address (SHOP_ATTEMPTS_PER_IP_MINUTE)")
	c.Flags().IntVar(&cfg.Identity.MaxSessions, "max-sessions", 10, "signed-in sessions per user; the oldest ends first (SHOP_MAX_SESSIONS)")
	return c
}

func migrateCmd(cfg *app.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd.Context(), cfg) // Open migrates
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintln(cmd.OutOrStdout(), "database is up to date")
			return a.Close()
		},
	}
}

// readPassword reads one line from stdin: passwords never go on the command line, where other
// users of the machine could see them.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// refuse explains why production will not start.
func refuse(findings []app.Finding) error {
	var b strings.Builder
	b.WriteString("SHOP_ENV=production refuses to start with insecure settings:")
	for _, f := range findings {
		fmt.Fprintf(&b, "\n  %s: %s", f.Name, f.Detail)
	}
	b.WriteString("\nsee `secureshop check --deploy`")
	return errors.New(b.String())
}

func checkCmd(cfg *app.Config, stdout io.Writer) *cobra.Command {
	var deploy bool
	c := &cobra.Command{
		Use:   "check --deploy",
		Short: "List every setting that is insecure for production; exit 1 if there is any",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !deploy {
				return errors.New("say what to check: --deploy")
			}
			findings := app.DeployFindings(*cfg)
			for _, f := range findings {
				_, _ = fmt.Fprintf(stdout, "FINDING %s: %s\n", f.Name, f.Detail)
			}
			if len(findings) > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d insecure setting(s) for production", len(findings))}
			}
			_, _ = fmt.Fprintln(stdout, "no findings: the settings are fit for production")
			return nil
		},
	}
	c.Flags().BoolVar(&deploy, "deploy", false, "check the settings for a production deployment")
	// check reads the same settings serve takes.
	serve := serveCmd(cfg, stdout)
	serve.Flags().VisitAll(func(f *pflag.Flag) { c.Flags().AddFlag(f) })
	return c
}

func keysCmd(cfg *app.Config, stdout io.Writer) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage the secret keys"}
	reseal := func(cmd *cobra.Command) error {
		a, err := open(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer func() { _ = a.Close() }()
		n, err := a.Identity.ResealSecrets(cmd.Context(), shop.System())
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "%d secret(s) sealed again with the newest key\n", n)
		return nil
	}
	rotate := &cobra.Command{
		Use: "rotate", Short: "Put a new key at the head of the key file and seal every secret again with it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.RotateKey(*cfg); err != nil {
				return err
			}
			_, _ = fmt.Fprintf(stdout, "new key written to %s; older keys stay to open old values and tokens\n", cfg.SecretKeyFile)
			return reseal(cmd)
		},
	}
	resealCmd := &cobra.Command{
		Use: "reseal", Short: "Seal every secret again with the newest key of the ring", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return reseal(cmd) },
	}
	c.AddCommand(rotate, resealCmd)
	return c
}
