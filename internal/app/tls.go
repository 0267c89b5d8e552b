package app

import (
	"crypto/tls"
	"encoding/binary"
	"time"
)

// ticketLifetime bounds how long a TLS session may be resumed after the full handshake that made
// it. Go's own bound is seven days, with ticket keys rotated daily; a stolen ticket (or its key)
// would then open a week of sessions.
const ticketLifetime = 2 * time.Hour

// aeadSuites are the TLS 1.2 cipher suites the shop offers: forward-secret key exchange and
// authenticated encryption only (no CBC, no SHA-1 MACs). TLS 1.3's suites are all AEAD already.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig is the server's TLS: 1.2 or later, AEAD suites only, and session tickets that stop
// resuming ticketLifetime after the full handshake that made them (a resumption re-issues a
// ticket with the original time, which Go keeps). now is the clock (injectable for tests).
func tlsConfig(now func() time.Time) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		if at, ok := createdAt(ss); !ok || now().Sub(at) > ticketLifetime {
			return nil, nil // too old: a full handshake instead
		}
		return ss, nil
	}
	return cfg
}

// createdAt is when a session's full handshake was: the 64-bit Unix time that follows the version
// (2 bytes), the side (1) and the cipher suite (2) in the session's encoding (crypto/tls's
// SessionState.Bytes, which ParseSessionState reads back). TestTLS_SessionTicketsResumeForHoursNotDays
// fails should that encoding ever change.
func createdAt(ss *tls.SessionState) (time.Time, bool) {
	b, err := ss.Bytes()
	if err != nil || len(b) < 13 {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[5:13])), 0), true // #nosec G115 -- a Unix time the server wrote
}
