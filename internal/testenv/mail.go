package testenv

import (
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message the shop wrote to its mail directory, decoded.
type Mail struct {
	File    string
	To      string // the address alone
	Subject string
	Body    string // the plain text
	HTML    string // the HTML alternative, when the mail has one
	Raw     string
}

// Mails reads every .eml file in dir, oldest first (the files are named after the time).
func Mails(tb testing.TB, dir string) []Mail {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	sort.Strings(files)
	out := make([]Mail, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f) // #nosec G304 -- the test's own mail directory
		if err != nil {
			tb.Fatal(err)
		}
		m, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		to, err := mail.ParseAddress(m.Header.Get("To"))
		if err != nil {
			tb.Fatalf("%s: To: %v", f, err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			tb.Fatalf("%s: Subject: %v", f, err)
		}
		parts := map[string]string{}
		if err := readParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, parts); err != nil {
			tb.Fatalf("%s: body: %v", f, err)
		}
		out = append(out, Mail{File: f, To: to.Address, Subject: subject, Body: parts["text/plain"], HTML: parts["text/html"], Raw: string(raw)})
	}
	return out
}

// readParts decodes a body of contentType into parts by media type, walking multipart bodies.
func readParts(contentType, encoding string, body io.Reader, parts map[string]string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, parts); err != nil {
				return err
			}
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	parts[mt] = strings.ReplaceAll(string(b), "\r\n", "\n")
	return err
}

// NewestMail returns the newest mail to address whose subject contains subject ("" for any).
func NewestMail(tb testing.TB, dir, address, subject string) (Mail, bool) {
	tb.Helper()
	all := Mails(tb, dir)
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].To == address && strings.Contains(all[i].Subject, subject) {
			return all[i], true
		}
	}
	return Mail{}, false
}

// AwaitMail waits (up to 10 s) for a mail in dir that match accepts and returns the newest such:
// the shop's mail goes out from its job queue, a moment after the answer that caused it.
func AwaitMail(tb testing.TB, dir string, match func(Mail) bool) Mail {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		all := Mails(tb, dir)
		for i := len(all) - 1; i >= 0; i-- {
			if match(all[i]) {
				return all[i]
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no such mail in %s", dir)
		}
	}
}

// MailedCodes hands out the codes mailed to an address, each mail once, waiting for the next one
// to arrive: asked for a code, a test takes the code of the mail that request sent, never an
// older one still in the directory.
type MailedCodes struct {
	mu    sync.Mutex
	taken map[string]bool
}

// Next waits for a mail to address, not handed out before, whose text re matches, and returns
// re's first group.
func (c *MailedCodes) Next(tb testing.TB, dir, address string, re *regexp.Regexp) string {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.taken == nil {
		c.taken = map[string]bool{}
	}
	var code string
	m := AwaitMail(tb, dir, func(m Mail) bool {
		g := re.FindStringSubmatch(m.Body)
		if m.To != address || g == nil || c.taken[m.File] {
			return false
		}
		code = g[1]
		return true
	})
	c.taken[m.File] = true
	return code
}
