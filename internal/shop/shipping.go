package shop

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// RestOfWorld in a zone's countries makes it the zone of every country no other zone lists.
const RestOfWorld = "*"

// ShippingZone is a set of countries a store ships to, with the methods it ships there by and the
// tax it charges there.
type ShippingZone struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Countries []string         `json:"countries"`
	Methods   []ShippingMethod `json:"methods"`
	TaxRates  []TaxRate        `json:"tax_rates"`
}

// WeightTier is a price for parcels up to a weight.
type WeightTier struct {
	UpToGrams int   `json:"up_to_grams"`
	Price     int64 `json:"price"`
}

// ShippingMethod is one way a store ships to a zone: a flat price or a price by weight, free above
// an order value when FreeAbove is set, with the days delivery takes.
type ShippingMethod struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Price     int64        `json:"price"`
	FreeAbove int64        `json:"free_above,omitempty"`
	Tiers     []WeightTier `json:"weight_tiers,omitempty"`
	MinDays   int          `json:"min_days"`
	MaxDays   int          `json:"max_days"`
}

// Quote is what the method charges for a cart whose items come to items (as the store prices
// them) and weigh grams; ok is false when it does not take the parcel (heavier than its last tier).
func (m ShippingMethod) Quote(items int64, grams int) (price int64, ok bool) {
	price = m.Price
	if len(m.Tiers) > 0 {
		i := slices.IndexFunc(m.Tiers, func(t WeightTier) bool { return grams <= t.UpToGrams })
		if i < 0 {
			return 0, false
		}
		price = m.Tiers[i].Price
	}
	if m.FreeAbove > 0 && items >= m.FreeAbove {
		price = 0
	}
	return price, true
}

// Estimate is the delivery time as people read it: "2–3 working days".
func (m ShippingMethod) Estimate() string {
	switch {
	case m.MaxDays <= 0:
		return ""
	case m.MinDays == m.MaxDays || m.MinDays <= 0:
		if m.MaxDays == 1 {
			return "next working day"
		}
		return strconv.Itoa(m.MaxDays) + " working days"
	}
	return fmt.Sprintf("%d–%d working days", m.MinDays, m.MaxDays)
}

// Shipping is a store's whole shipping and tax set-up, with the seller's details its invoices
// carry.
type Shipping struct {
	PricesIncludeTax bool           `json:"prices_include_tax"`
	ShippingTaxClass TaxClass       `json:"shipping_tax_class"`
	Zones            []ShippingZone `json:"zones"`
	Seller           Seller         `json:"seller"`
}

// Seller is who sells, as an invoice names them: the business's legal name, its address and its
// tax registration (a VAT number).
type Seller struct {
	Name    string   `json:"name"`
	Address *Address `json:"address,omitempty"`
	TaxID   string   `json:"tax_id"`
}

// Zone is the zone that ships to country: the first that lists it, else the rest of the world's.
func (s Shipping) Zone(country string) (ShippingZone, bool) {
	for _, z := range s.Zones {
		if slices.Contains(z.Countries, country) {
			return z, true
		}
	}
	for _, z := range s.Zones {
		if slices.Contains(z.Countries, RestOfWorld) {
			return z, ValidCountry(country)
		}
	}
	return ShippingZone{}, false
}

// ShipsTo reports whether some zone ships to country.
func (s Shipping) ShipsTo(country string) bool {
	_, ok := s.Zone(country)
	return ok
}

// TaxRule is how an order shipped to zone is taxed.
func (s Shipping) TaxRule(zone ShippingZone) TaxRule {
	return TaxRule{Inclusive: s.PricesIncludeTax, Rates: zone.TaxRates, ShippingClass: s.ShippingTaxClass}
}

// Option is a method a cart can ship by, priced.
type Option struct {
	Method ShippingMethod
	Price  int64
}

// Options are the methods of zone that take a cart whose items come to items and weigh grams,
// in the zone's order.
func (z ShippingZone) Options(items int64, grams int) []Option {
	var out []Option
	for _, m := range z.Methods {
		if p, ok := m.Quote(items, grams); ok {
			out = append(out, Option{Method: m, Price: p})
		}
	}
	return out
}

// Limits of a shipping set-up.
const (
	MaxZones        = 50
	MaxZoneMethods  = 20
	MaxWeightTiers  = 20
	MaxParcelGrams  = 1_000_000 // a tonne
	maxShippingName = 80
)

