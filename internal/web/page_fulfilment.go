package web

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"secureshop/internal/invoice"
	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

// pageAdminFulfilment is the clerk's list of orders to pack and send: paid and not yet shipped,
// oldest first, each with its items, its address and the form that marks it shipped.
func (s *Server) pageAdminFulfilment(w http.ResponseWriter, r *http.Request) error {
	return s.renderFulfilment(w, r, http.StatusOK, nil)
}

// fulfilmentAgain shows the packing queue again after a refused "Mark shipped": the message at
// the order's form, with what was typed in it.
func (s *Server) fulfilmentAgain(w http.ResponseWriter, r *http.Request, e *shop.Error) error {
	status, _, _ := statusOf(e)
	return s.renderFulfilment(w, r, status, func(a *adminState) {
		id := r.PathValue("id")
		a.Form = map[string]string{"carrier-" + id: r.PostFormValue("carrier"), "tracking-" + id: r.PostFormValue("tracking_number")}
		msg := e.Message
		for _, f := range e.Fields {
			msg = f.Message
		}
		a.Wrong = map[string]string{id: msg}
	})
}

func (s *Server) renderFulfilment(w http.ResponseWriter, r *http.Request, status int, edit func(*adminState)) error {
	info := infoOf(r)
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.orders.List(r.Context(), info.principal, info.store.ID, shop.OrderFilter{ToPack: true, Cursor: cursor, Limit: limit})
	if err != nil {
		return err
	}
	a := &adminState{Filter: map[string]string{"next": page.NextCursor}}
	for _, o := range page.Orders {
		a.Orders = append(a.Orders, viewOrder(o))
	}
	if edit != nil {
		edit(a)
	}
	d := s.admin(r, a)
	d.Title = "To pack"
	s.renderStatus(w, r, status, "admin_fulfilment", d)
	return nil
}

// pagePackingSlip is an order's packing slip, to print and put in the parcel: the address and
// what goes in, without prices.
func (s *Server) pagePackingSlip(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, err := s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewOrder(o)
	return s.render(w, r, "packing_slip", pageData{Title: "Packing slip " + o.Ref(), Order: &v, Print: true})
}

// document finds an order's invoice or credit note for whoever may see the order: its customer,
// or staff who read every order; anyone else is told it does not exist.
func (s *Server) document(r *http.Request) (invoice.Sheet, error) {
	info := infoOf(r)
	var o shop.Order
	var err error
	if token := r.PathValue("token"); token != "" { // a guest's, through their link
		o, err = s.orders.GuestOrder(r.Context(), *info.store, token)
	} else {
		o, err = s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	}
	if err != nil {
		return invoice.Sheet{}, err
	}
	for _, inv := range o.Invoices {
		if inv.ID == r.PathValue("invoice") {
			sh, err := s.orders.Shipping(r.Context(), *info.store)
			if err != nil {
				return invoice.Sheet{}, err
			}
			return invoice.Build(invoice.Document{StoreName: info.store.Name, Seller: sh.Seller, Order: o, Invoice: inv}), nil
		}
	}
	return invoice.Sheet{}, shop.NotFound("Invoice")
}

// pageInvoice is an invoice or credit note as a page to read and print.
func (s *Server) pageInvoice(w http.ResponseWriter, r *http.Request) error {
	sh, err := s.document(r)
	if err != nil {
		return err
	}
	info := infoOf(r)
	order := "/s/" + info.store.Slug + "/orders/" + r.PathValue("id")
	if token := r.PathValue("token"); token != "" {
		order = orders.GuestPath(*info.store, token)
		noStore(w)
	}
	back := order
	if info.principal.Role.Staff() {
		back = "/s/" + info.store.Slug + "/admin/orders/" + r.PathValue("id")
	}
	return s.render(w, r, "invoice", pageData{Title: sh.Title + " " + sh.Number, Sheet: &sh, Print: true, Back: back,
		DocPath: order + "/invoices/" + r.PathValue("invoice")})
}

// pageInvoicePDF and apiInvoicePDF answer with the document as a PDF, to keep or send on.
func (s *Server) pageInvoicePDF(w http.ResponseWriter, r *http.Request) error {
	sh, err := s.document(r)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := invoice.PDF(&b, sh); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+sh.Number+`.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(b.Bytes())
	return err
}

// pageAdminOrdersCSV writes the store's orders as a spreadsheet, newest first: each with its
// customer, where it goes and how, and its figures. Cells that a spreadsheet would run as a
// formula are defused.
func (s *Server) pageAdminOrdersCSV(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	var all []shop.Order
	cursor := ""
	for range 100 { // at most 10,000 orders at a time
		page, err := s.orders.List(r.Context(), info.principal, info.store.ID, shop.OrderFilter{Cursor: cursor, Limit: 100})
		if err != nil {
			return err
		}
		all = append(all, page.Orders...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="orders-`+info.store.Slug+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"number", "id", "placed", "status", "email", "ship_to_name", "ship_to_line1", "ship_to_line2", "ship_to_city",
		"ship_to_region", "ship_to_postcode", "ship_to_country", "shipping_method", "carrier", "tracking_number", "items", "subtotal",
		"shipping", "tax", "total", "paid", "refunded", "currency"})
	for _, o := range all {
		a := o.ShippingAddress
		d := func(v int64) string { return shop.M(v, o.Currency).Decimal() }
		items := 0
		for _, l := range o.Lines {
			items += l.Quantity
		}
		row := []string{strconv.FormatInt(o.Number, 10), o.ID, o.CreatedAt.UTC().Format(time.RFC3339), string(o.Status), o.Email,
			a.Name, a.Line1, a.Line2, a.City, a.Region, a.Postcode, a.Country, o.ShippingMethod, o.Carrier, o.TrackingNumber,
			strconv.Itoa(items), d(o.Subtotal), d(o.ShippingAmount), d(o.TaxAmount), d(o.TotalAmount), d(o.PaidAmount), d(o.RefundedAmount), o.Currency}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
