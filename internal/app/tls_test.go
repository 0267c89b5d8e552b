package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"
)

func testCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// handshake connects a client to a server of cfg and reports whether the session resumed.
func handshake(t *testing.T, cfg *tls.Config, client *tls.Config) (resumed bool, err error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		resumed = conn.ConnectionState().DidResume
		_ = conn.Close()
	}
	wg.Wait()
	return resumed, err
}

// TestTLS_SessionTicketsResumeForHoursNotDays: a session resumes within ticketLifetime of its full
// handshake and not after (Go alone would resume it for seven days).
func TestTLS_SessionTicketsResumeForHoursNotDays(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	cfg := tlsConfig(now)
	cfg.Certificates = []tls.Certificate{testCertificate(t)}
	client := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(4)} // #nosec G402 -- the test's own certificate
	if resumed, err := handshake(t, cfg, client); err != nil || resumed {
		t.Fatalf("first handshake: resumed %v, %v", resumed, err)
	}
	mu.Lock()
	clock = clock.Add(ticketLifetime - time.Minute)
	mu.Unlock()
	if resumed, err := handshake(t, cfg, client); err != nil || !resumed {
		t.Fatalf("within the lifetime: resumed %v, %v", resumed, err)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Minute) // the resumption above did not start the lifetime again
	mu.Unlock()
	if resumed, err := handshake(t, cfg, client); err != nil || resumed {
		t.Fatalf("past the lifetime: resumed %v, %v", resumed, err)
	}
}

// TestTLS_OffersOnlyAEADSuitesForTLS12: a TLS 1.2 client offering only CBC suites gets no
// connection; one offering GCM does.
func TestTLS_OffersOnlyAEADSuitesForTLS12(t *testing.T) {
	cfg := tlsConfig(time.Now)
	cfg.Certificates = []tls.Certificate{testCertificate(t)}
	cbc := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, // #nosec G402 G404 -- the test's own certificate; a client that offers weak suites on purpose
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}
	if _, err := handshake(t, cfg, cbc); err == nil {
		t.Fatal("a TLS 1.2 connection with a CBC suite")
	}
	gcm := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}} // #nosec G402 -- the test's own certificate
	if _, err := handshake(t, cfg, gcm); err != nil {
		t.Fatalf("a TLS 1.2 connection with GCM: %v", err)
	}
}
