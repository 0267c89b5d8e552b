package app_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/app"
	"secureshop/internal/testenv"
)

// A card number and security code no test uses elsewhere, in the ways people type them.
const (
	sweepCard    = "4000056655665556"
	sweepSpaced  = "4000 0566 5566 5556"
	sweepCVC     = "8317"
	sweepExpires = "11/31"
)

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoRoute_AcceptsStoresLogsOrMailsACard posts a card number and security code to every route
// the shop serves — as JSON fields under every name a card goes by, as form fields with a valid
// CSRF token, in the query string — as a visitor, a customer and an admin, then searches every
// text column of every table, the log (at debug level) and every mail for them: the shop never
// takes a card, so none may be anywhere. The customers' pages hold no card field either.
func TestNoRoute_AcceptsStoresLogsOrMailsACard(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dbURL string) {
		logs := &syncBuffer{}
		s := startShopLogged(t, dbURL, func(*app.Config) {}, logs)
		s.store("cards")
		product := s.newProduct("cards", "CARD-1", 500, 100)
		cust := s.login("cards", "customer@example.com").AccessToken
		admin := s.login("cards", "admin@example.com").AccessToken
		var order orderJSON
		s.buy("cards", cust, product.ID, 1).json(t, &order)

		card := map[string]any{"card_number": sweepCard, "number": sweepSpaced, "card": sweepCard, "pan": sweepCard, "cvc": sweepCVC,
			"cvv": sweepCVC, "exp": sweepExpires, "exp_month": 11, "exp_year": 2031}
		body := map[string]any{"payment": card, "card": card, "source": card}
		for k, v := range card {
			body[k] = v
		}
		form := url.Values{"card_number": {sweepCard}, "number": {sweepSpaced}, "cvc": {sweepCVC}, "cvv": {sweepCVC}, "exp": {sweepExpires},
			"exp_month": {"11"}, "exp_year": {"2031"}, "quantity": {"1"}, "product_id": {product.ID}, "email": {"customer@example.com"},
			"idempotency_key": {testenv.RandomName("k")}}
		query := "?card_number=" + sweepCard + "&cvc=" + sweepCVC
		visitor := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
		customer := s.browserLogin("/s/cards/login", "customer@example.com")
		staff := s.browserLogin("/s/cards/login", "admin@example.com")
		fill := func(path string) string {
			for k, v := range map[string]string{"{$}": "", "{store}": "cards", "{slug}": "cards", "{product_id}": product.ID, "{file}": "app.css",
				"{provider}": "testpay"} {
				path = strings.ReplaceAll(path, k, v)
			}
			id := order.ID
			if strings.Contains(path, "/products/{id}") {
				id = product.ID
			}
			return strings.ReplaceAll(path, "{id}", id)
		}
		routes := 0
		for _, rt := range s.app.Web.Routes() {
			if endsSession[rt.Method+" "+rt.Path] {
				continue
			}
			path := fill(rt.Path)
			routes++
			if rt.API {
				for _, tok := range []string{"", cust, admin} {
					var b any
					if rt.Method != "GET" && rt.Method != "DELETE" {
						b = body
					}
					s.call(rt.Method, path+query, tok, b, "Idempotency-Key", testenv.RandomName("k"), "X-Card-Number", sweepCard)
				}
				continue
			}
			for _, who := range []*browser{visitor, customer, staff} {
				if rt.Method == "GET" {
					who.do("GET", path+query, nil)
					continue
				}
				_, page := who.do("GET", "/s/cards/cart", nil)
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				f.Set("csrf", regexpValue(page, "csrf"))
				who.do(rt.Method, path+query, f)
			}
		}
		if routes < 100 {
			t.Fatalf("only %d routes swept", routes)
		}
		// Mail goes out after the answers: wait for the order's confirmation, and a moment more.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, ok := s.findMail("customer@example.com", "order confirmation"); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no order confirmation mail")
			}
		}
		time.Sleep(200 * time.Millisecond)

		found := func(text string) []string {
			var out []string
			for _, needle := range []string{sweepCard, sweepSpaced, `"cvc":"` + sweepCVC, "cvc=" + sweepCVC, "cvc: " + sweepCVC} {
				if strings.Contains(text, needle) {
					out = append(out, needle)
				}
			}
			return out
		}
		if got := found(logs.String()); len(got) > 0 {
			t.Errorf("the log holds %v", got)
		}
		if !strings.Contains(logs.String(), "level=") {
			t.Fatal("nothing was logged: the search of the log proves nothing")
		}
		mails := 0
		_ = filepath.WalkDir(s.app.Cfg.MailDir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p) // #nosec G304 -- the test's own mail directory
			mails++
			if got := found(string(b)); len(got) > 0 {
				t.Errorf("mail %s holds %v", filepath.Base(p), got)
			}
			return nil
		})
		if mails == 0 {
			t.Fatal("no mail was written: the search of the mail proves nothing")
		}
		raw := testenv.RawDB(t, dbURL)
		cells := 0
		for _, table := range tables(t, raw, dbURL) {
			rows, err := raw.Query(`SELECT * FROM ` + table) // #nosec G202 -- table names read from the database's own catalogue
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				for i, v := range vals {
					cells++
					// (The bare code is four digits: a timestamp or an id may hold them by chance.)
					if got := found(v.String); len(got) > 0 {
						t.Errorf("%s.%s holds %v: %q", table, cols[i], got, v.String)
					}
				}
			}
			_ = rows.Close()
		}
		if cells < 500 {
			t.Fatalf("only %d cells searched", cells)
		}
		// No page of the shop has a field for a card.
		for _, path := range []string{"/s/cards/checkout", "/s/cards/orders/" + order.ID, "/s/cards/cart"} {
			if _, page := customer.do("GET", path, nil); strings.Contains(page, "cc-number") || strings.Contains(page, "cc-csc") ||
				strings.Contains(page, `name="card`) || strings.Contains(page, `name="cvc"`) {
				t.Errorf("%s asks for a card", path)
			}
		}
	})
}

// tables lists the tables of the database (the shop's and the migration tool's).
func tables(t *testing.T, raw *sql.DB, dbURL string) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if !strings.HasPrefix(dbURL, "sqlite:") {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`
	}
	rows, err := raw.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%q", n))
	}
	if len(out) < 10 {
		t.Fatalf("only %d tables", len(out))
	}
	return out
}
