package vault

import (
	"bytes"
	"strings"
	"testing"
)

func TestVault(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	v, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Seal("JBSWY3DPEHPK3PXP", "user-1")
	if strings.Contains(s, "JBSWY3DPEHPK3PXP") || s == v.Seal("JBSWY3DPEHPK3PXP", "user-1") {
		t.Fatal("sealed value shows the secret or is deterministic")
	}
	if got, err := v.Open(s, "user-1"); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := v.Open(s, "user-2"); err == nil {
		t.Fatal("opened for another user")
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := v.Open(tampered, "user-1"); err == nil {
		t.Fatal("tampered value opened")
	}
	rotated, _ := New(k2, k1)
	if got, err := rotated.Open(s, "user-1"); err != nil || got != "JBSWY3DPEHPK3PXP" || rotated.Current(s) {
		t.Fatalf("after rotation: %q %v current=%v", got, err, rotated.Current(s))
	}
	other, _ := New(k2)
	if _, err := other.Open(s, "user-1"); err == nil {
		t.Fatal("opened without the key")
	}
}
