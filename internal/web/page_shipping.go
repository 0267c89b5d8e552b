package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"secureshop/internal/shop"
)

// shippingAdmin is the back office's shipping page: the store's set-up, as forms.
type shippingAdmin struct {
	Setup    shop.Shipping
	Currency string
	Zones    []zoneForm
}

type zoneForm struct {
	Index     int
	Zone      shop.ShippingZone
	Countries string
	Rates     map[string]string // the rate per class as people write it, empty for none
	RateName  string
	Methods   []methodForm
}

type methodForm struct {
	Index            int
	Method           shop.ShippingMethod
	Price, FreeAbove string
	Tiers            string // one "grams price" a line
	MinDays, MaxDays string
}

func (s *Server) shippingForms(sh shop.Shipping, currency string) *shippingAdmin {
	d := func(a int64) string { return shop.M(a, currency).Decimal() }
	a := &shippingAdmin{Setup: sh, Currency: currency}
	for i, z := range sh.Zones {
		zf := zoneForm{Index: i, Zone: z, Countries: strings.Join(z.Countries, ", "), Rates: map[string]string{}}
		for _, r := range z.TaxRates {
			zf.Rates[string(r.Class)] = strings.TrimSuffix(shop.FormatRate(r.Rate), "%")
			if r.Name != "" {
				zf.RateName = r.Name
			}
		}
		for j, m := range z.Methods {
			mf := methodForm{Index: j, Method: m, Price: d(m.Price), MinDays: strconv.Itoa(m.MinDays), MaxDays: strconv.Itoa(m.MaxDays)}
			if m.FreeAbove > 0 {
				mf.FreeAbove = d(m.FreeAbove)
			}
			var tiers []string
			for _, t := range m.Tiers {
				tiers = append(tiers, strconv.Itoa(t.UpToGrams)+" "+d(t.Price))
			}
			mf.Tiers = strings.Join(tiers, "\n")
			zf.Methods = append(zf.Methods, mf)
		}
		a.Zones = append(a.Zones, zf)
	}
	return a
}

func (s *Server) pageAdminShipping(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	sh, err := s.orders.Shipping(r.Context(), *info.store)
	if err != nil {
		return err
	}
	d := s.admin(r, &adminState{Shipping: s.shippingForms(sh, info.store.Currency)})
	d.Title, d.Flash = "Shipping and tax", r.URL.Query().Get("saved")
	if d.Flash != "" {
		d.Flash = "Saved."
	}
	return s.render(w, r, "admin_shipping", d)
}

