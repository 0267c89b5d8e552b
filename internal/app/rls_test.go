package app_test

import (
	"context"
	"strings"
	"testing"
)

// TestRowLevelSecurity_TheShopRunsAsAnUnprivilegedRole runs the main flows with the shop connected
// as a role without BYPASSRLS that owns no table, so every query meets the row-level policies.
func TestRowLevelSecurity_TheShopRunsAsAnUnprivilegedRole(t *testing.T) {
	s, _, _ := startShopAsAppRole(t)
	ctx := context.Background()
	s.store("rls")
	s.store("rls-other")
	p := s.newProduct("rls", "R-1", 700, 5)
	cust := s.login("rls", "customer@example.com").AccessToken
	a := s.buy("rls", cust, p.ID, 2)
	var o orderJSON
	a.json(t, &o)
	admin := s.login("rls", "admin@example.com").AccessToken
	expectStatus(t, "refund", s.call("POST", "/api/v1/stores/rls/orders/"+o.ID+"/refunds", admin, `{"amount":{"amount":700,"currency":"GBP"},"reason":"test"}`), 201)
	expectStatus(t, "report", s.call("GET", "/api/v1/stores/rls/reports/sales", admin, nil), 200)
	expectStatus(t, "register", s.call("POST", "/api/v1/stores/rls/auth/register", "", map[string]string{"email": "n@example.com", "password": "quiet violin harbour 88"}), 201)
	expectStatus(t, "other store's order", s.call("GET", "/api/v1/stores/rls-other/orders/"+o.ID, s.login("rls-other", "admin@example.com").AccessToken, nil), 404)
	a = s.call("GET", "/api/v1/stores/rls/audit-events?limit=100", admin, nil)
	if !strings.Contains(string(a.body), "order.refund") {
		t.Fatalf("audit log: %s", a.body)
	}
	chains, problems, err := s.app.Audit.Verify(ctx, "")
	if err != nil || len(problems) != 0 || chains < 3 {
		t.Fatalf("audit verify as the app role: %d chains, %v, %v", chains, problems, err)
	}
	s.operator("ops@example.com")
	if op := s.login("", "ops@example.com"); op.AccessToken == "" {
		t.Fatal("operator sign-in")
	}
}
