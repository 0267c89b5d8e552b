package identity

import (
	"context"
	"testing"
	"time"

	"secureshop/internal/kv"
	"secureshop/internal/shop"
)

// BenchmarkJWTVerify is the whole check of a token the signer has not seen: parse, HMAC, claims.
func BenchmarkJWTVerify(b *testing.B) {
	s, _ := NewSigner(DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt"))
	now := time.Now()
	tok, _ := s.Sign("u", "s", "customer", "sid", now, 15*time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		clear(s.seen.m)
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJWTVerifyRepeated is a token the signer verified before, as a client sends it with
// every request.
func BenchmarkJWTVerifyRepeated(b *testing.B) {
	s, _ := NewSigner(DeriveKey([]byte("0123456789abcdef0123456789abcdef"), "jwt"))
	now := time.Now()
	tok, _ := s.Sign("u", "s", "customer", "sid", now, 15*time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionLookup(b *testing.B) {
	ctx := context.Background()
	m := kv.NewMemorySessions()
	now := time.Now()
	for i := range 10000 {
		_ = m.Create(ctx, shop.Session{ID: string(rune(i)) + "x", UserID: "u", TokenHash: HashToken(string(rune(i))), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	h := HashToken(string(rune(5000)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.ByToken(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
}
