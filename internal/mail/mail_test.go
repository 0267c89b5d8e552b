package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir_WritesEMLAndRefusesHeaderInjection(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "mail"), From: "shop <shop@example.com>"}
	if err := d.Send(context.Background(), Message{To: "a@example.com", Subject: "Grüße", Body: "line one\nline two"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(d.Path, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	b, _ := os.ReadFile(files[0])
	m := string(b)
	if !strings.Contains(m, "To: <a@example.com>\r\n") || !strings.Contains(m, "Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=") ||
		!strings.Contains(m, "line one\r\nline two") || !strings.Contains(m, "Message-ID: <") || strings.Contains(m, "go-mail") {
		t.Fatalf("message:\n%s", m)
	}
	if err := d.Send(context.Background(), Message{To: "a@example.com\r\nBcc: victim@example.com", Subject: "x"}); err == nil {
		t.Fatal("header injection accepted")
	}
	if info, _ := os.Stat(files[0]); info.Mode().Perm() != 0o600 {
		t.Fatalf("mail file mode %v", info.Mode().Perm())
	}
}

// Every mail goes as text and as HTML: one written as text alone gets its HTML alternative — the
// text escaped, its web addresses links — and one made with its own HTML keeps it.
func TestDir_EveryMailHasTextAndHTML(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "mail"), From: "shop <shop@example.com>"}
	body := "Open this link <now>:\n\nhttps://shop.example/s/a/verify?token=abc\n\nThanks & bye.\n"
	if err := d.Send(context.Background(), Message{To: "a@example.com", Subject: "Confirm", Body: body}); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(context.Background(), Message{To: "a@example.com", Subject: "Made", Body: "text", HTML: "<p>own <b>HTML</b></p>"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(d.Path, "*.eml"))
	if len(files) != 2 {
		t.Fatalf("%d files", len(files))
	}
	for i, want := range [][]string{
		{"multipart/alternative", "text/plain", "text/html", "&lt;now&gt;", `<a href=3D"https://shop.example/s/a/verify?token=3Dabc"`, "Thanks &amp; bye."},
		{"multipart/alternative", "<p>own <b>HTML</b></p>"},
	} {
		b, _ := os.ReadFile(files[i])
		m := strings.ReplaceAll(string(b), "=\r\n", "") // quoted-printable's soft line breaks
		for _, w := range want {
			if !strings.Contains(m, w) {
				t.Errorf("mail %d lacks %q:\n%s", i, w, m)
			}
		}
	}
}

func TestNewSMTP_ParsesServerURLs(t *testing.T) {
	for _, ok := range []string{"smtp://user:pw@mail.example.com:587", "smtps://mail.example.com:465", "smtp://mail.example.com"} {
		if _, err := NewSMTP(ok, "shop@example.com"); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://mail.example.com", "mail.example.com", "smtp://", "smtp://host:port"} {
		if _, err := NewSMTP(bad, "shop@example.com"); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
