package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
)

// reqInfo travels with a request; inner layers fill it in and the logger reads it at the end.
type reqInfo struct {
	id        string
	ip        string
	principal shop.Principal
	session   *shop.Session // browser session, when signed in through the cookie
	store     *shop.Store
	status    int
	route     string // the route table entry that served the request
}

type infoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

type statusWriter struct {
	http.ResponseWriter
	info  *reqInfo
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.info.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.info.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id, recovers from panics, and logs one line per request with
// the request id, store and user — never the query string, which may hold a one-time link token.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{id: rand.Text()[:16], ip: s.clientIP(r)}
		sw := &statusWriter{ResponseWriter: w, info: info}
		// Every query and outbound call of the request carries its context, and so this limit.
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), infoKey{}, info), 30*time.Second)
		defer cancel()
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", info.id)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "request_id", info.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !sw.wrote {
					s.fail(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			attrs := []slog.Attr{
				slog.String("request_id", info.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", info.status), slog.Duration("duration", time.Since(start)), slog.String("ip", info.ip),
			}
			if info.store != nil {
				attrs = append(attrs, slog.String("store", info.store.Slug))
			}
			if info.principal.UserID != "" {
				attrs = append(attrs, slog.String("user_id", string(info.principal.UserID)))
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			s.cfg.Metrics.observe(info.route, info.status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// clientIP is the address rate limits and the audit log use. X-Forwarded-For is believed only
// when the peer is a trusted proxy, and then only as far as the proxies are trusted: the address is
// the rightmost one not itself a trusted proxy, so a client cannot choose it by sending the header.
func (s *Server) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !s.trusted(addr) {
		return addr.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: stop believing the header here
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			break
		}
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// cors answers browsers calling the API from another origin: allowed only for the configured
// origins, and only with bearer tokens (never cookies).
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !isAPI(r) || !slices.Contains(s.cfg.CORSOrigins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Idempotent-Replayed, Retry-After, X-Request-Id, Location")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// A browser request the API allows across origins is not a forged form: the token proves it.
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Del("Origin")
		next.ServeHTTP(w, r)
	})
}

// rateLimit caps requests per client address — to the API and to the pages, counted apart — on
// top of the per-action limits. Static files and the health checks are not counted. Should the
// shared limits (Redis) not answer, each instance counts on its own meanwhile: what needs no
// shared state (the public catalogue) keeps answering, still limited; what does (sessions, sign-in,
// visitors' carts) fails closed where it is used.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "page:"
		switch {
		case isAPI(r):
			kind = "api:"
		case strings.HasPrefix(r.URL.Path, "/static/"), r.URL.Path == "/healthz", r.URL.Path == "/readyz", r.URL.Path == "/metrics":
			kind = ""
		}
		if s.cfg.Limits == nil || kind == "" {
			next.ServeHTTP(w, r)
			return
		}
		key, now := kind+infoOf(r).ip, time.Now()
		var ok bool
		var retry time.Duration
		var err error
		// While the shared limits are down, one request a second asks them again; the others count
		// here at once instead of each waiting for Redis's client to give up.
		if down := s.sharedDownAt.Load(); down != 0 && now.Sub(time.Unix(0, down)) < time.Second {
			ok, retry, err = s.cfg.LocalLimits.Allow(r.Context(), key, s.cfg.APIRequestsPerMin, time.Minute, now)
		} else if ok, retry, err = s.cfg.Limits.Allow(r.Context(), key, s.cfg.APIRequestsPerMin, time.Minute, now); err != nil {
			if s.sharedDownAt.Swap(now.UnixNano()) == 0 {
				s.log.WarnContext(r.Context(), "the shared rate limits do not answer: counting in this instance meanwhile", "err", err)
			}
			ok, retry, err = s.cfg.LocalLimits.Allow(r.Context(), key, s.cfg.APIRequestsPerMin, time.Minute, now)
		} else if down != 0 {
			s.sharedDownAt.Store(0)
		}
		if err != nil {
			s.fail(w, r, &shop.Error{Kind: shop.KindUnavailable, Message: "The service is busy; try again shortly.", Err: err})
			return
		}
		if !ok {
			s.fail(w, r, &shop.Error{Kind: shop.KindRateLimited, Message: "Too many requests from your address. Slow down.", RetryAfter: retry})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// secure sets the security headers every response carries, refuses TRACE and caps request bodies.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Forms post here, and the checkout and Pay forms lead on to the payment provider's page
		// (browsers check form-action on the redirect too): the one other place a form may lead.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; "+
			strings.TrimSpace("form-action 'self' "+s.cfg.PaymentOrigin)+"; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.TLS != nil || s.cfg.HSTS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if r.Method == http.MethodTrace || r.Method == "TRACK" {
			s.fail(w, r, errMethodNotAllowed)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// bearer authenticates an API request by its access token. The API never accepts the browser
// cookie, so it needs no CSRF token.
func (s *Server) bearer(r *http.Request) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return shop.ErrUnauthenticated
	}
	info := infoOf(r)
	p, err := s.id.AuthenticateBearer(r.Context(), token, identity.Meta{IP: info.ip, UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	info.principal = p
	return nil
}

const sessionCookie = "__Host-shop_session"
const preCSRFCookie = "__Host-shop_csrf"

// cookie authenticates a browser request by its session cookie. A stale or unknown cookie is not
// an error: the visitor is simply not signed in.
func (s *Server) cookie(r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return
	}
	info := infoOf(r)
	p, sess, err := s.id.AuthenticateCookie(r.Context(), c.Value, identity.Meta{IP: info.ip, UserAgent: r.UserAgent()})
	if err != nil {
		if shop.KindOf(err) == shop.KindUnavailable {
			s.log.WarnContext(r.Context(), "session store unavailable", "request_id", info.id, "err", err)
		}
		return
	}
	info.principal, info.session = p, &sess
}
