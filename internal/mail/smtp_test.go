package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	shopmail "secureshop/internal/mail"
	"secureshop/internal/testenv"
)

// relay is a real SMTP server on a loopback port (go-smtp, as mail servers built in Go use it),
// with STARTTLS on a certificate made for the test and PLAIN authentication; it keeps what it is
// sent.
type relay struct {
	mu       sync.Mutex
	messages []received
	addr     string
	roots    *x509.CertPool
}

type received struct {
	user, from string
	to         []string
	data       []byte
}

type relaySession struct {
	r    *relay
	user string
	msg  received
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "shop" || pass != "relay secret" {
			return errors.New("bad credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.msg = received{user: s.user, from: from}
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = b
	s.r.mu.Lock()
	s.r.messages = append(s.r.messages, s.msg)
	s.r.mu.Unlock()
	return nil
}

func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

type relayBackend struct{ r *relay }

func (b relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: b.r}, nil }

// startRelay serves SMTP on 127.0.0.1; withTLS offers STARTTLS.
func startRelay(t *testing.T, withTLS bool) *relay {
	t.Helper()
	r := &relay{roots: x509.NewCertPool()}
	srv := smtp.NewServer(relayBackend{r})
	srv.Domain, srv.ReadTimeout, srv.WriteTimeout = "relay.test", 10*time.Second, 10*time.Second
	if withTLS {
		cert, leaf := selfSigned(t)
		r.roots.AddCert(leaf)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	} else {
		srv.AllowInsecureAuth = true
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// Mail sent through SMTP reaches a real server over STARTTLS with the configured credentials,
// and is the same message the .eml directory holds: one writer builds both.
func TestSMTP_DeliversTheMessageTheDirectoryWrites(t *testing.T) {
	r := startRelay(t, true)
	const from = "no-reply@shop.example"
	s, err := shopmail.NewSMTPForTest("smtp://shop:relay%20secret@"+r.addr, from, &tls.Config{RootCAs: r.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	m := shopmail.Message{To: "ann@example.com", Subject: "Your order: Grüße", Body: "Thank you.\nOrder 42 is paid."}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mail")
	if err := (shopmail.Dir{Path: dir, From: from}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.messages) != 1 || r.messages[0].user != "shop" || r.messages[0].from != from || fmt.Sprint(r.messages[0].to) != "[ann@example.com]" {
		t.Fatalf("the relay got %+v", r.messages)
	}
	sent, err := mail.ReadMessage(strings.NewReader(string(r.messages[0].data)))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	raw, err := os.ReadFile(files[0]) // #nosec G304 -- the test's own file
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := mail.ReadMessage(strings.NewReader(string(raw)))
	for _, h := range []string{"From", "To", "Subject", "Mime-Version"} {
		if sent.Header.Get(h) != kept.Header.Get(h) || sent.Header.Get(h) == "" {
			t.Errorf("%s: sent %q, kept %q", h, sent.Header.Get(h), kept.Header.Get(h))
		}
	}
	// The same parts, each message with a boundary of its own.
	sentType, _, _ := mime.ParseMediaType(sent.Header.Get("Content-Type"))
	keptType, _, _ := mime.ParseMediaType(kept.Header.Get("Content-Type"))
	if sentType != "multipart/alternative" || keptType != sentType {
		t.Errorf("Content-Type: sent %q, kept %q", sentType, keptType)
	}
	if !strings.HasSuffix(sent.Header.Get("Message-Id"), "@shop.example>") || !strings.HasSuffix(kept.Header.Get("Message-Id"), "@shop.example>") {
		t.Errorf("Message-IDs: sent %q, kept %q", sent.Header.Get("Message-Id"), kept.Header.Get("Message-Id"))
	}
	body, _ := io.ReadAll(sent.Body)
	if !strings.Contains(string(body), "Order 42 is paid.") || !strings.Contains(string(body), "text/html") {
		t.Errorf("body %q", body)
	}
}

// The shop never sends mail — or its password — to a server that does not offer TLS.
func TestSMTP_RefusesAServerWithoutTLS(t *testing.T) {
	r := startRelay(t, false)
	s, err := shopmail.NewSMTP("smtp://shop:relay%20secret@"+r.addr, "no-reply@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), shopmail.Message{To: "ann@example.com", Subject: "x", Body: "y"}); err == nil {
		t.Fatal("mail went to a server without TLS")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.messages) != 0 {
		t.Fatalf("the relay got %d messages", len(r.messages))
	}
}
