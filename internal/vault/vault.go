// Package vault seals secrets kept in the database (TOTP secrets and the like) with AES-256-GCM.
// Each sealed value names the key that sealed it, so keys can be rotated: new values use the
// newest key, old values open with the key they name until they are sealed again.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// Vault seals and opens values.
type Vault struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New returns a vault that seals with the first key and opens with any. Keys are 32 bytes.
func New(keys ...[]byte) (*Vault, error) {
	if len(keys) == 0 {
		return nil, errors.New("vault: no key")
	}
	v := &Vault{aeads: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, errors.New("vault: keys must be 32 bytes")
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(k)
		id := hex.EncodeToString(sum[:4])
		v.aeads[id] = aead
		if i == 0 {
			v.current = id
		}
	}
	return v, nil
}

// Seal encrypts plaintext bound to context (say, the user id), so a sealed value copied to
// another row does not open there.
func (v *Vault) Seal(plaintext, context string) string {
	aead := v.aeads[v.current]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	ct := aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return "v1:" + v.current + ":" + base64.RawStdEncoding.EncodeToString(ct)
}

// ErrCannotOpen is returned for a value that was altered, sealed for another context, or sealed
// with a key this vault does not hold.
var ErrCannotOpen = errors.New("vault: cannot open sealed value")

// Open decrypts a value made by Seal with the same context.
func (v *Vault) Open(sealed, context string) (string, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return "", ErrCannotOpen
	}
	aead, ok := v.aeads[parts[1]]
	if !ok {
		return "", ErrCannotOpen
	}
	raw, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize() {
		return "", ErrCannotOpen
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrCannotOpen
	}
	return string(pt), nil
}

// Current reports whether sealed was made with the newest key (else it should be sealed again).
func (v *Vault) Current(sealed string) bool { return strings.HasPrefix(sealed, "v1:"+v.current+":") }
