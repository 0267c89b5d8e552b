// Package web serves the shop over HTTP: the JSON API under /api/v1 and the server-rendered pages.
// Handlers parse input, call one service method and render the answer; the rules live in the services.
package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/auditlog"
	"secureshop/internal/catalog"
	"secureshop/internal/identity"
	"secureshop/internal/memo"
	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/reports"
	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
)

// Config tunes the web layer.
type Config struct {
	MaxBodyBytes      int64          // request body cap (default 1 MiB)
	TrustedProxies    []netip.Prefix // peers whose X-Forwarded-For is believed; none by default
	CORSOrigins       []string       // origins allowed to call the API from a browser; none by default
	APIRequestsPerMin int            // requests a minute per client address, to the API and to the pages apart (default 600)
	Limits            RateLimiter    // where the API rate limit counts
	LocalLimits       RateLimiter    // this instance's own count, used while Limits does not answer
	HSTS              bool           // send Strict-Transport-Security (served over TLS, or behind a TLS proxy)
	Metrics           *Metrics       // Prometheus metrics; nil for none
	MetricsToken      string         // bearer token /metrics asks for on the main listener
	MetricsElsewhere  bool           // /metrics is served on its own listener instead
	PaymentOrigin     string         // scheme://host of the payment provider's pages, where checkout sends customers
}

// RateLimiter counts requests in sliding windows.
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error)
}

// Server holds what the handlers need.
type Server struct {
	cfg          Config
	log          *slog.Logger
	db           Database
	id           *identity.Service
	stores       *tenancy.Service
	catalog      *catalog.Service
	storefronts  *memo.Cache[template.HTML] // storefront page contents by listing, see pageStore
	listings     *memo.Cache[[]byte]        // listings encoded as JSON, see apiProducts
	audit        *auditlog.Service
	orders       *orders.Service
	payments     WebhookParser
	reports      *reports.Service
	jobs         JobQueue
	checks       []func(context.Context) error
	keyHash      func(string) string
	pages        map[string]*template.Template
	routes       []Route
	mux          *http.ServeMux
	sharedDownAt atomic.Int64 // when the shared limits last failed to answer (Unix nanoseconds); 0 while they answer
}

// Database is what readiness asks of the database: that it answers, and takes writes.
type Database interface {
	Ping(ctx context.Context) error
	Writable(ctx context.Context) error
}

// WebhookParser is the payment provider's side the web layer needs: its name in the webhook's
// path, and the verification of its signed events.
type WebhookParser interface {
	Name() string
	ParseWebhook(payload []byte, header http.Header) (payment.Event, error)
}

// Deps are the services the web layer calls.
type Deps struct {
	DB       Database
	Identity *identity.Service
	Stores   *tenancy.Service
	Catalog  *catalog.Service
	Audit    *auditlog.Service
	Orders   *orders.Service
	Payments WebhookParser // the payment provider, whose webhooks the shop takes
	Reports  *reports.Service
	Jobs     JobQueue                      // the job queue's failed jobs, for the back office
	Checks   []func(context.Context) error // readiness of backing services besides the database
	KeyHash  func(string) string           // keyed hash of a request, for Idempotency-Key replays
	Log      *slog.Logger
}

// New builds the server and its route table. It fails if a page template is missing or broken.
func New(cfg Config, d Deps) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.APIRequestsPerMin <= 0 {
		cfg.APIRequestsPerMin = 600
	}
	if cfg.Limits != nil && cfg.LocalLimits == nil {
		return nil, errors.New("web: shared rate limits need a local fallback (Config.LocalLimits)")
	}
	s := &Server{cfg: cfg, log: d.Log, db: d.DB, id: d.Identity, stores: d.Stores, catalog: d.Catalog, audit: d.Audit, orders: d.Orders, payments: d.Payments, reports: d.Reports, jobs: d.Jobs, checks: d.Checks, keyHash: d.KeyHash,
		storefronts: memo.New[template.HTML](catalog.ListingTTL, 256), listings: memo.New[[]byte](catalog.ListingTTL, 256)}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.routes = s.routeTable()
	s.mux = http.NewServeMux()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	if cfg.Metrics != nil && !cfg.MetricsElsewhere {
		s.mux.Handle("GET /metrics", cfg.Metrics.Handler(cfg.MetricsToken))
	}
	return s, nil
}

// Handler is the whole HTTP handler, middleware included.
func (s *Server) Handler() http.Handler {
	return s.observe(s.secure(s.cors(s.rateLimit(http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.dispatch))))))
}

// Routes returns the route table, for tests that walk every route.
func (s *Server) Routes() []Route { return s.routes }

