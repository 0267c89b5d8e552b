package web

import (
	"net/http"
	"strings"
	"testing"

	"secureshop/internal/shop"
)

// FuzzDecode feeds arbitrary bodies to the strict JSON decoder: it must never panic, and must
// answer every refusal with a kind the web layer maps to 400, 413, 415 or 422.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"email":"a@b.c","password":"x"}`, `{"payment":{"card_number":"4242","exp_month":1}}`,
		`{"email":1}`, `{} {}`, `[`, ``, `{"role":"admin"}`, "{\"email\":\"\x00\"}", `{"payment":null}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&loginRequest{}, &checkoutBody{}, &productBody{}} {
			r, _ := http.NewRequest("POST", "/api/v1/x", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decode(r, v)
			if err == nil {
				continue
			}
			status, _, _ := statusOf(err)
			switch status {
			case 400, 413, 415, 422:
			default:
				t.Fatalf("body %q: status %d (%v)", body, status, err)
			}
			if e := shop.AsError(err); e != nil && strings.Contains(e.Message, "json:") {
				t.Fatalf("decoder internals in the message: %q", e.Message)
			}
		}
	})
}

// FuzzSafeNext checks that a sign-in's return path never leaves the store.
func FuzzSafeNext(f *testing.F) {
	for _, seed := range []string{"/s/demo/checkout", "//evil.example", "/s/demo/../../x", "https://evil.example/s/demo/", "/s/demo/\\\\evil", "/s/demox/"} {
		f.Add(seed)
	}
	st := &shop.Store{Slug: "demo"}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next, st)
		if got != "" && (!strings.HasPrefix(got, "/s/demo/") || strings.Contains(got, "//") || strings.ContainsAny(got, "\\\r\n")) {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
	})
}
