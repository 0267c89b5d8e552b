// Package invoice lays out a store's invoices and credit notes — the seller, the buyer, the lines
// with their tax, the tax per rate and the totals — once, for the printable page and the PDF alike.
package invoice

import (
	"fmt"
	"io"
	"strconv"

	"codeberg.org/go-pdf/fpdf"

	"secureshop/internal/shop"
)

// Document is an invoice or a credit note with what it documents: the order, and the store's
// seller details as they are now.
type Document struct {
	StoreName string
	Seller    shop.Seller
	Order     shop.Order
	Invoice   shop.Invoice
}

// Sheet is a document laid out: every figure already written as people read it.
type Sheet struct {
	Title    string // "Invoice", "Credit note"
	Number   string // INV-0001
	Date     string
	OrderRef string   // #1001
	Seller   []string // name, address lines, VAT number
	BillTo   []string
	ShipTo   []string
	Head     []string   // the lines' column headings
	Rows     [][]string // one per line (and the delivery), as Head
	Totals   [][2]string
	Note     string
	Currency string
}

// Build lays a document out.
func Build(d Document) Sheet {
	o, inv := d.Order, d.Invoice
	m := func(a int64) string { return shop.M(a, o.Currency).String() }
	sh := Sheet{Title: "Invoice", Number: inv.Ref(), Date: inv.IssuedAt.UTC().Format("2 January 2006"), OrderRef: o.Ref(), Currency: o.Currency}
	name := d.Seller.Name
	if name == "" {
		name = d.StoreName
	}
	sh.Seller = []string{name}
	if a := d.Seller.Address; a != nil {
		sh.Seller = append(sh.Seller, a.Lines()...)
	}
	if len(sh.Seller) > 1 && sh.Seller[1] == name { // the address's own name line repeats the seller's
		sh.Seller = append(sh.Seller[:1], sh.Seller[2:]...)
	}
	if d.Seller.TaxID != "" {
		sh.Seller = append(sh.Seller, "VAT number "+d.Seller.TaxID)
	}
	sh.BillTo = o.BillingAddress.Lines()
	if len(sh.BillTo) == 0 {
		sh.BillTo = []string{o.Email}
	} else if o.Email != "" {
		sh.BillTo = append(sh.BillTo, o.Email)
	}
	sh.ShipTo = o.ShippingAddress.Lines()
	if inv.Kind == shop.InvoiceKindCreditNote {
		sh.Title = "Credit note"
		of := "order " + o.Ref()
		if orig, ok := o.Invoice(); ok {
			of = "invoice " + orig.Ref() + ", order " + o.Ref()
		}
		sh.Note = "Credit for a refund of " + m(inv.Amount) + " against " + of + "."
		sh.Head = []string{"Refund", "Tax rate", "Net", "Tax", "Total"}
		for _, t := range inv.Taxes {
			sh.Rows = append(sh.Rows, []string{"Refund, " + string(t.Class) + " rate", shop.FormatRate(t.Rate), m(t.Base), m(t.Amount), m(t.Base + t.Amount)})
		}
		if len(inv.Taxes) == 0 {
			sh.Rows = append(sh.Rows, []string{"Refund", "", m(inv.Amount - inv.TaxAmount), m(inv.TaxAmount), m(inv.Amount)})
		}
		sh.Totals = append(sh.Totals, [2]string{"Net", m(inv.Amount - inv.TaxAmount)})
		for _, t := range inv.Taxes {
			if t.Amount > 0 {
				sh.Totals = append(sh.Totals, [2]string{t.Label() + " on " + m(t.Base), m(t.Amount)})
			}
		}
		sh.Totals = append(sh.Totals, [2]string{"Total credited", m(inv.Amount)})
		return sh
	}
	sh.Head = []string{"Item", "Qty", "Unit price", "Tax rate", "Net", "Tax", "Total"}
	for _, l := range o.Lines {
		sh.Rows = append(sh.Rows, []string{l.Name + " (" + l.SKU + ")", strconv.Itoa(l.Quantity), m(l.UnitPrice), shop.FormatRate(l.TaxRate),
			m(l.Net), m(l.TaxAmount), m(l.Net + l.TaxAmount)})
	}
	if o.ShippingMethod != "" {
		shipTax := o.TaxAmount
		for _, l := range o.Lines {
			shipTax -= l.TaxAmount
		}
		sh.Rows = append(sh.Rows, []string{"Delivery: " + o.ShippingMethod, "1", m(o.ShippingPrice), "", m(o.ShippingAmount), m(shipTax),
			m(o.ShippingAmount + shipTax)})
	}
	sh.Totals = append(sh.Totals, [2]string{"Subtotal", m(o.Subtotal)})
	if o.ShippingMethod != "" {
		sh.Totals = append(sh.Totals, [2]string{"Delivery", m(o.ShippingAmount)})
	}
	for _, t := range o.Taxes {
		if t.Amount > 0 || t.Rate > 0 {
			sh.Totals = append(sh.Totals, [2]string{t.Label() + " on " + m(t.Base), m(t.Amount)})
		}
	}
	sh.Totals = append(sh.Totals, [2]string{"Total", m(o.TotalAmount)})
	if o.PricesIncludeTax {
		sh.Note = "Unit prices include tax."
	}
	if c := o.CreditNotes(); len(c) > 0 {
		sh.Note += fmt.Sprintf(" %d credit note(s) issued against this invoice.", len(c))
	}
	return sh
}

