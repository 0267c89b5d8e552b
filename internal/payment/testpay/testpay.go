// Package testpay is a hosted payment provider for development, the demo and the tests: its own
// small HTTP service (run on a listener of its own, so its pages have an origin of their own),
// with the API a real provider has — payment sessions, their state, refunds with an idempotency
// key — a card page that checks cards as a gateway would, and webhooks signed with HMAC-SHA256,
// sent to the shop until it acknowledges them. The shop reaches it only through payment.Provider
// over HTTP (Client), exactly as it reaches Stripe. Cards: 4000 0000 0000 0002 is declined;
// 4000 0027 6000 3184 asks for an extra approval (as 3-D Secure does); other valid cards pay.
package testpay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Test cards with an outcome of their own.
const (
	DeclinedCard = "4000000000000002"
	ApprovalCard = "4000002760003184"
)

// SignatureHeader carries a webhook's signature: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" under the webhook secret>".
const SignatureHeader = "Testpay-Signature"

// Sign is the SignatureHeader value of body sent at t.
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// errSignature is any webhook signature that does not verify.
var errSignature = errors.New("testpay: bad signature")

// verify checks a SignatureHeader value against body: the right secret, and no older than
// tolerance at now.
func verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s ago", errSignature, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return errSignature
	}
	return nil
}

func newID(prefix string) string { return prefix + "_" + strings.ToLower(rand.Text()) }
