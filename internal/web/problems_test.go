package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every problem type the shop can answer with — each kind of error, and each code any package
// gives an error — resolves to a page that explains it; an unknown one is not found.
func TestProblemTypes_EachResolvesToItsPage(t *testing.T) {
	slugs := map[string]bool{}
	for k := range kindStatus {
		slugs[string(k)] = true
	}
	for _, e := range []error{errTooLarge, errMediaType, errMethodNotAllowed} {
		_, slug, _ := statusOf(e)
		slugs[slug] = true
	}
	// Every code is a constant of package shop, Code…, and no error is given a code written out
	// anywhere else.
	f, err := parser.ParseFile(token.NewFileSet(), "../shop/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				if lit, ok := v.Values[0].(*ast.BasicLit); ok && strings.HasPrefix(v.Names[0].Name, "Code") {
					slugs[strings.Trim(lit.Value, `"`)] = true
				}
			}
		}
	}
	written := regexp.MustCompile(`\bCode\s*:\s*"`)
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path) // #nosec G304 -- the repository's own sources
		if written.Match(b) {
			t.Errorf("%s gives an error a code of its own: use a shop.Code… constant", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(slugs) < 20 {
		t.Fatalf("found only %d problem types: %v", len(slugs), slugs)
	}
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{pages: pages, log: slog.New(slog.DiscardHandler)}
	get := func(slug string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/problems/"+slug, nil)
		r.SetPathValue("slug", slug)
		w := httptest.NewRecorder()
		if err := s.pageProblem(w, r); err != nil {
			w.Code = statusOfCode(err)
		}
		return w
	}
	for slug := range slugs {
		doc, ok := problemDocs[slug]
		if !ok {
			t.Errorf("problem type %q has no page", slug)
			continue
		}
		if w := get(slug); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), doc.Title) {
			t.Errorf("/problems/%s: %d", slug, w.Code)
		}
	}
	if w := get("made-up"); w.Code != http.StatusNotFound {
		t.Errorf("/problems/made-up: %d, want 404", w.Code)
	}
}

func statusOfCode(err error) int { st, _, _ := statusOf(err); return st }
