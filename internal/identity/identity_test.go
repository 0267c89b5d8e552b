package identity

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// cheap keeps the tests fast; the production parameters are checked separately.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestHasher_VerifiesOnlyTheRightPassword(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 2)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", enc)
	}
	if ok, _, _ := h.Verify(ctx, "correct horse battery staple", enc); !ok {
		t.Fatal("right password refused")
	}
	if ok, _, _ := h.Verify(ctx, "correct horse battery stapLe", enc); ok {
		t.Fatal("wrong password accepted")
	}
	// An unknown user (no hash) never matches, whatever the password.
	if ok, _, err := h.Verify(ctx, "", ""); ok || err != nil {
		t.Fatalf("unknown user: ok=%v err=%v", ok, err)
	}
	enc2, _ := h.Hash(ctx, "correct horse battery staple")
	if enc2 == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestHasher_UpgradesWeakerParameters(t *testing.T) {
	ctx := context.Background()
	old, _ := NewHasher(cheap, 1).Hash(ctx, "pw-pw-pw-pw-pw")
	h := NewHasher(Params{Memory: 128, Time: 2, Threads: 1}, 1)
	ok, rehash, err := h.Verify(ctx, "pw-pw-pw-pw-pw", old)
	if !ok || !rehash || err != nil {
		t.Fatalf("ok=%v rehash=%v err=%v; want a match that asks for a rehash", ok, rehash, err)
	}
	if _, rehash, _ := h.Verify(ctx, "wrong", old); rehash {
		t.Fatal("a failed check must not ask for a rehash")
	}
}

func TestHasher_RefusesMalformedHashes(t *testing.T) {
	h := NewHasher(cheap, 1)
	for _, enc := range []string{"plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5"} {
		if ok, _, err := h.Verify(context.Background(), "x", enc); ok || err == nil {
			t.Errorf("%q: ok=%v err=%v", enc, ok, err)
		}
	}
}

func TestDefaultParams_MeetOWASP(t *testing.T) {
	if DefaultParams.Memory < 19*1024 || DefaultParams.Time < 2 || DefaultParams.Threads < 1 {
		t.Fatalf("DefaultParams %+v below OWASP's Argon2id minimum", DefaultParams)
	}
}

func TestSigner_RefusesBadTokens(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt")
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign("u1", "s1", "admin", "sid1", now, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok, now.Add(time.Minute))
	if err != nil || c.SessionID != "sid1" || c.Subject != "u1" {
		t.Fatalf("good token: %+v %v", c, err)
	}
	other, _ := NewSigner(DeriveKey([]byte("another secret another secret 32"), "jwt"))
	foreign, _ := other.Sign("u1", "s1", "admin", "sid1", now, 15*time.Minute)
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"role":"admin"`, `"role":"operator"`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	cases := map[string]struct {
		token string
		at    time.Time
	}{
		"expired":        {tok, now.Add(16 * time.Minute)},
		"not yet valid":  {tok, now.Add(-time.Hour)},
		"tampered":       {tampered, now},
		"alg none":       {none, now},
		"foreign key":    {foreign, now},
		"garbage":        {"abc.def.ghi", now},
		"empty":          {"", now},
		"signature gone": {parts[0] + "." + parts[1] + ".", now},
	}
	for name, tc := range cases {
		if _, err := s.Verify(tc.token, tc.at); err == nil {
			t.Errorf("%s: token accepted", name)
		}
	}
}

func TestSigner_KeyRotationKeepsOldTokensValid(t *testing.T) {
	now := time.Now()
	oldKey := DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt")
	old, _ := NewSigner(oldKey)
	tok, _ := old.Sign("u", "", "operator", "sid", now, time.Minute)
	rotated, _ := NewSigner(DeriveKey([]byte("fedcba9876543210fedcba9876543210"), "jwt"), oldKey)
	if _, err := rotated.Verify(tok, now); err != nil {
		t.Fatalf("token of the previous key refused after rotation: %v", err)
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestSigner_RemembersOnlyWhatItVerified(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s, _ := NewSigner(DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt"))
	tok, _ := s.Sign("u1", "s1", "customer", "sid1", now, 15*time.Minute)
	first, err := s.Verify(tok, now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Verify(tok, now.Add(14*time.Minute))
	if err != nil || again.SessionID != first.SessionID || again.Subject != first.Subject || !again.ExpiresAt.Equal(first.ExpiresAt.Time) {
		t.Fatalf("remembered token: %+v %v, first %+v", again, err, first)
	}
	if _, err := s.Verify(tok, now.Add(15*time.Minute)); err == nil {
		t.Fatal("remembered token accepted at its expiry")
	}
	// What one signer verified means nothing to another with other keys.
	other, _ := NewSigner(DeriveKey([]byte("another secret another secret 32"), "jwt"))
	if _, err := other.Verify(tok, now); err == nil {
		t.Fatal("a token verified by one signer accepted by another")
	}
	// A refused token is not remembered.
	parts := strings.Split(tok, ".")
	bad := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for range 2 {
		if _, err := s.Verify(bad, now); err == nil {
			t.Fatal("token with a wrong signature accepted")
		}
	}
	if len(s.seen.m) != 1 {
		t.Fatalf("%d tokens remembered, want the one verified", len(s.seen.m))
	}
	// Bounded: many valid tokens never grow it past its limit, and it keeps working.
	var last string
	for i := range maxVerified + 10 {
		last, _ = s.Sign("u1", "s1", "customer", fmt.Sprint("sid", i), now, 15*time.Minute)
		if _, err := s.Verify(last, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.seen.m); n > maxVerified {
		t.Fatalf("%d tokens remembered, limit %d", n, maxVerified)
	}
	if c, err := s.Verify(last, now); err != nil || c.SessionID != fmt.Sprint("sid", maxVerified+9) {
		t.Fatalf("after the limit: %+v %v", c, err)
	}
}
