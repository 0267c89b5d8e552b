package testpay

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"secureshop/internal/payment"
	"secureshop/internal/shop"
)

// Config is the provider service's: the API key the shop calls it with, the secret its webhooks
// are signed with, and where they go.
type Config struct {
	SecretKey     string
	WebhookSecret string
	WebhookURL    string
	BaseURL       string // where the service is reached: its pages' addresses start with it
	Log           *slog.Logger
	// Latency is how long its API takes to answer, as a real provider's does (100-500 ms): for
	// the benchmark, which measures checkout against it.
	Latency time.Duration
}

// Server is the provider's service. Its state is in memory: a development and test provider.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	mu       sync.Mutex
	sessions map[string]*session
	refunds  map[string]refund // by idempotency key
	keys     map[string]string // session idempotency key → session id
	refunded map[string]int64  // payment ref → amount refunded
	events   chan event
	quit     chan struct{}
	sender   sync.WaitGroup
	client   *http.Client
	now      func() time.Time
}

type session struct {
	payment.SessionState
	Description, SuccessURL, CancelURL string
	ExpiresAt                          time.Time
	Approval                           bool // a card that needs the extra step is waiting for it
}

type refund struct{ ID, Status string }

// event is a webhook's body.
type event struct {
	ID        string               `json:"id"`
	Type      string               `json:"type"` // session.paid, session.expired, refund.succeeded
	Session   payment.SessionState `json:"session"`
	RefundRef string               `json:"refund_ref,omitempty"`
	RefundKey string               `json:"refund_key,omitempty"`
	Amount    int64                `json:"amount,omitempty"`
}

// NewServer starts the service's webhook sender; Close stops it.
func NewServer(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), sessions: map[string]*session{}, refunds: map[string]refund{},
		keys: map[string]string{}, refunded: map[string]int64{}, events: make(chan event, 1024), quit: make(chan struct{}),
		client: payment.HTTPClient(10 * time.Second), now: time.Now}
	s.mux.HandleFunc("POST /v1/sessions", s.api(s.createSession))
	s.mux.HandleFunc("GET /v1/sessions/{id}", s.api(s.getSession))
	s.mux.HandleFunc("POST /v1/refunds", s.api(s.createRefund))
	s.mux.HandleFunc("GET /pay/{id}", s.page)
	s.mux.HandleFunc("POST /pay/{id}", s.pay)
	s.mux.HandleFunc("POST /pay/{id}/approve", s.approve)
	for range senders {
		s.sender.Add(1)
		go s.send()
	}
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", csp(""))
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// Refunded is what the provider's own books say was refunded of the payment ref, and how many
// refunds it made in all: for tests to compare with the shop's ledger.
func (s *Server) Refunded(ref string) (amount int64, refunds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refunded[ref], len(s.refunds)
}

// Sessions is how many payment sessions the provider made.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close stops the webhook sender; webhooks not yet acknowledged are dropped.
func (s *Server) Close() {
	close(s.quit)
	s.sender.Wait()
}

