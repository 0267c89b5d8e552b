package sqlstore

import (
	"secureshop/internal/shop"
	"strings"
	"testing"
	"unicode"
)

func FuzzSearchTerms(f *testing.F) {
	for _, seed := range []string{"earl grey", `"tea*" OR x:*`, "'; DROP TABLE products; --", "NEAR(a b)", "a & !b | c:*", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, d := range []Dialect{SQLite, Postgres} {
			out := (&DB{dialect: d}).searchTerms(q)
			for _, r := range out {
				if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(`"* &:`, r)) {
					t.Fatalf("%s: query syntax %q leaked from %q into %q", d, r, q, out)
				}
			}
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(productCursor{Sort: shop.SortName, Key: "Tea", ID: "01a20643-8cbc-72c6-bccd-aca42899cb0e"}), shop.SortName)
	f.Add("eyJzIjoibmV3ZXN0In0", shop.SortNewest)
	f.Fuzz(func(t *testing.T, s, sort string) {
		c, ok := decodeCursor(s, sort)
		if ok && (c.Sort != sort || len(c.Key) > 300) {
			t.Fatalf("accepted cursor %+v for sort %q", c, sort)
		}
	})
}