// dispatch routes a request; requests that match no route get a 404 or 405 problem instead of
// the mux's plain-text answers.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		rec := &probe{header: http.Header{}}
		s.mux.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			if allow := rec.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			s.fail(w, r, errMethodNotAllowed)
			return
		}
		s.fail(w, r, shop.NotFound("Page"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// probe captures the status and headers of the mux's own not-found and not-allowed answers.
type probe struct {
	header http.Header
	status int
}

func (p *probe) Header() http.Header         { return p.header }
func (p *probe) Write(b []byte) (int, error) { return len(b), nil }
func (p *probe) WriteHeader(code int)        { p.status = code }

// handlerFunc is a handler that returns its error for the one function that renders errors.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one entry of the route table: what it serves and who may call it.
type Route struct {
	Method string
	Path   string
	API    bool              // JSON API (bearer tokens) rather than a page (cookie)
	Auth   bool              // needs a signed-in principal of any role
	Perm   access.Permission // needs this permission (in the path's store, when it has one)
	h      handlerFunc
}

// wrap turns a route into a handler: it authenticates, resolves the store in the path, checks the
// route's permission, checks the CSRF token of page forms, and renders any error.
func (s *Server) wrap(rt Route) http.Handler {
	route := rt.Method + " " + rt.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoOf(r).route = route
		if err := s.admit(rt, r); err != nil {
			if e := shop.AsError(err); !rt.API && r.Method == http.MethodGet && e != nil && e.Code == shop.CodeMFAEnrollmentRequired {
				// #nosec G710 -- accountPath builds a local path from a slug that matched the slug pattern
				http.Redirect(w, r, s.accountPath(r), http.StatusSeeOther) // the one page open to them: set up the second factor
				return
			}
			if !rt.API && shop.KindOf(err) == shop.KindUnauthenticated && r.Method == http.MethodGet {
				target := s.loginPath(r)
				if strings.HasPrefix(target, "/s/") {
					target += "?next=" + url.QueryEscape(r.URL.Path)
				}
				// #nosec G710 -- loginPath builds a local path from a slug that matched the slug pattern
				http.Redirect(w, r, target, http.StatusSeeOther)
				return
			}
			s.fail(w, r, err)
			return
		}
		if infoOf(r).principal.Authenticated() {
			w.Header().Set("Cache-Control", "no-store")
		}
		if err := rt.h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) admit(rt Route, r *http.Request) error {
	info := infoOf(r)
	if rt.API {
		if err := s.bearer(r); err != nil {
			return err
		}
	} else {
		s.cookie(r)
	}
	if slug := r.PathValue("store"); slug != "" {
		st, err := s.stores.BySlug(r.Context(), slug)
		if err != nil {
			return err
		}
		info.store = &st
		if st.Status != shop.StoreActive {
			return &shop.Error{Kind: shop.KindForbidden, Code: shop.CodeStoreSuspended, Message: "This store is suspended."}
		}
	}
	p := info.principal
	switch {
	case rt.Perm != "" && info.store != nil:
		if err := access.CheckStore(p, info.store.ID, rt.Perm, "Store"); err != nil {
			return err
		}
	case rt.Perm != "":
		if err := access.Check(p, rt.Perm); err != nil {
			return err
		}
	case rt.Auth && !p.Authenticated():
		return shop.ErrUnauthenticated
	}
	if p.MFAEnrollRequired && (rt.Auth || rt.Perm != "") && !enrollmentOpen(rt.Path) {
		return &shop.Error{Kind: shop.KindForbidden, Code: shop.CodeMFAEnrollmentRequired,
			Message: "Set up two-factor sign-in (TOTP) on your account first; until then only your account is open to you."}
	}
	if !rt.API && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return s.checkCSRF(r)
	}
	return nil
}

// enrollmentOpen lists what staff and operators without a second factor may reach: their own
// account and sign-out.
func enrollmentOpen(path string) bool {
	return strings.HasPrefix(path, "/api/v1/me") || path == "/api/v1/auth/logout" || path == "/logout" ||
		strings.HasPrefix(path, "/s/{store}/account") || strings.HasPrefix(path, "/platform/account")
}

// accountPath is the account page of the signed-in user: their store's, or the platform's.
func (s *Server) accountPath(r *http.Request) string {
	if st := infoOf(r).store; st != nil {
		return "/s/" + st.Slug + "/account"
	}
	return "/platform/account"
}

// checkCSRF compares the form's token with the session's (or, before sign-in, with the pre-session
// cookie's) in constant time. Cross-origin requests were already refused by CrossOriginProtection.
func (s *Server) checkCSRF(r *http.Request) error {
	got := r.PostFormValue("csrf")
	want := ""
	if sess := infoOf(r).session; sess != nil {
		want = sess.CSRFToken
	} else if c, err := r.Cookie(preCSRFCookie); err == nil {
		want = c.Value
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return &shop.Error{Kind: shop.KindForbidden, Code: shop.CodeCSRF, Message: "The form has expired or did not come from this site. Reload the page and try again."}
	}
	return nil
}

func (s *Server) loginPath(r *http.Request) string {
	if slug := r.PathValue("store"); slug != "" && shop.ValidSlug(slug) {
		return "/s/" + slug + "/login"
	}
	if strings.HasPrefix(r.URL.Path, "/platform") {
		return "/platform/login"
	}
	return "/"
}

// Ready reports whether the backing services answer, and the database takes writes.
func (s *Server) Ready(ctx context.Context) error {
	if err := s.db.Ping(ctx); err != nil {
		return err
	}
	if err := s.db.Writable(ctx); err != nil {
		return err
	}
	for _, check := range s.checks {
		if err := check(ctx); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}
