package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

// checkoutState is what the checkout page shows: the address form (kept as typed), and once the
// address is priced the shipping methods that take the cart there, each with the total it makes.
type checkoutState struct {
	Ships           bool
	Address         shop.Address
	Billing         shop.Address
	SeparateBilling bool
	Countries       []countryOption
	Options         []optionView
	Quoted          bool      // the address was priced: the methods and the figures are shown
	Summary         quoteView // the figures with the chosen method (or, before one is, without shipping)
	Errors          []shop.FieldError
	Delivery        string // the chosen method's price as shown: "£3.95", "Free"
	Saved           bool   // the address came from the customer's address book
	SaveAddress     bool   // the "save this address" box is ticked
	Guest           bool   // a visitor checking out without an account
	Email           string // the guest's address, as typed
	Action          string // where the form posts
}

type countryOption struct {
	Code, Name string
}

type optionView struct {
	ID, Name, Estimate string
	Price, Total       shop.Money
	Selected           bool
}

// countries are every country an address can be in, by name.
var countries = func() []countryOption {
	var out []countryOption
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if c := string([]rune{a, b}); shop.ValidCountry(c) {
				out = append(out, countryOption{c, shop.CountryName(c)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}()

// shipsTo are the countries a store's set-up ships to, by name.
func shipsTo(sh shop.Shipping) []countryOption {
	var out []countryOption
	for _, c := range countries {
		if sh.ShipsTo(c.Code) {
			out = append(out, c)
		}
	}
	return out
}

// fieldError is the message for a form field among a refusal's fields, the API's name of the field
// ("shipping_address.postcode") given.
func fieldError(errs []shop.FieldError, field string) string {
	for _, e := range errs {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

func formAddress(r *http.Request, prefix string) shop.Address {
	v := func(f string) string { return r.PostFormValue(prefix + f) }
	return shop.Address{Name: v("name"), Line1: v("line1"), Line2: v("line2"), City: v("city"), Region: v("region"),
		Postcode: v("postcode"), Country: v("country"), Phone: v("phone")}
}

// expectedTotal is the total the checkout page showed beside the chosen method (or, for a store
// that posts nothing, the one total): what the customer accepted.
func expectedTotal(r *http.Request, d orders.Destination, currency string) *shop.Money {
	v := r.PostFormValue("expected_total")
	if d.ShippingMethodID != "" {
		v = r.PostFormValue("expected_total_" + d.ShippingMethodID)
	}
	t, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return nil
	}
	return &shop.Money{Amount: t, Currency: currency}
}

// checkoutForm is the destination the checkout form carries.
func checkoutForm(r *http.Request) (orders.Destination, bool) {
	ship := formAddress(r, "ship_")
	d := orders.Destination{ShippingAddress: &ship, ShippingMethodID: r.PostFormValue("shipping_method")}
	separate := r.PostFormValue("billing_same") != "on"
	if separate {
		bill := formAddress(r, "bill_")
		d.BillingAddress = &bill
	}
	return d, separate
}

func (s *Server) pageCheckout(w http.ResponseWriter, r *http.Request) error {
	return s.renderCheckout(w, r, http.StatusOK, "", nil, nil, false)
}

// renderCheckout shows the checkout page: d is what the form carried (nil on the first visit),
// priced when the address is complete.
func (s *Server) renderCheckout(w http.ResponseWriter, r *http.Request, status int, flash string, fields []shop.FieldError, d *orders.Destination, separate bool) error {
	return s.renderCheckoutAs(w, r, false, status, flash, fields, d, separate)
}

// renderCheckoutAs is renderCheckout for a customer, or (guest) for a visitor without an account,
// whose cart is the cookie's.
func (s *Server) renderCheckoutAs(w http.ResponseWriter, r *http.Request, guest bool, status int, flash string, fields []shop.FieldError, d *orders.Destination, separate bool) error {
	info := infoOf(r)
	var c orders.Cart
	var err error
	if guest {
		c, err = s.orders.VisitorCart(r.Context(), info.store.ID, s.visitorToken(r))
	} else {
		c, err = s.orders.Cart(r.Context(), info.principal, info.store.ID)
	}
	if err != nil {
		return err
	}
	if len(c.Lines) == 0 && flash == "" {
		http.Redirect(w, r, "/s/"+info.store.Slug+"/cart", http.StatusSeeOther)
		return nil
	}
	quote := func(dest orders.Destination) (orders.Quote, error) {
		if guest {
			return s.orders.VisitorQuote(r.Context(), *info.store, s.visitorToken(r), dest)
		}
		q, _, err := s.orders.Quote(r.Context(), info.principal, *info.store, dest)
		return q, err
	}
	sh, err := s.orders.Shipping(r.Context(), *info.store)
	if err != nil {
		return err
	}
	cur := info.store.Currency
	v := viewCart(c, cur)
	st := &checkoutState{Ships: len(sh.Zones) > 0, Countries: shipsTo(sh), SeparateBilling: separate, Guest: guest,
		Email: r.PostFormValue("email"), Action: "/s/" + info.store.Slug + "/checkout"}
	if guest {
		st.Action += "/guest"
	}
	st.Summary = quoteView{ItemsTotal: v.Total, Total: v.Total, PricesIncludeTax: sh.PricesIncludeTax}
	dest := orders.Destination{}
	if d != nil {
		dest = *d
		if d.ShippingAddress != nil {
			st.Address = *d.ShippingAddress
		}
		if d.BillingAddress != nil {
			st.Billing = *d.BillingAddress
		}
	}
	if d == nil && !guest && st.Ships { // the first visit: the address book's default, and an offer to keep a new one
		if book, err := s.orders.Addresses(r.Context(), info.principal, info.store.ID); err == nil && len(book) > 0 && sh.ShipsTo(book[0].Address.Country) {
			st.Address = book[0].Address
			st.Saved = true
		}
	}
	st.SaveAddress = !guest && (d == nil || r.PostFormValue("save_address") == "on")
	if len(st.Countries) == 1 && st.Address.Country == "" {
		st.Address.Country = st.Countries[0].Code
	}
	if !st.Ships || d != nil {
		// Price what the form holds: the methods for the address and the figures with the chosen one.
		q, err := quote(dest)
		switch e := shop.AsError(err); {
		case err == nil:
			st.Quoted = st.Ships
			st.Summary = viewQuote(q, cur)
			if st.Ships { // as the post writes it: SW1Y 4JU
				st.Address = q.Shipping
				if separate {
					st.Billing = q.Billing
				}
			}
			for i, o := range q.Options {
				st.Options = append(st.Options, optionView{ID: o.Method.ID, Name: o.Method.Name, Estimate: o.Method.Estimate(),
					Price: shop.M(o.Price, cur), Total: shop.M(q.Each[i].Total, cur), Selected: q.Chosen != nil && q.Chosen.Method.ID == o.Method.ID})
			}
			if q.Chosen == nil && len(st.Options) > 0 { // the first method, until another is chosen
				st.Options[0].Selected = true
				q.Chosen, q.Totals = &q.Options[0], q.Each[0]
				st.Summary = viewQuote(q, cur)
			}
		case e != nil && (e.Kind == shop.KindInvalid || e.Kind == shop.KindConflict) && d != nil:
			if flash == "" { // the quote's own refusal; a checkout's was passed in, and says the same
				flash, status, fields = e.Message, http.StatusUnprocessableEntity, e.Fields
				if e.Kind == shop.KindConflict {
					status = http.StatusConflict
				}
			}
		case e != nil && e.Kind == shop.KindInvalid:
			// the first visit: nothing typed yet
		default:
			return err
		}
	}
	for _, o := range st.Options {
		if o.Selected {
			if st.Delivery = o.Price.String(); o.Price.Amount == 0 {
				st.Delivery = "Free"
			}
		}
	}
	st.Errors = fields // shown beside their fields
	if len(fields) > 0 && (flash == "" || flash == shop.Invalid().Message) {
		flash = "Some details need your attention: see the fields marked below."
	}
	s.renderStatus(w, r, status, "checkout", pageData{Title: "Checkout", Cart: &v, Checkout: st, Flash: flash, Alert: flash != ""})
	return nil
}

// pageCheckoutPost prices the address (action "quote": the form again, with the methods) or
// places the order and sends the customer to the payment provider's page. The form's key makes a
// double submission one order, and the total shown beside the chosen method is the total the
// customer accepted. The shop's own pages never ask for a card.
func (s *Server) pageCheckoutPost(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	d, separate := checkoutForm(r)
	if r.PostFormValue("action") == "quote" {
		return s.renderCheckout(w, r, http.StatusOK, "", nil, &d, separate)
	}
	req := orders.CheckoutRequest{Destination: d, ExpectedTotal: expectedTotal(r, d, info.store.Currency), Idempotency: s.idempotency(r, formBody(r))}
	o, _, err := s.orders.Checkout(r.Context(), info.principal, *info.store, req)
	if o.ID != "" && r.PostFormValue("save_address") == "on" && d.ShippingAddress != nil {
		// Kept for next time; the order is made either way.
		if _, aerr := s.orders.AddAddress(r.Context(), info.principal, info.store.ID, *d.ShippingAddress, false); aerr != nil {
			s.log.WarnContext(r.Context(), "address not kept in the address book", "request_id", info.id, "err", aerr)
		}
	}
	if e := shop.AsError(err); e != nil && o.ID == "" {
		switch e.Kind {
		case shop.KindInvalid, shop.KindConflict, shop.KindBadRequest:
			status, _, _ := statusOf(err)
			return s.renderCheckout(w, r, status, e.Message, e.Fields, &d, separate)
		}
	}
	return s.toPayment(w, r, o, err)
}

// pageCheckoutGuest is the checkout of a visitor without an account: their e-mail address, then
// what a customer's checkout asks. A signed-in customer is sent to theirs; a store that takes no
// guests sends the visitor to sign in.
func (s *Server) pageCheckoutGuest(w http.ResponseWriter, r *http.Request) error {
	if to, ok := s.notForGuests(r); ok {
		// #nosec G710 -- a path inside this store: its slug and our own constants
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	return s.renderCheckoutAs(w, r, true, http.StatusOK, "", nil, nil, false)
}

// notForGuests is where a visitor is sent instead of the guest checkout: a customer to their own,
// anyone in a store that takes no guests to sign in.
func (s *Server) notForGuests(r *http.Request) (string, bool) {
	info := infoOf(r)
	base := "/s/" + info.store.Slug
	if info.principal.Authenticated() {
		return base + "/checkout", true
	}
	if on, err := s.orders.GuestsWelcome(r.Context(), *info.store); err != nil || !on {
		return base + "/login?next=" + base + "/checkout", true
	}
	return "", false
}

// pageCheckoutGuestPost prices the address or places a guest's order and sends them to pay, as
// pageCheckoutPost does for a customer.
func (s *Server) pageCheckoutGuestPost(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if to, ok := s.notForGuests(r); ok {
		// #nosec G710 -- a path inside this store: its slug and our own constants
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	d, separate := checkoutForm(r)
	if r.PostFormValue("action") == "quote" {
		return s.renderCheckoutAs(w, r, true, http.StatusOK, "", nil, &d, separate)
	}
	req := orders.GuestCheckoutRequest{Email: r.PostFormValue("email"), CheckoutRequest: orders.CheckoutRequest{Destination: d,
		ExpectedTotal: expectedTotal(r, d, info.store.Currency), Idempotency: s.idempotency(r, formBody(r))}}
	o, token, _, err := s.orders.GuestCheckout(r.Context(), *info.store, s.visitorToken(r), req)
	if e := shop.AsError(err); e != nil && o.ID == "" {
		switch e.Kind {
		case shop.KindInvalid, shop.KindConflict, shop.KindBadRequest:
			status, _, _ := statusOf(err)
			return s.renderCheckoutAs(w, r, true, status, e.Message, e.Fields, &d, separate)
		}
	}
	return s.toPaymentAt(w, r, o, err, orders.GuestPath(*info.store, token))
}
