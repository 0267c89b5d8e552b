package mail

import (
	"bytes"
	"html/template"
	"strings"
)

// A message made as text alone gets this HTML alternative: its paragraphs, escaped, with each
// line that is a web address a link, under its subject.
var textAsHTML = template.Must(template.New("mail").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="margin:0;background:#f4f5f7;font:16px/1.5 system-ui,sans-serif;color:#1c1e21"><div style="max-width:32rem;margin:0 auto;padding:1.5rem;background:#fff">
<p style="font-weight:700;font-size:1.2rem;margin:0 0 1rem">{{.Subject}}</p>
{{range .Paragraphs}}<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{if $l.Link}}<a href="{{$l.Text}}" style="color:#2d5bd7">{{$l.Text}}</a>{{else}}{{$l.Text}}{{end}}{{end}}</p>
{{end}}</div></body></html>`))

type htmlLine struct {
	Text string
	Link bool
}

// htmlOf is the HTML alternative of a message written as text.
func htmlOf(m Message) (string, error) {
	var paragraphs [][]htmlLine
	for _, p := range strings.Split(strings.ReplaceAll(strings.TrimSpace(m.Body), "\r\n", "\n"), "\n\n") {
		var lines []htmlLine
		for _, l := range strings.Split(p, "\n") {
			l = strings.TrimSpace(l)
			lines = append(lines, htmlLine{Text: l, Link: (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && !strings.ContainsAny(l, " \t")})
		}
		paragraphs = append(paragraphs, lines)
	}
	var b bytes.Buffer
	err := textAsHTML.Execute(&b, struct {
		Subject    string
		Paragraphs [][]htmlLine
	}{m.Subject, paragraphs})
	return b.String(), err
}