// pageAdminShippingPost changes one part of the set-up (its basics, a zone, a method), checks the
// whole and saves it; a refusal shows the page again with what was typed and what is wrong.
func (s *Server) pageAdminShippingPost(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	sh, err := s.orders.Shipping(r.Context(), *info.store)
	if err != nil {
		return err
	}
	cur := info.store.Currency
	var fields []shop.FieldError
	bad := func(f, msg string) { fields = append(fields, shop.FieldError{Field: f, Message: msg}) }
	amount := func(f, v string, optional bool) int64 {
		v = strings.TrimSpace(v)
		if v == "" && optional {
			return 0
		}
		n, ok := shop.ParseAmount(cur, v)
		if !ok {
			bad(f, "must be an amount such as "+shop.M(395, cur).Decimal())
		}
		return n
	}
	number := func(f, v string) int {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil && strings.TrimSpace(v) != "" {
			bad(f, "must be a whole number")
		}
		return n
	}
	zone := func() int {
		i, err := strconv.Atoi(r.PostFormValue("zone"))
		if err != nil || i < 0 || i >= len(sh.Zones) {
			return -1
		}
		return i
	}
	method := func(z int) int {
		j, err := strconv.Atoi(r.PostFormValue("method"))
		if err != nil || j < 0 || j >= len(sh.Zones[z].Methods) {
			return -1
		}
		return j
	}
	switch r.PostFormValue("op") {
	case "basics":
		sh.PricesIncludeTax = r.PostFormValue("prices_include_tax") == "on"
		sh.ShippingTaxClass = shop.TaxClass(r.PostFormValue("shipping_tax_class"))
		sh.Seller.Name, sh.Seller.TaxID = r.PostFormValue("seller_name"), r.PostFormValue("seller_tax_id")
		a := formAddress(r, "seller_")
		a.Name = sh.Seller.Name
		sh.Seller.Address = &a
	case "zone", "add-zone":
		i := zone()
		if r.PostFormValue("op") == "add-zone" {
			sh.Zones, i = append(sh.Zones, shop.ShippingZone{}), len(sh.Zones)
		}
		if i < 0 {
			return shop.NotFound("Zone")
		}
		z := &sh.Zones[i]
		z.Name = strings.TrimSpace(r.PostFormValue("name"))
		z.Countries = strings.FieldsFunc(strings.ToUpper(r.PostFormValue("countries")), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
		z.TaxRates = nil
		for _, c := range shop.TaxClasses {
			v := strings.TrimSpace(r.PostFormValue("rate_" + string(c)))
			if v == "" {
				continue
			}
			rate, ok := shop.ParseRate(v)
			if !ok {
				bad(fmt.Sprintf("zones.%d.tax_rates.%s", i, c), "must be a percentage such as 20 or 8.875")
			}
			z.TaxRates = append(z.TaxRates, shop.TaxRate{Class: c, Rate: rate, Name: strings.TrimSpace(r.PostFormValue("rate_name"))})
		}
	case "delete-zone":
		if i := zone(); i >= 0 {
			sh.Zones = slices.Delete(sh.Zones, i, i+1)
		}
	case "method", "add-method":
		i := zone()
		if i < 0 {
			return shop.NotFound("Zone")
		}
		j := method(i)
		if r.PostFormValue("op") == "add-method" {
			sh.Zones[i].Methods, j = append(sh.Zones[i].Methods, shop.ShippingMethod{}), len(sh.Zones[i].Methods)
		}
		if j < 0 {
			return shop.NotFound("Method")
		}
		m := &sh.Zones[i].Methods[j]
		p := fmt.Sprintf("zones.%d.methods.%d.", i, j)
		m.Name = strings.TrimSpace(r.PostFormValue("name"))
		m.Price = amount(p+"price", r.PostFormValue("price"), true)
		m.FreeAbove = amount(p+"free_above", r.PostFormValue("free_above"), true)
		m.MinDays, m.MaxDays = number(p+"min_days", r.PostFormValue("min_days")), number(p+"max_days", r.PostFormValue("max_days"))
		m.Tiers = nil
		for k, line := range strings.Split(strings.TrimSpace(r.PostFormValue("tiers")), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			g, price, _ := strings.Cut(line, " ")
			m.Tiers = append(m.Tiers, shop.WeightTier{UpToGrams: number(fmt.Sprintf("%sweight_tiers.%d", p, k), g),
				Price: amount(fmt.Sprintf("%sweight_tiers.%d", p, k), price, false)})
		}
	case "delete-method":
		if i := zone(); i >= 0 {
			if j := method(i); j >= 0 {
				sh.Zones[i].Methods = slices.Delete(sh.Zones[i].Methods, j, j+1)
			}
		}
	default:
		return shop.Invalid(shop.FieldError{Field: "op", Message: "is not a change this page makes"})
	}
	if len(fields) == 0 {
		_, err = s.orders.SetShipping(r.Context(), info.principal, *info.store, sh)
		if e := shop.AsError(err); e != nil && e.Kind == shop.KindInvalid {
			fields = e.Fields
		} else if err != nil {
			return err
		}
	}
	if len(fields) > 0 {
		d := s.admin(r, &adminState{Shipping: s.shippingForms(sh, cur)})
		d.Title, d.Flash, d.Alert, d.Errors = "Shipping and tax", "Nothing was saved: see what needs your attention.", true, fields
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "admin_shipping", d)
		return nil
	}
	return back(w, r, "/shipping?saved=1")
}
