package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"secureshop/internal/shop"
)

// decode reads a JSON body into v strictly: the content type must be JSON, unknown fields (such as
// a role, price or id the server owns) are refused with the field named, and so is trailing data.
func decode(r *http.Request, v any) error {
	_, err := decodeRaw(r, v)
	return err
}

// decodeRaw is decode that also returns the body as it came, for the hash that tells a retry with
// the same Idempotency-Key from another request. The whole body is read before anything else is
// done with the request (and before any transaction), bounded by the server's body limit.
func decodeRaw(r *http.Request, v any) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errMediaType
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, shop.Errorf(shop.KindBadRequest, "The body must hold exactly one JSON object.")
	}
	return raw, nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return shop.Errorf(shop.KindBadRequest, "The body is not valid JSON.")
	case errors.Is(err, io.EOF):
		return shop.Errorf(shop.KindBadRequest, "The body is empty; a JSON object is expected.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return shop.Errorf(shop.KindBadRequest, "The body must be a JSON object.")
		}
		return shop.Invalid(shop.FieldError{Field: field, Message: "must be of type " + typ.Type.String()})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return shop.Invalid(shop.FieldError{Field: field, Message: "is not accepted here"})
	}
	return shop.Errorf(shop.KindBadRequest, "The body could not be read.")
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	return writeEncoded(w, status, buf.Bytes())
}

// writeEncoded answers with body, JSON already encoded by encoding/json.
func writeEncoded(w http.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body) // #nosec G705 -- JSON from encoding/json (which escapes <, > and &), sent as application/json with nosniff
	return err
}

// buffers holds response buffers for reuse; one answer is encoded whole, then written at once.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // keep the pool from holding a rare huge export
	}
	b.Reset()
	buffers.Put(b)
}

// pageParams reads ?limit= (1..100, default 20) and ?cursor=.
func pageParams(r *http.Request) (int, string, error) {
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return 0, "", shop.Invalid(shop.FieldError{Field: "limit", Message: "must be a whole number from 1 to 100"})
		}
		limit = n
	}
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) > 2048 { // a catalogue cursor carries a product name: up to 200 characters of UTF-8
		return 0, "", shop.Invalid(shop.FieldError{Field: "cursor", Message: "is not a cursor this API gave out"})
	}
	return limit, cursor, nil
}

// list is the shape of every paginated answer.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	l := list[T]{Items: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}
