package web

import (
	"encoding/json"
	"strings"
	"testing"

	"secureshop/internal/access"
	"secureshop/internal/shop"
)

// Every API route is described in openapi.json, and the description names no route that is not served.
func TestOpenAPI_DescribesEveryAPIRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	s := &Server{}
	served := map[string]bool{}
	for _, rt := range s.routeTable() {
		if !rt.API {
			continue
		}
		key := strings.ToLower(rt.Method) + " " + rt.Path
		served[key] = true
		if _, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is served but not in openapi.json", rt.Method, rt.Path)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !served[m+" "+p] {
				t.Errorf("openapi.json describes %s %s, which is not served", m, p)
			}
		}
	}
}

// A route under a store that needs a signed-in user must say which permission, so that the
// permission check is never forgotten.
func TestRouteTable_StoreRoutesNameTheirPermission(t *testing.T) {
	s := &Server{}
	seen := map[string]bool{}
	for _, rt := range s.routeTable() {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		if rt.h == nil {
			t.Errorf("%s has no handler", key)
		}
		if rt.Auth && strings.Contains(rt.Path, "{store}") {
			t.Errorf("%s is store-scoped but checks only sign-in; give it a permission", key)
		}
		if rt.Perm != "" && !knownPermission(rt.Perm) {
			t.Errorf("%s names unknown permission %q", key, rt.Perm)
		}
	}
}

func knownPermission(p access.Permission) bool {
	for _, r := range []string{"admin", "clerk", "customer", "operator"} {
		if access.Can(shop.Role(r), p) {
			return true
		}
	}
	return false
}

// Every operation in openapi.json has an operationId of its own, and answers a client can act on
// (4xx) are described with it.
func TestOpenAPI_OperationsHaveIDsAndTheirErrors(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", m, p)
			} else if other, ok := ids[op.OperationID]; ok {
				t.Errorf("%s %s and %s share operationId %s", m, p, other, op.OperationID)
			}
			ids[op.OperationID] = m + " " + p
			if !strings.HasPrefix(p, "/api/") {
				continue
			}
			if _, ok := op.Responses["429"]; !ok {
				t.Errorf("%s %s does not describe 429 (every API route is rate-limited)", m, p)
			}
		}
	}
}
