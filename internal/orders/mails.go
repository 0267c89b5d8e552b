package orders

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"secureshop/internal/mail"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// mailKind is what an order's mail tells its customer.
type mailKind string

// The order mails.
const (
	mailPaid      mailKind = "paid"      // the payment is confirmed: the order confirmation
	mailShipped   mailKind = "shipped"   // the order is on its way
	mailCancelled mailKind = "cancelled" // cancelled by the customer or the shop (what was paid is refunded)
	mailExpired   mailKind = "expired"   // not paid in time: cancelled, nothing charged
	mailLate      mailKind = "late"      // paid after it was cancelled: the payment goes back
	mailRefunded  mailKind = "refunded"  // a refund went through
)

// notice is one mail to send about an order: its kind, and the amount it is about (a refund).
type notice struct {
	kind   mailKind
	amount int64
}

var subjects = map[mailKind]string{
	mailPaid: "order confirmation", mailShipped: "your order is on its way", mailCancelled: "order cancelled",
	mailExpired: "order cancelled: not paid in time", mailLate: "your payment is being refunded", mailRefunded: "refund made",
}

// The mails' words, once for the text and once for the HTML, each kind a template of its name.
const textMails = `{{define "lines"}}{{range .Lines}}  {{.Quantity}} × {{.Name}}  {{.LineTotal}}
{{end}}{{with .Delivery}}  Delivery: {{.}}  {{$.Shipping}}
{{end}}{{end}}
{{- define "paid"}}Thank you for your order at {{.Store}}.

Order {{.ID}}

{{template "lines" .}}
Total paid: {{.Total}}{{with .Tax}} ({{.}}){{end}}.
{{with .ShipTo}}
It goes to: {{.}}
{{end}}
Follow it at {{.URL}}
{{end}}
{{- define "shipped"}}Your order {{.ID}} at {{.Store}} is on its way.
{{with .Tracking}}
{{.}}
{{end}}
{{template "lines" .}}{{with .ShipTo}}
It goes to: {{.}}
{{end}}
Follow it at {{.URL}}
{{end}}
{{- define "cancelled"}}Your order {{.ID}} at {{.Store}} is cancelled, and its items went back on the shelf.
{{if .Amount}}What you paid, {{.Amount}}, is being refunded to you.
{{else}}Nothing was charged.
{{end}}
{{.URL}}
{{end}}
{{- define "expired"}}Your order {{.ID}} at {{.Store}} was not paid in time, so we cancelled it and its items went back on the shelf.
Nothing was charged. You are welcome to order again.

{{.URL}}
{{end}}
{{- define "late"}}Your payment of {{.Amount}} for order {{.ID}} at {{.Store}} arrived after the order had been cancelled.
We are refunding all of it to you; you do not need to do anything.

{{.URL}}
{{end}}
{{- define "refunded"}}We refunded {{.Amount}} for your order {{.ID}} at {{.Store}}. It reaches your account in a few days, as your bank books it.

{{.URL}}
{{end}}`

const htmlMails = `{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="margin:0;background:#f4f5f7;font:16px/1.5 system-ui,sans-serif;color:#1c1e21"><div style="max-width:32rem;margin:0 auto;padding:1.5rem;background:#fff">
<p style="font-weight:700;font-size:1.2rem;margin:0 0 1rem">{{.Store}}</p>{{end}}
{{- define "foot"}}<p><a href="{{.URL}}" style="color:#2d5bd7">See your order</a></p></div></body></html>{{end}}
{{- define "lines"}}<table style="width:100%;border-collapse:collapse">{{range .Lines}}<tr><td style="padding:.25rem 0">{{.Quantity}} × {{.Name}}</td><td style="text-align:right">{{.LineTotal}}</td></tr>{{end}}{{with .Delivery}}<tr><td style="padding:.25rem 0">Delivery: {{.}}</td><td style="text-align:right">{{$.Shipping}}</td></tr>{{end}}</table>{{end}}
{{- define "shipto"}}{{with .ShipTo}}<p>It goes to: {{.}}</p>{{end}}{{end}}
{{- define "paid"}}{{template "head" .}}<h1 style="font-size:1.3rem">Thank you for your order</h1><p>Order <strong>{{.ID}}</strong></p>{{template "lines" .}}<p><strong>Total paid: {{.Total}}</strong>{{with .Tax}} ({{.}}){{end}}</p>{{template "shipto" .}}{{template "foot" .}}{{end}}
{{- define "shipped"}}{{template "head" .}}<h1 style="font-size:1.3rem">Your order is on its way</h1><p>Order <strong>{{.ID}}</strong></p>{{with .Tracking}}<p id="tracking"><strong>{{.}}</strong></p>{{end}}{{template "lines" .}}{{template "shipto" .}}{{template "foot" .}}{{end}}
{{- define "cancelled"}}{{template "head" .}}<h1 style="font-size:1.3rem">Your order is cancelled</h1><p>Order <strong>{{.ID}}</strong>: its items went back on the shelf.</p><p>{{if .Amount}}What you paid, {{.Amount}}, is being refunded to you.{{else}}Nothing was charged.{{end}}</p>{{template "foot" .}}{{end}}
{{- define "expired"}}{{template "head" .}}<h1 style="font-size:1.3rem">Your order was not paid in time</h1><p>We cancelled order <strong>{{.ID}}</strong> and its items went back on the shelf. Nothing was charged; you are welcome to order again.</p>{{template "foot" .}}{{end}}
{{- define "late"}}{{template "head" .}}<h1 style="font-size:1.3rem">Your payment is being refunded</h1><p>Your payment of {{.Amount}} for order <strong>{{.ID}}</strong> arrived after the order had been cancelled. We are refunding all of it; you do not need to do anything.</p>{{template "foot" .}}{{end}}
{{- define "refunded"}}{{template "head" .}}<h1 style="font-size:1.3rem">Refund made</h1><p>We refunded {{.Amount}} for your order <strong>{{.ID}}</strong>. It reaches your account in a few days, as your bank books it.</p>{{template "foot" .}}{{end}}`

