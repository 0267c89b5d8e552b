// Package mail sends the shop's e-mail. Without an SMTP server configured, every message is written
// as an RFC 5322 .eml file into a directory, where a developer (or a test) can open it.
package mail

import (
	"context"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"time"

	"secureshop/internal/shop"
)

// Message is one plain-text e-mail.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Dir writes messages as .eml files into a directory.
type Dir struct {
	Path string
	From string
	Now  func() time.Time
}

// Send writes m to a new file named after the time and a random suffix.
func (d Dir) Send(ctx context.Context, m Message) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if strings.ContainsAny(m.To+m.Subject, "\r\n") {
		return fmt.Errorf("mail: header injection refused")
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return err
	}
	t := now().UTC()
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@secureshop>\r\n",
		d.From, m.To, mime.QEncoding.Encode("utf-8", m.Subject), t.Format(time.RFC1123Z), strings.ToLower(rand.Text()))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n"))); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s.eml", t.Format("20060102T150405.000000000"), strings.ToLower(rand.Text()[:8]))
	return os.WriteFile(filepath.Join(d.Path, name), []byte(b.String()), 0o600)
}