// Check returns what is wrong with s, each field named by its path ("zones.0.methods.1.price"),
// and fills in what is left empty: ids, the shipping tax class (standard).
func (s *Shipping) Check() []FieldError {
	var fields []FieldError
	bad := func(f string, format string, a ...any) {
		fields = append(fields, FieldError{Field: f, Message: fmt.Sprintf(format, a...)})
	}
	if s.ShippingTaxClass == "" {
		s.ShippingTaxClass = TaxStandard
	}
	if !s.ShippingTaxClass.Known() {
		bad("shipping_tax_class", "must be standard, reduced or zero")
	}
	if len(s.Seller.Name) > 100 || !printable(s.Seller.Name) {
		bad("seller.name", "is up to 100 characters")
	}
	if len(s.Seller.TaxID) > 40 || !printable(s.Seller.TaxID) {
		bad("seller.tax_id", "is up to 40 characters")
	}
	if a := s.Seller.Address; a != nil && !a.Empty() {
		n := a.Normal()
		s.Seller.Address = &n
		fields = append(fields, n.Check("seller.address.", nil, "")...)
	} else {
		s.Seller.Address = nil
	}
	if len(s.Zones) > MaxZones {
		bad("zones", "a store has at most %d zones", MaxZones)
	}
	seen := map[string]string{}
	for i := range s.Zones {
		z := &s.Zones[i]
		p := "zones." + strconv.Itoa(i) + "."
		if z.ID == "" {
			z.ID = NewID()
		}
		if z.Name == "" || len(z.Name) > maxShippingName || !printable(z.Name) {
			bad(p+"name", "is required, up to %d characters", maxShippingName)
		}
		if len(z.Countries) == 0 {
			bad(p+"countries", "a zone needs at least one country (or * for the rest of the world)")
		}
		for j, c := range z.Countries {
			switch {
			case c != RestOfWorld && !ValidCountry(c):
				bad(p+"countries."+strconv.Itoa(j), "%q is not an ISO 3166-1 country code", c)
			case seen[c] != "":
				bad(p+"countries."+strconv.Itoa(j), "%s is already in zone %s", c, strings.TrimPrefix(seen[c], "#"))
			default:
				seen[c] = "#" + z.Name // never empty, even for a zone without a name
			}
		}
		if len(z.Methods) > MaxZoneMethods {
			bad(p+"methods", "a zone has at most %d methods", MaxZoneMethods)
		}
		for j := range z.Methods {
			m := &z.Methods[j]
			mp := p + "methods." + strconv.Itoa(j) + "."
			if m.ID == "" {
				m.ID = NewID()
			}
			if m.Name == "" || len(m.Name) > maxShippingName || !printable(m.Name) {
				bad(mp+"name", "is required, up to %d characters", maxShippingName)
			}
			if m.Price < 0 || m.Price > maxMinor {
				bad(mp+"price", "must be between 0 and %d minor units", maxMinor)
			}
			if m.FreeAbove < 0 || m.FreeAbove > maxMinor {
				bad(mp+"free_above", "must be between 0 and %d minor units", maxMinor)
			}
			if m.MinDays < 0 || m.MaxDays < m.MinDays || m.MaxDays > 365 {
				bad(mp+"max_days", "must be at least min_days and at most 365")
			}
			if len(m.Tiers) > MaxWeightTiers {
				bad(mp+"weight_tiers", "a method has at most %d weight tiers", MaxWeightTiers)
			}
			for k, t := range m.Tiers {
				if t.UpToGrams <= 0 || t.UpToGrams > MaxParcelGrams || (k > 0 && t.UpToGrams <= m.Tiers[k-1].UpToGrams) || t.Price < 0 || t.Price > maxMinor {
					bad(mp+"weight_tiers."+strconv.Itoa(k), "tiers go up in weight (1 to %d g), each with a price of 0 or more", MaxParcelGrams)
				}
			}
		}
		classes := map[TaxClass]bool{}
		for j, r := range z.TaxRates {
			rp := p + "tax_rates." + strconv.Itoa(j) + "."
			switch {
			case !r.Class.Known():
				bad(rp+"class", "must be standard, reduced or zero")
			case classes[r.Class]:
				bad(rp+"class", "the zone has a rate for %s already", r.Class)
			}
			classes[r.Class] = true
			if r.Rate < 0 || r.Rate > MaxRate {
				bad(rp+"rate", "must be between 0 and %d (thousandths of a percent: 20000 is 20%%)", MaxRate)
			}
			if len(r.Name) > 40 || !printable(r.Name) {
				bad(rp+"name", "is up to 40 characters")
			}
		}
	}
	return fields
}

// maxMinor is the largest amount a shipping price or threshold may have: a billion major units of
// a two-decimal currency.
const maxMinor = 100_000_000_000
