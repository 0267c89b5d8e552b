package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"secureshop/internal/shop"
)

const (
	tokenIssuer   = "secureshop"
	tokenAudience = "secureshop-api"
)

// Signer issues and checks API access tokens: HS256 JWTs with a key id, the algorithm pinned so
// that "alg: none" or an RSA/HMAC confusion is refused before any key is looked at.
type Signer struct {
	current string            // kid of the signing key
	keys    map[string][]byte // kid → key; older keys still verify until they are dropped
	seen    verified
}

// verified remembers the tokens a Signer has verified, by their SHA-256, with the claims and the
// time window in which they are valid. A client sends the same access token with every request
// for its lifetime, and parsing and checking it again — JSON, base64, the HMAC — was about half
// the CPU an authenticated API request spends outside its handler. Only a token that passed the
// whole check gets in, so forged tokens cannot fill it; a token seen outside its window goes
// through the whole check again (and fails it). Its keys never change, so neither does a verdict.
// It is bounded: when full, it drops what has expired, and everything if that is not enough.
type verified struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims      Claims
	from, until time.Time // valid while from <= now < until, as the full check has it
}

const maxVerified = 4096

func (v *verified) get(sum [sha256.Size]byte, now time.Time) (Claims, bool) {
	v.mu.RLock()
	t, ok := v.m[sum]
	v.mu.RUnlock()
	if !ok || now.Before(t.from) || !now.Before(t.until) {
		return Claims{}, false
	}
	return t.claims, true
}

func (v *verified) put(sum [sha256.Size]byte, c Claims, now time.Time) {
	if c.ExpiresAt == nil { // required by the check; never cache a token without an end
		return
	}
	t := verifiedToken{claims: c, until: c.ExpiresAt.Time}
	for _, d := range []*jwt.NumericDate{c.IssuedAt, c.NotBefore} {
		if d != nil && d.After(t.from) {
			t.from = d.Time
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerified {
		for k, e := range v.m {
			if !now.Before(e.until) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxVerified {
			clear(v.m)
		}
	}
	if v.m == nil {
		v.m = make(map[[sha256.Size]byte]verifiedToken)
	}
	v.m[sum] = t
}

// DeriveKey derives a purpose-bound key from the shop's master secret, so that one secret file can
// feed JWT signing, field encryption and the rest without the keys ever being the same.
func DeriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("secureshop/" + purpose))
	return m.Sum(nil)
}

// NewSigner returns a Signer that signs with the first key and verifies with any of them.
func NewSigner(keys ...[]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("jwt: no signing key")
	}
	s := &Signer{keys: map[string][]byte{}}
	for i, k := range keys {
		if len(k) < 32 {
			return nil, errors.New("jwt: signing keys must be at least 32 bytes")
		}
		sum := sha256.Sum256(k)
		kid := hex.EncodeToString(sum[:6])
		s.keys[kid] = k
		if i == 0 {
			s.current = kid
		}
	}
	return s, nil
}

// Claims are what an access token says. The role is informative only: every request reads the
// role from the server-side session the token is bound to.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Store     string `json:"store,omitempty"`
	Role      string `json:"role"`
}

// Sign issues an access token for session sid of user, valid for ttl from now.
func (s *Signer) Sign(user shop.UserID, store shop.StoreID, role shop.Role, sid string, now time.Time, ttl time.Duration) (string, error) {
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: string(user), Audience: jwt.ClaimStrings{tokenAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		SessionID: sid, Store: string(store), Role: string(role),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = s.current
	return t.SignedString(s.keys[s.current])
}

// Verify checks an access token's algorithm, key, signature, issuer, audience and lifetime at now.
// A token it verified before is answered from memory while now is inside the token's lifetime.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	sum := sha256.Sum256([]byte(token))
	if c, ok := s.seen.get(sum, now); ok {
		return c, nil
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := s.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id")
		}
		return k, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return Claims{}, err
	}
	if c.SessionID == "" || c.Subject == "" {
		return Claims{}, errors.New("token without session")
	}
	s.seen.put(sum, c, now)
	return c, nil
}

// newToken returns a random opaque token (256 bits, URL-safe) and the hash under which it is kept.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how opaque tokens are stored and looked up: never in the clear.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
