package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id cost parameters. Memory is in KiB.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultParams are OWASP's recommended minimum for Argon2id: 19 MiB, two passes, one lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// Hasher hashes and checks passwords with Argon2id. Hashing is deliberately slow and takes ~19 MiB
// per call, so at most a fixed number run at once: a flood of sign-in attempts queues here instead
// of starving the rest of the shop of CPU or exhausting memory.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string // a hash of a random password, checked for unknown users so they cost the same time
}

// NewHasher returns a Hasher with params and at most workers concurrent hashes (0: one fewer than
// the CPUs, at least one).
func NewHasher(params Params, workers int) *Hasher {
	if workers <= 0 {
		// One core is always left to the rest of the shop: a flood of sign-ins (each hash is tens
		// of milliseconds of one core) then slows sign-in, not the catalogue or checkout.
		workers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	h := &Hasher{params: params, slots: make(chan struct{}, workers)}
	h.dummy = h.hash([]byte(rand.Text()))
	return h
}

// Hash returns the PHC string of password, in its NFKC form.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash([]byte(NormalizePassword(password))), nil
}

func (h *Hasher) hash(password []byte) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	key := argon2.IDKey(password, salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory, h.params.Time,
		h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches the PHC string encoded, and whether the hash was made
// with weaker parameters than the current ones and should be replaced. An empty encoded hash (an
// unknown user) is checked against a dummy hash, so it costs the same time and never matches.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	unknown := encoded == ""
	if unknown {
		encoded = h.dummy
	}
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(NormalizePassword(password)), salt, p.Time, p.Memory, p.Threads, uint32(len(key))) // #nosec G115 -- key length comes from our own hash, 32 bytes
	h.release()
	match := subtle.ConstantTimeCompare(got, key) == 1 && !unknown
	weaker := p.Memory < h.params.Memory || p.Time < h.params.Time || p.Threads < h.params.Threads
	return match, match && weaker, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

var errBadHash = errors.New("password hash: not an argon2id PHC string")

func decodePHC(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, errBadHash
	}
	// Refuse absurd costs from a corrupted row rather than allocate gigabytes.
	if p.Memory == 0 || p.Memory > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return Params{}, nil, nil, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
