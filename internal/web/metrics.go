package web

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the shop's Prometheus metrics.
type Metrics struct {
	Registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	signinFails prometheus.Counter
	rateLimited prometheus.Counter
	orders      prometheus.Counter
	forged      prometheus.Counter
	Lockouts    prometheus.Counter
}

// NewMetrics registers the shop's metrics, and the Go runtime's, in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_http_requests_total", Help: "HTTP requests by route and status."},
		[]string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shop_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"})
	m.signinFails = prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_signin_failures_total", Help: "Refused sign-ins and second factors."})
	m.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_rate_limited_total", Help: "Requests refused with 429."})
	m.orders = prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_orders_total", Help: "Orders placed: checkouts that took their stock (paid or sent to pay)."})
	m.forged = prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_payment_webhooks_refused_total", Help: "Payment webhooks refused: their signature does not verify."})
	m.Lockouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_lockouts_total", Help: "Accounts locked after failed attempts in a row."})
	m.Registry.MustRegister(m.requests, m.latency, m.signinFails, m.rateLimited, m.orders, m.forged, m.Lockouts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe counts one finished request.
func (m *Metrics) observe(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
	switch {
	case status == http.StatusTooManyRequests:
		m.rateLimited.Inc()
	case status == http.StatusUnauthorized && (strings.HasSuffix(route, "/auth/login") || strings.HasSuffix(route, "/auth/mfa") || strings.HasSuffix(route, "/login") || strings.HasSuffix(route, "/login/mfa")):
		m.signinFails.Inc()
	case strings.HasSuffix(route, "/checkout") && strings.HasPrefix(route, "POST"):
		if status == http.StatusCreated || status == http.StatusSeeOther {
			m.orders.Inc()
		}
	case strings.Contains(route, "/payments/webhooks/") && status == http.StatusBadRequest:
		m.forged.Inc()
	}
}

// Handler serves the metrics; with a token, only to requests bearing it.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
