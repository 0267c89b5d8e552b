package shop

import (
	"strings"
	"testing"
	"unicode"
)

func FuzzValidators(f *testing.F) {
	for _, seed := range []string{"demo", "-bad", "a\x00b", "Ünïcödé text", "line\nbreak", strings.Repeat("x", 50)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidSlug(s) && (len(s) < 3 || len(s) > 40 || strings.ToLower(s) != s || strings.HasPrefix(s, "-")) {
			t.Fatalf("slug %q accepted", s)
		}
		if ValidText(s, 100, false) {
			for _, r := range s {
				if unicode.IsControl(r) {
					t.Fatalf("text with control character %q accepted", r)
				}
			}
		}
		_ = ValidID(s)
	})
}
