package testenv

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Mail is one message the shop wrote to its mail directory, decoded.
type Mail struct {
	File    string
	To      string // the address alone
	Subject string
	Body    string
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
		var body io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(m.Body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			tb.Fatalf("%s: body: %v", f, err)
		}
		out = append(out, Mail{File: f, To: to.Address, Subject: subject, Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Raw: string(raw)})
	}
	return out
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
