package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The served OpenAPI description is the contract: every answer an API test receives is checked
// against it (status, content type, body schema). An answer the description does not allow
// fails the test that received it.
var contract struct {
	once   sync.Once
	router routers.Router
	err    error
}

func contractRouter() (routers.Router, error) {
	contract.once.Do(func() {
		b, err := os.ReadFile("../web/openapi.json")
		if err != nil {
			contract.err = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(b)
		if err != nil {
			contract.err = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = err
			return
		}
		// The description's server is "/": wherever it is served from. The tests' shops listen on
		// ports of their own, so routes are matched by path alone.
		doc.Servers = nil
		contract.router, contract.err = legacy.NewRouter(doc)
	})
	return contract.router, contract.err
}

// checkContract validates one API answer against the description.
func checkContract(t *testing.T, req *http.Request, a answer) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return
	}
	router, err := contractRouter()
	if err != nil {
		t.Fatalf("the OpenAPI description: %v", err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Probes of what the API does not offer (a method it refuses, a CORS preflight) are no
		// operation of the description; anything else must be one.
		if a.status != http.StatusMethodNotAllowed && req.Method != http.MethodOptions {
			t.Errorf("%s %s → %d: not in the OpenAPI description: %v", req.Method, req.URL.Path, a.status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: a.header,
		Body: io.NopCloser(bytes.NewReader(a.body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI description: %v\n%s", req.Method, req.URL.Path, a.status, err, a.body)
	}
}
