package web

import (
	"net/http"
	"strconv"
	"time"

	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

const visitorCookie = "__Host-shop_visitor"

// shopper tells how the visitor shops in the path's store: as a signed-in customer of it, or as a
// visitor whose cart lives in their session. Staff accounts do not shop.
func (s *Server) shopper(r *http.Request) (customer bool, err error) {
	info := infoOf(r)
	p := info.principal
	if !p.Authenticated() || p.StoreID != info.store.ID {
		return false, nil
	}
	if p.Role != shop.RoleCustomer {
		return false, shop.Errorf(shop.KindForbidden, "Staff accounts cannot shop; sign in with a customer account.")
	}
	return true, nil
}

func (s *Server) visitorToken(r *http.Request) string {
	if c, err := r.Cookie(visitorCookie); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) pageCart(w http.ResponseWriter, r *http.Request) error {
	return s.renderCart(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderCart(w http.ResponseWriter, r *http.Request, status int, flash string, fields []shop.FieldError) error {
	info := infoOf(r)
	customer, err := s.shopper(r)
	if err != nil {
		return err
	}
	var c orders.Cart
	if customer {
		c, err = s.orders.Cart(r.Context(), info.principal, info.store.ID)
	} else {
		c, err = s.orders.VisitorCart(r.Context(), info.store.ID, s.visitorToken(r))
	}
	if err != nil {
		return err
	}
	v := viewCart(c, info.store.Currency)
	d := pageData{Title: "Your cart", Cart: &v, Flash: flash, Alert: flash != "", Errors: fields}
	if !info.principal.Authenticated() {
		d.GuestsIn, _ = s.orders.GuestsWelcome(r.Context(), *info.store)
	}
	s.renderStatus(w, r, status, "cart", d)
	return nil
}

// pageCartAdd adds a product to the cart: the customer's in the database, or the visitor's in
// their session.
func (s *Server) pageCartAdd(w http.ResponseWriter, r *http.Request) error {
	id := r.PostFormValue("product_id")
	q, err := strconv.Atoi(r.PostFormValue("quantity"))
	if err != nil {
		q = 0
	}
	return s.changeCart(w, r, id, q, true)
}

// pageCartSet changes a line's quantity, or removes it (action=remove).
func (s *Server) pageCartSet(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("product_id")
	if r.PostFormValue("action") == "remove" {
		return s.changeCart(w, r, id, 0, false)
	}
	q, err := strconv.Atoi(r.PostFormValue("quantity"))
	if err != nil {
		q = -1
	}
	return s.changeCart(w, r, id, q, false)
}

func (s *Server) changeCart(w http.ResponseWriter, r *http.Request, id string, q int, add bool) error {
	info := infoOf(r)
	customer, err := s.shopper(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	switch {
	case customer && q == 0 && !add:
		_, err = s.orders.RemoveItem(ctx, info.principal, info.store.ID, id)
	case customer && add:
		_, err = s.orders.AddItem(ctx, info.principal, info.store.ID, id, q)
	case customer:
		_, err = s.orders.SetItem(ctx, info.principal, info.store.ID, id, q)
	default:
		token := s.visitorToken(r)
		var next string
		if next, err = s.orders.ChangeVisitorCart(ctx, info.store.ID, token, id, q, add, q == 0 && !add); err == nil && next != token {
			http.SetCookie(w, &http.Cookie{Name: visitorCookie, Value: next, Path: "/", Secure: true, HttpOnly: true,
				SameSite: http.SameSiteLaxMode, MaxAge: 12 * 3600})
		}
	}
	if e := shop.AsError(err); e != nil && e.Kind == shop.KindInvalid {
		flash := "That quantity cannot go in your cart."
		if len(e.Fields) > 0 && e.Fields[0].Field == "cart" {
			flash = "Your cart is full."
		}
		return s.renderCart(w, r, http.StatusUnprocessableEntity, flash, e.Fields)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/s/"+info.store.Slug+"/cart", http.StatusSeeOther)
	return nil
}

// toPayment sends the customer on to pay their order: to the provider's page, or — when it could
// not be opened, or there is nothing to pay — to the order's own page, which says so.
func (s *Server) toPayment(w http.ResponseWriter, r *http.Request, o shop.Order, err error) error {
	return s.toPaymentAt(w, r, o, err, "/s/"+infoOf(r).store.Slug+"/orders/"+o.ID)
}

// toPaymentAt is toPayment for an order whose own page is page (a guest's is their link's).
func (s *Server) toPaymentAt(w http.ResponseWriter, r *http.Request, o shop.Order, err error, page string) error {
	if shop.AsError(err) != nil && shop.AsError(err).Code == shop.CodePaymentPending && o.ID != "" {
		// #nosec G710 -- page is this store's order page, built from its slug and the order's id or its link's token
		http.Redirect(w, r, page+"?unopened=1", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if c, ok := o.Charge(); ok && o.Payable(time.Now()) {
		http.Redirect(w, r, c.RedirectURL, http.StatusSeeOther)
		return nil
	}
	// #nosec G710 -- page is this store's order page, built from its slug and the order's id or its link's token
	http.Redirect(w, r, page+"?paid=1", http.StatusSeeOther)
	return nil
}

// pageOrderPay sends the customer back to the provider's page to pay an order pending payment.
func (s *Server) pageOrderPay(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, err := s.orders.Pay(r.Context(), info.principal, *info.store, r.PathValue("id"))
	if shop.KindOf(err) == shop.KindConflict && o.ID != "" {
		return s.orderRefused(w, r, o, err, "/s/"+info.store.Slug+"/orders/"+o.ID, false)
	}
	return s.toPayment(w, r, o, err)
}

// pageGuestOrder is a guest's order, through the link its mail carries; any other token finds
// nothing.
func (s *Server) pageGuestOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	token := r.PathValue("token")
	returned := r.URL.Query().Get("paid") == "1"
	var o shop.Order
	var err error
	if returned {
		o, err = s.orders.GuestRefresh(r.Context(), *info.store, token)
	} else {
		o, err = s.orders.GuestOrder(r.Context(), *info.store, token)
	}
	if err != nil {
		return err
	}
	v := viewOrder(o)
	d := pageData{Title: "Order " + o.Ref(), Order: &v, OrderBase: orders.GuestPath(*info.store, token), Guest: true}
	noStore(w)
	return s.renderOrder(w, r, d, o, returned)
}

// pageGuestOrderPay sends a guest back to the provider's page to pay their order.
func (s *Server) pageGuestOrderPay(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	token := r.PathValue("token")
	o, err := s.orders.GuestPay(r.Context(), *info.store, token)
	if shop.KindOf(err) == shop.KindConflict && o.ID != "" {
		return s.orderRefused(w, r, o, err, orders.GuestPath(*info.store, token), true)
	}
	return s.toPaymentAt(w, r, o, err, orders.GuestPath(*info.store, token))
}

// pageGuestOrderCancel cancels a guest's order from its link; refused (shipped already), the
// order's page again with the reason.
func (s *Server) pageGuestOrderCancel(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	token := r.PathValue("token")
	noStore(w)
	o, _, err := s.orders.GuestCancel(r.Context(), *info.store, token, s.idempotency(r, formBody(r)))
	if shop.KindOf(err) == shop.KindConflict && o.ID != "" {
		return s.orderRefused(w, r, o, err, orders.GuestPath(*info.store, token), true)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, orders.GuestPath(*info.store, token), http.StatusSeeOther) // #nosec G710 -- the token named an order (GuestCancel found it): 32 base32 letters, a path of this shop
	return nil
}

func (s *Server) pageOrders(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	info := infoOf(r)
	page, err := s.orders.List(r.Context(), info.principal, info.store.ID, shop.OrderFilter{Cursor: cursor, Limit: limit})
	if err != nil {
		return err
	}
	d := pageData{Title: "Orders", NextCursor: page.NextCursor}
	for _, o := range page.Orders {
		d.Orders = append(d.Orders, viewOrder(o))
	}
	return s.render(w, r, "orders", d)
}

func (s *Server) pageOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	q := r.URL.Query()
	returned := q.Get("paid") == "1" // back from the provider's page
	var o shop.Order
	var err error
	if returned {
		o, err = s.orders.Refresh(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	} else {
		o, err = s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	v := viewOrder(o)
	d := pageData{Title: "Order " + o.Ref(), Order: &v, OrderBase: "/s/" + info.store.Slug + "/orders/" + o.ID}
	return s.renderOrder(w, r, d, o, returned)
}

// renderOrder shows an order's page with what the visit says: back from paying, or a payment page
// that could not be opened.
func (s *Server) renderOrder(w http.ResponseWriter, r *http.Request, d pageData, o shop.Order, returned bool) error {
	q := r.URL.Query()
	switch {
	case returned && o.Status == shop.OrderPendingPayment:
		// The provider has not told the shop yet: the page asks again by itself, without JavaScript.
		d.Flash, d.Refresh = "Payment pending: we are waiting for the payment provider to confirm it. This page refreshes itself.", 3
	case returned && o.Status == shop.OrderPaid:
		d.Flash = "Thank you! Your payment is confirmed and your order is placed. A confirmation is on its way by e-mail."
	case q.Get("unopened") == "1" && o.Status == shop.OrderPendingPayment:
		d.Flash, d.Alert = "Your order is kept, but the payment page could not be opened just now. Press Pay to try again.", true
	}
	return s.render(w, r, "order", d)
}

func (s *Server) pageOrderCancel(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, _, err := s.orders.Cancel(r.Context(), info.principal, info.store.ID, r.PathValue("id"), s.idempotency(r, formBody(r)))
	if shop.KindOf(err) == shop.KindConflict {
		if o.ID == "" {
			got, gerr := s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
			if gerr != nil {
				return gerr
			}
			o = got
		}
		return s.orderRefused(w, r, o, err, "/s/"+info.store.Slug+"/orders/"+o.ID, false)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/s/"+info.store.Slug+"/orders/"+o.ID, http.StatusSeeOther)
	return nil
}

// orderRefused shows an order's page again (409) with why what was asked of it was refused;
// base is the address of the order's page, its forms' too.
func (s *Server) orderRefused(w http.ResponseWriter, r *http.Request, o shop.Order, err error, base string, guest bool) error {
	v := viewOrder(o)
	s.renderStatus(w, r, http.StatusConflict, "order", pageData{Title: "Order " + o.Ref(), Order: &v, Flash: shop.AsError(err).Message, Alert: true,
		OrderBase: base, Guest: guest})
	return nil
}

// noStore keeps a page out of every cache and search index: it holds a guest's link.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
}
