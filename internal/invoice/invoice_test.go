package invoice_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"secureshop/internal/invoice"
	"secureshop/internal/shop"
)

func order() shop.Order {
	return shop.Order{ID: shop.NewID(), Number: 1001, Currency: "GBP", Email: "ada@example.com", PricesIncludeTax: true,
		Subtotal: 2497 + 899, ShippingAmount: 400, TaxAmount: 580, TotalAmount: 4376, ShippingMethod: "Post", ShippingPrice: 480,
		ShippingAddress: shop.Address{Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", Postcode: "SW1Y 4JU", Country: "GB"},
		BillingAddress:  shop.Address{Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", Postcode: "SW1Y 4JU", Country: "GB"},
		Lines: []shop.OrderLine{
			{Name: "Earl Grey", SKU: "TEA", UnitPrice: 999, Quantity: 3, LineTotal: 2997, TaxClass: shop.TaxStandard, TaxRate: 20000, TaxAmount: 500, Net: 2497},
			{Name: "A book with a very long title that will not fit in the column of the invoice at all — not even close", SKU: "BOOK",
				UnitPrice: 899, Quantity: 1, LineTotal: 899, TaxClass: shop.TaxZero, Net: 899},
		},
		Taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 20000, Name: "VAT", Base: 2897, Amount: 580}, {Class: shop.TaxZero, Name: "VAT", Base: 899}},
	}
}

func TestBuild_InvoiceHasEveryFigure(t *testing.T) {
	o := order()
	inv := shop.Invoice{Kind: shop.InvoiceKindInvoice, Number: 7, Amount: o.TotalAmount, TaxAmount: o.TaxAmount, Taxes: o.Taxes,
		IssuedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	o.Invoices = []shop.Invoice{inv}
	sh := invoice.Build(invoice.Document{StoreName: "Shop", Seller: shop.Seller{Name: "Shop Ltd", TaxID: "GB 1"}, Order: o, Invoice: inv})
	got := strings.Join(sh.Seller, "|") + "\n" + strings.Join(sh.BillTo, "|") + "\n"
	for _, r := range sh.Rows {
		got += strings.Join(r, "|") + "\n"
	}
	for _, r := range sh.Totals {
		got += r[0] + "=" + r[1] + "\n"
	}
	for _, want := range []string{"INV-0007", "#1001", "7 December 2026"} {
		if !strings.Contains(sh.Number+sh.OrderRef+sh.Date, want) {
			t.Errorf("heading lacks %s: %+v", want, sh)
		}
	}
	for _, want := range []string{"Shop Ltd|VAT number GB 1", "Ada Lovelace|12 St James's Square|London|SW1Y 4JU|United Kingdom|ada@example.com",
		"Earl Grey (TEA)|3|£9.99|20%|£24.97|£5.00|£29.97", "Delivery: Post|1|£4.80||£4.00|£0.80|£4.80",
		"Subtotal=£33.96", "Delivery=£4.00", "VAT 20% on £28.97=£5.80", "Total=£43.76"} {
		if !strings.Contains(got, want) {
			t.Errorf("the sheet lacks %q:\n%s", want, got)
		}
	}
	var pdf bytes.Buffer
	if err := invoice.PDF(&pdf, sh); err != nil {
		t.Fatal(err)
	}
	if b := pdf.Bytes(); !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[len(b)-10:], []byte("%%EOF")) || len(b) < 1000 {
		t.Fatalf("not a PDF: %d bytes", len(b))
	}
}

func TestBuild_CreditNoteSharesTheRefundOverTheRates(t *testing.T) {
	o := order()
	taxes, tax := shop.CreditTaxes(o, 1000)
	cn := shop.Invoice{Kind: shop.InvoiceKindCreditNote, Number: 2, Amount: 1000, TaxAmount: tax, Taxes: taxes}
	o.Invoices = []shop.Invoice{{Kind: shop.InvoiceKindInvoice, Number: 7}, cn}
	var sum, given int64
	for _, t := range taxes {
		sum += t.Base + t.Amount
		given += t.Amount
	}
	// £10.00 of £43.76: the standard rate's share is 34.77/43.76, its tax 5.80 × 10/43.76 = 1.325 → 1.32.
	if sum != 1000 || given != tax || taxes[0].Amount != 132 {
		t.Fatalf("credit taxes %+v (tax %d)", taxes, tax)
	}
	sh := invoice.Build(invoice.Document{StoreName: "Shop", Order: o, Invoice: cn})
	if sh.Title != "Credit note" || sh.Number != "CN-0002" || !strings.Contains(sh.Note, "INV-0007") || sh.Totals[len(sh.Totals)-1][1] != "£10.00" {
		t.Fatalf("credit note sheet %+v", sh)
	}
}