// api checks the caller's API key and answers in JSON.
func (s *Server) api(h func(r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		status, body := http.StatusUnauthorized, any(map[string]string{"error": "a valid API key is required"})
		if subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.SecretKey)) == 1 && s.cfg.SecretKey != "" {
			if s.cfg.Latency > 0 {
				time.Sleep(s.cfg.Latency)
			}
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			status, body = h(r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

func apiError(status int, msg string) (int, any) { return status, map[string]string{"error": msg} }

type sessionRequest struct {
	StoreID       string `json:"store_id"`
	OrderID       string `json:"order_id"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Description   string `json:"description"`
	CustomerEmail string `json:"customer_email"`
	SuccessURL    string `json:"success_url"`
	CancelURL     string `json:"cancel_url"`
	ExpiresAt     int64  `json:"expires_at"`
}

type sessionAnswer struct {
	payment.SessionState
	URL string `json:"url"`
}

func (s *Server) createSession(r *http.Request) (int, any) {
	var in sessionRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return apiError(http.StatusBadRequest, "the body is not a session request")
	}
	key := r.Header.Get("Idempotency-Key")
	if in.OrderID == "" || in.Amount <= 0 || len(in.Currency) != 3 || key == "" || !web(in.SuccessURL) || !web(in.CancelURL) {
		return apiError(http.StatusBadRequest, "order_id, a positive amount, a currency, success_url, cancel_url and an Idempotency-Key are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.keys[key]; ok {
		return http.StatusOK, s.answer(s.sessions[id])
	}
	ss := &session{SessionState: payment.SessionState{ID: newID("ses"), StoreID: in.StoreID, OrderID: in.OrderID, Status: payment.StatusOpen,
		Amount: in.Amount, Currency: strings.ToUpper(in.Currency)}, Description: in.Description, SuccessURL: in.SuccessURL,
		CancelURL: in.CancelURL, ExpiresAt: s.now().Add(time.Hour)}
	if in.ExpiresAt > 0 {
		ss.ExpiresAt = time.Unix(in.ExpiresAt, 0)
	}
	s.sessions[ss.ID], s.keys[key] = ss, ss.ID
	return http.StatusOK, s.answer(ss)
}

func web(u string) bool { return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") }

func (s *Server) answer(ss *session) sessionAnswer {
	return sessionAnswer{SessionState: ss.SessionState, URL: s.cfg.BaseURL + "/pay/" + ss.ID}
}

func (s *Server) getSession(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.live(r.PathValue("id"))
	if !ok {
		return apiError(http.StatusNotFound, "no such session")
	}
	return http.StatusOK, s.answer(ss)
}

// live returns a session, expiring it first when its time is up. The caller holds s.mu.
func (s *Server) live(id string) (*session, bool) {
	ss, ok := s.sessions[id]
	if ok && ss.Status == payment.StatusOpen && !s.now().Before(ss.ExpiresAt) {
		ss.Status = payment.StatusExpired
		s.emit(event{Type: "session.expired", Session: ss.SessionState})
	}
	return ss, ok
}

type refundRequest struct {
	PaymentRef string `json:"payment_ref"`
	Amount     int64  `json:"amount"`
	Reason     string `json:"reason"`
}

func (s *Server) createRefund(r *http.Request) (int, any) {
	var in refundRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.PaymentRef == "" || in.Amount <= 0 {
		return apiError(http.StatusBadRequest, "payment_ref and a positive amount are required")
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return apiError(http.StatusBadRequest, "an Idempotency-Key is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rf, ok := s.refunds[key]; ok {
		return http.StatusOK, rf
	}
	var paid *session
	for _, ss := range s.sessions {
		if ss.PaymentRef == in.PaymentRef && ss.Status == payment.StatusPaid {
			paid = ss
		}
	}
	if paid == nil {
		return apiError(http.StatusNotFound, "no such payment")
	}
	if s.refunded[in.PaymentRef]+in.Amount > paid.Amount {
		return apiError(http.StatusBadRequest, "the refund is more than is left of the payment")
	}
	s.refunded[in.PaymentRef] += in.Amount
	rf := refund{ID: newID("ref"), Status: "succeeded"}
	s.refunds[key] = rf
	s.emit(event{Type: "refund.succeeded", Session: paid.SessionState, RefundRef: rf.ID, RefundKey: key, Amount: in.Amount})
	return http.StatusOK, rf
}

// emit queues a webhook. The caller holds s.mu.
func (s *Server) emit(e event) {
	e.ID = newID("evt")
	select {
	case s.events <- e:
	default:
		s.cfg.Log.Error("testpay: webhook queue full; event dropped", "event", e.ID)
	}
}

// senders is how many webhooks are on their way at once. As with a real provider, events may
// arrive out of order (a refund's before its payment's): the shop must take them so.
const senders = 8

// send delivers webhooks, each until the shop answers 2xx, waiting longer after each failure
// (100 ms doubling to 5 s).
func (s *Server) send() {
	defer s.sender.Done()
	for {
		var e event
		select {
		case <-s.quit:
			return
		case e = <-s.events:
		}
		body, _ := json.Marshal(e)
		for wait := 100 * time.Millisecond; !s.deliver(body); wait = min(2*wait, 5*time.Second) {
			select {
			case <-s.quit:
				return
			case <-time.After(wait):
			}
		}
	}
}

func (s *Server) deliver(body []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.cfg.WebhookSecret, body, s.now()))
	resp, err := s.client.Do(req)
	if err != nil {
		s.cfg.Log.Warn("testpay: webhook not delivered; retrying", "err", err)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // read to its end, the connection is kept for the next
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// The card page: what the customer sees instead of a card form in the shop.
var pageTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>testpay — pay {{.Amount}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1c1e21}main{max-width:26rem;margin:2rem auto;background:#fff;
border:1px solid #dde1e6;border-radius:12px;padding:1.5rem}h1{font-size:1.3rem;margin:0 0 .25rem}.muted{color:#5b6470}.error{color:#b42318;
font-weight:600}label{display:block;margin:.75rem 0 .25rem}input{width:100%;box-sizing:border-box;font:inherit;padding:.6rem;border:1px solid #c3c9d1;
border-radius:8px}.row{display:flex;gap:.75rem}.row>div{flex:1}button{margin-top:1.25rem;width:100%;font:inherit;font-weight:600;padding:.75rem;
border:0;border-radius:8px;background:#2d5bd7;color:#fff}a{color:#2d5bd7}@media (max-width:30rem){main{margin:1rem}}</style></head><body><main>
<p class="muted">testpay — a test payment provider</p><h1>{{.Description}}</h1><p><strong>{{.Amount}}</strong></p>
{{if .Message}}<p class="error" role="alert">{{.Message}}</p>{{end}}
{{if eq .Step "card"}}<form method="post" action="/pay/{{.ID}}">
<label for="number">Card number</label><input id="number" name="number" inputmode="numeric" autocomplete="cc-number" required>
<div class="row"><div><label for="exp">Expiry (MM/YY)</label><input id="exp" name="exp" placeholder="12/30" autocomplete="cc-exp" required></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" required></div></div>
<button type="submit">Pay {{.Amount}}</button></form><p><a href="{{.CancelURL}}">Cancel and go back to the shop</a></p>
{{else if eq .Step "approve"}}<p>Your bank asks you to approve this payment.</p><form method="post" action="/pay/{{.ID}}/approve">
<button type="submit">Approve</button></form><p><a href="{{.CancelURL}}">Cancel and go back to the shop</a></p>
{{else}}<p>{{.Done}}</p><p><a href="{{.BackURL}}">Back to the shop</a></p>{{end}}
</main></body></html>`))

type pageData struct {
	ID, Description, Amount, Message, Step, Done, CancelURL, BackURL string
}

func (s *Server) render(w http.ResponseWriter, status int, ss *session, step, message string) {
	d := pageData{ID: ss.ID, Description: ss.Description, Amount: shop.M(ss.Amount, ss.Currency).String(),
		Message: message, Step: step, CancelURL: ss.CancelURL, BackURL: ss.SuccessURL}
	switch ss.Status {
	case payment.StatusPaid:
		d.Step, d.Done = "done", "Paid. Thank you."
	case payment.StatusExpired:
		d.Step, d.Done, d.BackURL = "done", "This payment can no longer be made: its time ran out.", ss.CancelURL
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Its forms post here, and paying sends the customer back to the shop: the one other place
	// they may lead (browsers check form-action on the redirect too).
	w.Header().Set("Content-Security-Policy", csp(origin(ss.SuccessURL)))
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// csp is the pages' policy: nothing loads but their own inline style, nothing frames them, and
// their forms lead only here or to also.
func csp(also string) string {
	return strings.TrimSpace("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' " + also)
}

// origin is scheme://host of an absolute URL ("" for anything else).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.live(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	step := "card"
	if ss.Approval {
		step = "approve"
	}
	s.render(w, http.StatusOK, ss, step, "")
}

func (s *Server) pay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	card := cardOf(r.PostFormValue("number"), r.PostFormValue("exp"), r.PostFormValue("cvc"))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.live(r.PathValue("id"))
	switch {
	case !ok:
		http.NotFound(w, r)
	case ss.Status != payment.StatusOpen || ss.Approval:
		s.render(w, http.StatusConflict, ss, "approve", "")
	case card.Validate(s.now()) != nil:
		s.render(w, http.StatusUnprocessableEntity, ss, "card", "Check the card number, its expiry and the security code.")
	case card.Number == DeclinedCard:
		s.render(w, http.StatusPaymentRequired, ss, "card", "Your card was declined. Try another card.")
	case card.Number == ApprovalCard:
		ss.Approval = true
		s.render(w, http.StatusOK, ss, "approve", "")
	default:
		s.paid(w, r, ss)
	}
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.live(r.PathValue("id"))
	if !ok || !ss.Approval || ss.Status != payment.StatusOpen {
		http.NotFound(w, r)
		return
	}
	s.paid(w, r, ss)
}

// paid records the payment, tells the shop by webhook, and sends the customer back to it. The
// caller holds s.mu.
func (s *Server) paid(w http.ResponseWriter, r *http.Request, ss *session) {
	ss.Status, ss.Approval, ss.PaymentRef = payment.StatusPaid, false, newID("pay")
	s.emit(event{Type: "session.paid", Session: ss.SessionState})
	http.Redirect(w, r, ss.SuccessURL, http.StatusSeeOther)
}

// cardOf reads the page's card fields (never kept, never logged).
func cardOf(number, exp, cvc string) Card {
	c := Card{Number: number, CVC: cvc}
	if m, y, ok := strings.Cut(strings.TrimSpace(exp), "/"); ok {
		c.ExpMonth, _ = strconv.Atoi(strings.TrimSpace(m))
		if c.ExpYear, _ = strconv.Atoi(strings.TrimSpace(y)); c.ExpYear < 100 {
			c.ExpYear += 2000
		}
	}
	return c.Normalize()
}