var (
	textTmpl = texttemplate.Must(texttemplate.New("mails").Parse(textMails))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("mails").Parse(htmlMails))
)

// mailData is what a mail's templates show.
type mailData struct {
	Store, Subject, ID, URL string // ID is the order's number as people read it: #1001
	Total, Amount           string // Amount is empty when the mail is about no amount
	Tax                     string // "including VAT £0.66", "of which tax $3.55": empty without tax
	Delivery, Shipping      string // the method and what it cost; empty for an order that is not posted
	ShipTo                  string // the address, on one line
	Tracking                string // "Royal Mail, tracking number AB123456789GB", once shipped
	Lines                   []mailLine
}

type mailLine struct {
	Quantity        int
	Name, LineTotal string
}

// orderMail is the mail telling a customer what happened to their order, in the store's name, as
// text and as HTML.
func orderMail(st shop.Store, o shop.Order, n notice, orderURL string) (mail.Message, error) {
	d := mailData{Store: st.Name, Subject: st.Name + ": " + subjects[n.kind] + " " + o.Ref(), ID: o.Ref(), URL: orderURL,
		Total: shop.M(o.TotalAmount, o.Currency).String(), Delivery: o.ShippingMethod, ShipTo: o.ShippingAddress.OneLine()}
	if o.ShippingMethod != "" {
		d.Shipping = shop.M(o.ShippingPrice, o.Currency).String()
	}
	if o.TaxAmount > 0 {
		name := "tax"
		if len(o.Taxes) > 0 && o.Taxes[0].Name != "" {
			name = o.Taxes[0].Name
		}
		if d.Tax = "of which " + name + " " + shop.M(o.TaxAmount, o.Currency).String(); o.PricesIncludeTax {
			d.Tax = "including " + name + " " + shop.M(o.TaxAmount, o.Currency).String()
		}
	}
	switch {
	case o.Carrier != "" && o.TrackingNumber != "":
		d.Tracking = o.Carrier + ", tracking number " + o.TrackingNumber
	case o.TrackingNumber != "":
		d.Tracking = "Tracking number " + o.TrackingNumber
	case o.Carrier != "":
		d.Tracking = "Sent with " + o.Carrier
	}
	if n.amount > 0 {
		d.Amount = shop.M(n.amount, o.Currency).String()
	}
	for _, l := range o.Lines {
		d.Lines = append(d.Lines, mailLine{l.Quantity, l.Name, shop.M(l.LineTotal, o.Currency).String()})
	}
	var text, html bytes.Buffer
	if err := textTmpl.ExecuteTemplate(&text, string(n.kind), d); err != nil {
		return mail.Message{}, err
	}
	if err := htmlTmpl.ExecuteTemplate(&html, string(n.kind), d); err != nil {
		return mail.Message{}, err
	}
	return mail.Message{Subject: d.Subject, Body: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// SendMail sends the order mail a MailJob asks for (the job queue's worker calls it): written
// from the order as it is now, in the store's name, to the customer's address. An error is the
// queue's to retry; an order or customer gone for good is logged and not retried.
func (s *Service) SendMail(ctx context.Context, j MailJob) error {
	n := notice{kind: mailKind(j.Mail), amount: j.Amount}
	if _, ok := subjects[n.kind]; !ok || s.mailer == nil {
		return fmt.Errorf("no order mail %q", j.Mail)
	}
	var st shop.Store
	var to, page string
	o, err := s.read(ctx, j.Store, j.Order)
	if err == nil {
		err = s.db.View(ctx, j.Store, func(tx *sqlstore.Tx) error {
			var err error
			if st, err = tx.StoreByID(ctx, j.Store); err != nil {
				return err
			}
			u, err := tx.UserByID(ctx, j.Store, o.CustomerID)
			if err != nil {
				return err
			}
			to, page = u.Email, s.orderPage(st, o.ID)
			if guest, err := tx.IsGuest(ctx, j.Store, o.CustomerID); err != nil || !guest {
				return err
			}
			// A guest's mail goes to the address they gave, with the link to the order's page.
			to = o.Email
			l, err := tx.LatestOrderLink(ctx, j.Store, o.ID)
			if err != nil {
				return err
			}
			page = s.baseURL + GuestPath(st, s.linkToken(l.ID))
			return nil
		})
	}
	if shop.KindOf(err) == shop.KindNotFound || (err == nil && to == "") {
		s.log.WarnContext(ctx, "order mail not sent: no such order or customer", "order_id", j.Order, "mail", j.Mail, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	m, err := orderMail(st, o, n, page)
	if err != nil {
		return err
	}
	m.To = to
	return s.mailer.Send(ctx, m)
}