// PDF writes sheet as an A4 PDF. The core fonts write Western European text (the £ and € signs
// included); a character they do not have is written as a question mark.
func PDF(w io.Writer, sh Sheet) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(sh.Title+" "+sh.Number, true)
	pdf.SetCreator("secureshop", true)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	text := func(s string) string { return tr(s) }

	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(110, 10, text(sh.Title), "", 0, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(70, 5, text(sh.Number+"\n"+sh.Date+"\nOrder "+sh.OrderRef), "", "R", false)
	pdf.Ln(4)
	top := pdf.GetY()
	block := func(x float64, title string, lines []string) {
		pdf.SetXY(x, top)
		pdf.SetFont("Helvetica", "B", 9)
		pdf.CellFormat(60, 5, text(title), "", 2, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 9)
		for _, l := range lines {
			pdf.SetX(x)
			pdf.CellFormat(60, 4.5, text(l), "", 2, "L", false, 0, "")
		}
	}
	block(15, "From", sh.Seller)
	block(75, "Bill to", sh.BillTo)
	if len(sh.ShipTo) > 0 {
		block(135, "Ship to", sh.ShipTo)
	}
	pdf.SetXY(15, top+6+4.5*float64(max(len(sh.Seller), len(sh.BillTo), len(sh.ShipTo)))+6)

	widths := []float64{70, 12, 22, 16, 22, 22, 26}
	if len(sh.Head) == 5 {
		widths = []float64{82, 20, 28, 28, 32}
	}
	pdf.SetFont("Helvetica", "B", 9)
	pdf.SetFillColor(240, 242, 246)
	for i, h := range sh.Head {
		align := "R"
		if i == 0 {
			align = "L"
		}
		pdf.CellFormat(widths[i], 7, text(h), "B", 0, align, true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 9)
	for _, r := range sh.Rows {
		for i, c := range r {
			align := "R"
			if i == 0 {
				align = "L"
				if pdf.GetStringWidth(text(c)) > widths[0]-2 { // cut to the column, at a character
					rs := []rune(c)
					for len(rs) > 4 && pdf.GetStringWidth(text(string(rs)+"…")) > widths[0]-2 {
						rs = rs[:len(rs)-1]
					}
					c = string(rs) + "…"
				}
			}
			pdf.CellFormat(widths[i], 6.5, text(c), "B", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(4)
	for i, t := range sh.Totals {
		if i == len(sh.Totals)-1 {
			pdf.SetFont("Helvetica", "B", 11)
		}
		pdf.SetX(95)
		pdf.CellFormat(70, 6.5, text(t[0]), "", 0, "R", false, 0, "")
		pdf.CellFormat(25, 6.5, text(t[1]), "", 1, "R", false, 0, "")
	}
	if sh.Note != "" {
		pdf.Ln(6)
		pdf.SetFont("Helvetica", "I", 9)
		pdf.MultiCell(180, 5, text(sh.Note), "", "L", false)
	}
	return pdf.Output(w)
}
