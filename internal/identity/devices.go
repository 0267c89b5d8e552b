package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/shop"
)

// Device tokens follow OWASP's "device cookie" pattern against account lockout used as a weapon.
// A browser or API client that signs in to an account receives a token bound to that account (an
// HMAC of the account, a random nonce and the time of issue, under a key derived from the shop's
// secret; nothing is stored). Attempts that present a valid token for the account they sign in to
// come from a known device: they are limited and locked per device, so ten wrong passwords from
// elsewhere — which lock the account against every unknown source — do not lock its owner out.
// Unknown sources are limited per address and per account, and locked with the account, as before.
const (
	deviceTokenLifetime = 90 * 24 * time.Hour
	deviceTokenPrefix   = "d1."
	// MaxDeviceTokens is how many device tokens a browser keeps (one per account it signs in to).
	MaxDeviceTokens = 5
)

// source is where an attempt on an account comes from, as the limits and locks see it.
type source struct {
	account string // the account's key (acctKey)
	device  string // the known device's nonce; "" for an unknown source
}

// key is what the per-account limit counts and the lock locks: the device, or the account.
func (src source) key() string {
	if src.device != "" {
		return "device:" + src.device
	}
	return src.account
}

// sourceOf tells a known device from an unknown source: the first of meta's device tokens that is
// valid for the account signs the attempt in as that device.
func (s *Service) sourceOf(store shop.StoreID, email string, meta Meta) source {
	src := source{account: acctKey(store, email)}
	for _, t := range meta.Devices[:min(len(meta.Devices), MaxDeviceTokens)] { // a cookie may hold more; none is ours beyond those
		if nonce, ok := s.verifyDevice(src.account, t); ok {
			src.device = nonce
			break
		}
	}
	return src
}

// deviceToken issues a device token for the account.
func (s *Service) deviceToken(account string) string {
	payload := make([]byte, 24)
	_, _ = rand.Read(payload[:16])                                   // crypto/rand.Read never fails
	binary.BigEndian.PutUint64(payload[16:], uint64(s.now().Unix())) // #nosec G115 -- a Unix time after 1970
	return deviceTokenPrefix + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.deviceMAC(account, payload))
}

func (s *Service) deviceMAC(account string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte(account))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// verifyDevice checks a device token against the account and its age, and returns its nonce.
func (s *Service) verifyDevice(account, token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, deviceTokenPrefix)
	if !ok || len(token) > 100 || len(s.deviceKey) == 0 {
		return "", false
	}
	p, m, ok := strings.Cut(rest, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.deviceMAC(account, payload)) {
		return "", false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0) // #nosec G115 -- checked by the MAC: a time we wrote
	if age := s.now().Sub(issued); age < -time.Minute || age > deviceTokenLifetime {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(payload[:16]), true
}

// deviceLocked refuses a known device that failed too often itself.
func (s *Service) deviceLocked(ctx context.Context, store shop.StoreID, src source, meta Meta) error {
	until, ok, err := s.limits.Blocked(ctx, "lock:"+src.key(), s.now())
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		return nil
	}
	s.recordRefusal(ctx, store, src.key(), audit.Record{Actor: shop.Principal{IP: meta.IP}, Action: "auth.locked-attempt",
		TargetType: "account", Detail: map[string]string{"account": strings.TrimPrefix(src.account, "acct:"), "source": "known device"}})
	return errThrottled(until.Sub(s.now()))
}

// deviceFailed counts a failure of a known device; the LockAfter-th in LockFor locks that device
// alone, for LockFor, and tells the account's owner.
func (s *Service) deviceFailed(ctx context.Context, store shop.StoreID, src source, email string, u shop.User, meta Meta) {
	ok, _, err := s.limits.Allow(ctx, "fail:"+src.key(), s.cfg.LockAfter-1, s.cfg.LockFor, s.now())
	if err != nil || ok {
		return
	}
	until := s.now().Add(s.cfg.LockFor)
	if err := s.limits.Block(ctx, "lock:"+src.key(), until); err != nil {
		s.log.ErrorContext(ctx, "locking a device failed", "err", err)
		return
	}
	_ = s.limits.Forget(ctx, "fail:"+src.key())
	s.record(ctx, store, audit.Record{Actor: shop.Principal{IP: meta.IP}, Action: "auth.lockout", TargetType: "user", TargetID: string(u.ID),
		Detail: map[string]string{"account": shop.NormalizeEmail(email), "source": "known device", "failures": strconv.Itoa(s.cfg.LockAfter),
			"until": until.UTC().Format(time.RFC3339)}})
	if u.ID != "" {
		s.send(ctx, u.Email, "Too many failed sign-ins from one of your devices",
			"There were "+strconv.Itoa(s.cfg.LockAfter)+" failed attempts to sign in to your account from a browser or app you used before, "+
				"so it cannot sign in until "+until.UTC().Format("15:04 on 2 Jan 2006")+" UTC. Your other devices are not affected.\n\n"+
				"If that was not you, change your password.\n")
	}
}
