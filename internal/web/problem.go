package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"secureshop/internal/shop"
)

// problem is an RFC 9457 problem details document.
type problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []shop.FieldError `json:"errors,omitempty"`
}

var kindStatus = map[shop.Kind]int{
	shop.KindInvalid:         http.StatusUnprocessableEntity,
	shop.KindBadRequest:      http.StatusBadRequest,
	shop.KindUnauthenticated: http.StatusUnauthorized,
	shop.KindForbidden:       http.StatusForbidden,
	shop.KindNotFound:        http.StatusNotFound,
	shop.KindConflict:        http.StatusConflict,
	shop.KindRateLimited:     http.StatusTooManyRequests,
	shop.KindUnavailable:     http.StatusServiceUnavailable,
	shop.KindPaymentRequired: http.StatusPaymentRequired,
	shop.KindInternal:        http.StatusInternalServerError,
}

// Errors the web layer itself raises.
var (
	errTooLarge         = &shop.Error{Kind: shop.KindBadRequest, Code: shop.CodePayloadTooLarge, Message: "The request body is too large."}
	errMediaType        = &shop.Error{Kind: shop.KindBadRequest, Code: shop.CodeUnsupportedMediaType, Message: "The body's Content-Type is not one this endpoint takes (application/json; text/csv for imports)."}
	errMethodNotAllowed = &shop.Error{Kind: shop.KindBadRequest, Code: shop.CodeMethodNotAllowed, Message: "This method is not allowed here."}
)

// statusOf maps an error to its HTTP status and problem type slug.
func statusOf(err error) (int, string, *shop.Error) {
	e := shop.AsError(err)
	if e == nil {
		return http.StatusInternalServerError, "internal", nil
	}
	switch e {
	case errTooLarge:
		return http.StatusRequestEntityTooLarge, e.Code, e
	case errMediaType:
		return http.StatusUnsupportedMediaType, e.Code, e
	case errMethodNotAllowed:
		return http.StatusMethodNotAllowed, e.Code, e
	}
	slug := string(e.Kind)
	if e.Code != "" {
		slug = e.Code
	}
	st, ok := kindStatus[e.Kind]
	if !ok {
		st = http.StatusInternalServerError
	}
	return st, slug, e
}

// fail answers a request with err: problem+json for the API, an error page for the browser.
// Internal errors are logged with the request id and shown only as that id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errTooLarge
	}
	status, slug, e := statusOf(err)
	info := infoOf(r)
	detail := ""
	if status >= 500 || e == nil {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", info.id, "err", err)
		detail = "Something went wrong on our side. Quote request id " + info.id + " if you contact us."
		if e != nil && e.Kind == shop.KindUnavailable {
			detail = e.Message
		}
	} else {
		detail = e.Message
	}
	p := problem{Type: "/problems/" + slug, Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: "urn:secureshop:request:" + info.id, RequestID: info.id}
	if e != nil {
		p.Errors = e.Fields
		if e.RetryAfter > 0 { // a limit, a full disk, a request with its key still at work
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
	}
	if status == http.StatusUnauthorized && isAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="secureshop"`)
	}
	if isAPI(r) || !acceptsHTML(r) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(p)
		return
	}
	s.renderStatus(w, r, status, "error", pageData{Title: p.Title, Problem: &p})
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func acceptsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}
