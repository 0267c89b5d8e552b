// Package mail sends the shop's e-mail. Without an SMTP server configured, every message is written
// as an RFC 5322 .eml file into a directory, where a developer (or a test) can open it.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"secureshop/internal/shop"
)

// Message is one e-mail: plain text, and — when HTML is set — the same as HTML, the two sent as
// alternatives (multipart/alternative), so every mail program shows one of them.
type Message struct {
	To      string
	Subject string
	Body    string
	HTML    string // escaped by its maker (html/template)
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
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	t := now().UTC()
	msg, err := build(d.From, m, t)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return err
	}
	name := filepath.Join(d.Path, fmt.Sprintf("%s-%s.eml", t.Format("20060102T150405.000000000"), strings.ToLower(rand.Text()[:8])))
	// Written under another name and renamed: whoever reads the directory (a mail client, a test)
	// never sees half a mail — the job queue's workers write while others read.
	if err := os.WriteFile(name+".part", b.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(name+".part", name)
}

// build makes the RFC 5322 message of m, from from, dated at: one writer for the .eml files and
// for SMTP alike, so both carry the same headers. A header value with a line break is refused
// (header injection).
func build(from string, m Message, at time.Time) (*gomail.Msg, error) {
	if strings.ContainsAny(from+m.To+m.Subject, "\r\n") {
		return nil, errors.New("mail: header injection refused")
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(at)
	domain := "secureshop"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			domain = d
		}
	}
	msg.SetMessageIDWithValue(strings.ToLower(rand.Text()) + "@" + domain)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	html := m.HTML
	if html == "" {
		var err error
		if html, err = htmlOf(m); err != nil {
			return nil, err
		}
	}
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// Sender sends one message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}
