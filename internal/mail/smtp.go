package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"secureshop/internal/shop"
)

// SMTP sends messages through a mail server, named by a URL: smtp://user:pass@host:587 (STARTTLS
// required) or smtps://user:pass@host:465 (TLS from the start).
type SMTP struct {
	client *gomail.Client
	from   string
}

// NewSMTP parses the server URL and prepares a client. It does not connect.
func NewSMTP(rawURL, from string) (*SMTP, error) { return newSMTP(rawURL, from, nil) }

// newSMTP is NewSMTP with the TLS settings given (tests trust their own server's certificate);
// nil keeps go-mail's, which verify the server against the system's roots.
func newSMTP(rawURL, from string, tlsConfig *tls.Config) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("mail: SHOP_SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
	}
	opts := []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory)}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, errors.New("mail: bad SMTP port")
		}
		opts = append(opts, gomail.WithPort(n))
	}
	if tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(tlsConfig))
	}
	if u.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, err
	}
	return &SMTP{client: c, from: from}, nil
}

// Send delivers one message.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err
	}
	msg, err := build(s.from, m, time.Now())
	if err != nil {
		return err
	}
	return s.client.DialAndSendWithContext(ctx, msg)
}
