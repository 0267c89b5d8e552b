package web

import (
	"net/http"

	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

type shippingOptionView struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Price    shop.Money `json:"price"`
	Estimate string     `json:"estimate"`
}

// quoteView is what the cart costs sent to an address: the methods that take it there and, once
// one is chosen, the figures checkout will charge.
type quoteView struct {
	Ships            bool                 `json:"ships"`
	Zone             string               `json:"zone"`
	Options          []shippingOptionView `json:"shipping_options"`
	ShippingMethodID string               `json:"shipping_method_id"`
	PricesIncludeTax bool                 `json:"prices_include_tax"`
	ItemsTotal       shop.Money           `json:"items_total"`
	Subtotal         shop.Money           `json:"subtotal"`
	ShippingAmount   shop.Money           `json:"shipping_cost"`
	Tax              shop.Money           `json:"tax"`
	Taxes            []taxView            `json:"taxes"`
	Total            shop.Money           `json:"total"`
}

func viewQuote(q orders.Quote, currency string) quoteView {
	m := func(a int64) shop.Money { return shop.M(a, currency) }
	v := quoteView{Ships: q.Ships, Zone: q.Zone.Name, Options: []shippingOptionView{}, PricesIncludeTax: q.Inclusive,
		ItemsTotal: m(q.ItemsTotal), Subtotal: m(q.Totals.Subtotal), ShippingAmount: m(q.Totals.Shipping), Tax: m(q.Totals.Tax),
		Taxes: viewTaxes(q.Totals.Taxes, currency), Total: m(q.Totals.Total)}
	for _, o := range q.Options {
		v.Options = append(v.Options, shippingOptionView{o.Method.ID, o.Method.Name, m(o.Price), o.Method.Estimate()})
	}
	if q.Chosen != nil {
		v.ShippingMethodID = q.Chosen.Method.ID
	}
	return v
}

// apiQuote prices the customer's cart sent to an address: the shipping methods that take it there
// with their prices, and with a method chosen the subtotal, shipping, tax and total checkout will
// charge (what expected_total should be).
func (s *Server) apiQuote(w http.ResponseWriter, r *http.Request) error {
	var in checkoutBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ExpectedTotal != nil {
		return shop.Invalid(shop.FieldError{Field: "expected_total", Message: "is for checkout, not for a quote"})
	}
	info := infoOf(r)
	q, _, err := s.orders.Quote(r.Context(), info.principal, *info.store, in.destination())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewQuote(q, info.store.Currency))
}

// apiShipping answers with the store's shipping and tax set-up.
func (s *Server) apiShipping(w http.ResponseWriter, r *http.Request) error {
	sh, err := s.orders.Shipping(r.Context(), *infoOf(r).store)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shippingDoc(sh))
}

// apiSetShipping replaces the store's shipping and tax set-up, whole.
func (s *Server) apiSetShipping(w http.ResponseWriter, r *http.Request) error {
	var in shop.Shipping
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	sh, err := s.orders.SetShipping(r.Context(), info.principal, *info.store, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shippingDoc(sh))
}

// shippingDoc is a set-up as the API writes it: every list present, even when empty.
func shippingDoc(sh shop.Shipping) shop.Shipping {
	if sh.Zones == nil {
		sh.Zones = []shop.ShippingZone{}
	}
	for i := range sh.Zones {
		z := &sh.Zones[i]
		if z.Methods == nil {
			z.Methods = []shop.ShippingMethod{}
		}
		if z.TaxRates == nil {
			z.TaxRates = []shop.TaxRate{}
		}
		if z.Countries == nil {
			z.Countries = []string{}
		}
	}
	return sh
}

type savedAddressView struct {
	ID      string       `json:"id"`
	Default bool         `json:"default"`
	Address shop.Address `json:"address"`
}

// apiAddresses lists the customer's address book.
func (s *Server) apiAddresses(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	book, err := s.orders.Addresses(r.Context(), info.principal, info.store.ID)
	if err != nil {
		return err
	}
	items := []savedAddressView{}
	for _, a := range book {
		items = append(items, savedAddressView{a.ID, a.Default, a.Address})
	}
	return writeJSON(w, http.StatusOK, newList(items, ""))
}

// apiAddAddress keeps an address in the customer's book.
func (s *Server) apiAddAddress(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Address *shop.Address `json:"address"`
		Default bool          `json:"default"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Address == nil {
		return shop.Invalid(shop.FieldError{Field: "address", Message: "is required"})
	}
	info := infoOf(r)
	a, err := s.orders.AddAddress(r.Context(), info.principal, info.store.ID, *in.Address, in.Default)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, savedAddressView{a.ID, a.Default, a.Address})
}

// apiDeleteAddress takes an address out of the customer's book.
func (s *Server) apiDeleteAddress(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.orders.DeleteAddress(r.Context(), info.principal, info.store.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
