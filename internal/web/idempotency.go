package web

import (
	"net/http"
	"net/url"

	"secureshop/internal/shop"
)

// idempotencyField is the hidden field of the page forms that move money or stock: each form
// rendered carries a new key, so that a form sent twice (a double click, a reload) acts once.
const idempotencyField = "idempotency_key"

// idempotency is what a request that moves money or stock says of itself: its Idempotency-Key
// (the header on the API, the form's hidden field on pages) and a keyed hash of the request it
// came with — method, path and body — so that the same key with another request is told apart.
func (s *Server) idempotency(r *http.Request, body []byte) shop.Idempotency {
	key := r.Header.Get("Idempotency-Key")
	if !isAPI(r) {
		key = r.PostFormValue(idempotencyField)
	}
	return shop.Idempotency{Key: key, Hash: s.keyHash(r.Method + " " + r.URL.Path + "\n" + string(body))}
}

// formBody is a page form's fields as they bear on what it asks, for idempotency: everything but
// its tokens.
func formBody(r *http.Request) []byte {
	_ = r.ParseForm()
	v := url.Values{}
	for k, vs := range r.PostForm {
		if k != "csrf" && k != idempotencyField {
			v[k] = vs
		}
	}
	return []byte(v.Encode())
}
