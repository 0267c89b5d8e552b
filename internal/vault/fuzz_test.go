package vault

import (
	"bytes"
	"testing"
)

func FuzzOpen(f *testing.F) {
	v, _ := New(bytes.Repeat([]byte{7}, 32))
	good := v.Seal("secret", "ctx")
	f.Add(good, "ctx")
	f.Add("v1:deadbeef:AAAA", "ctx")
	f.Add("v1::", "")
	f.Fuzz(func(t *testing.T, sealed, context string) {
		pt, err := v.Open(sealed, context)
		if err == nil && (pt != "secret" || context != "ctx") {
			t.Fatalf("opened a forged value %q", sealed)
		}
	})
}
