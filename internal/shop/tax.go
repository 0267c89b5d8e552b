package shop

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TaxClass is the kind of rate a product (or shipping) is taxed at: most goods at the standard
// rate, some (children's car seats, energy in the UK) at a reduced one, some (books, children's
// clothes) at zero.
type TaxClass string

// Tax classes.
const (
	TaxStandard TaxClass = "standard"
	TaxReduced  TaxClass = "reduced"
	TaxZero     TaxClass = "zero"
)

// TaxClasses are the tax classes in the order invoices list them.
var TaxClasses = []TaxClass{TaxStandard, TaxReduced, TaxZero}

// Known reports whether c is one of the tax classes.
func (c TaxClass) Known() bool { return slices.Contains(TaxClasses, c) }

// RateScale is what a tax rate is counted in: thousandths of a percent, so that 20 % is 20000 and
// New York City's 8.875 % is 8875, exactly.
const RateScale = 100_000

// MaxRate is the highest rate a store may set: 100 %.
const MaxRate = RateScale

// TaxRate is the rate a zone charges for a class, with the name invoices give it ("VAT").
type TaxRate struct {
	Class TaxClass `json:"class"`
	Rate  int64    `json:"rate"` // in RateScale units: 20000 is 20 %
	Name  string   `json:"name"`
}

// FormatRate writes a rate as people read it: "20%", "8.875%", "0%".
func FormatRate(rate int64) string {
	whole, frac := rate/1000, rate%1000
	if frac == 0 {
		return strconv.FormatInt(whole, 10) + "%"
	}
	return strings.TrimRight(fmt.Sprintf("%d.%03d", whole, frac), "0") + "%"
}

// ParseRate reads a rate as people write it ("20", "8.875", "5.5") into RateScale units.
func ParseRate(v string) (int64, bool) {
	v = strings.TrimSuffix(strings.TrimSpace(v), "%")
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(whole) > 3 || len(frac) > 3 {
		return 0, false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	r := w*1000 + f
	return r, r <= MaxRate
}

// TaxRule is how a store taxes what ships to one zone: whether its prices include tax, the
// zone's rates per class (a class without one is not taxed there), and the class shipping is taxed
// at.
type TaxRule struct {
	Inclusive     bool
	Rates         []TaxRate
	ShippingClass TaxClass
}

// Rate is the rate of class under r: zero when the zone has none for it.
func (r TaxRule) Rate(class TaxClass) TaxRate {
	for _, t := range r.Rates {
		if t.Class == class {
			return t
		}
	}
	return TaxRate{Class: class}
}

// Split divides amount, a price as the store enters it, into what it is without tax and the tax on
// it, at rate. Rounding is per line, in minor units, half away from zero (so half a penny is a
// penny): with prices excluding tax, tax = round(amount × rate); with prices including it,
// tax = round(amount × rate ÷ (1 + rate)) and net = amount − tax, so that net + tax is exactly the
// price the customer was shown.
func (r TaxRule) Split(amount int64, rate int64) (net, tax int64) {
	if rate <= 0 || amount <= 0 {
		return amount, 0
	}
	if r.Inclusive {
		d := RateScale + rate
		tax = (2*amount*rate + d) / (2 * d)
		return amount - tax, tax
	}
	return amount, (2*amount*rate + RateScale) / (2 * RateScale)
}

// TaxLine is the tax of one rate on an order or a credit note: the amount it was charged on
// (without tax) and the tax.
type TaxLine struct {
	Class  TaxClass `json:"class"`
	Rate   int64    `json:"rate"`
	Name   string   `json:"name"`
	Base   int64    `json:"base"`
	Amount int64    `json:"amount"`
}

// Label is the line as an invoice names it: "VAT 20%".
func (t TaxLine) Label() string {
	n := t.Name
	if n == "" {
		n = "Tax"
	}
	return n + " " + FormatRate(t.Rate)
}

// PricedLine is a line to be taxed: its total as the store priced it, and its class.
type PricedLine struct {
	Amount int64
	Class  TaxClass
}

// LineTax is one line's share: without tax, its tax and the rate it was taxed at.
type LineTax struct {
	Net  int64
	Tax  int64
	Rate TaxRate
}

// Totals are an order's figures: Total = Subtotal + Shipping + Tax, every figure in minor units,
// Subtotal and Shipping without tax, Tax the sum of the lines' and the shipping's rounded taxes,
// Taxes that sum per rate.
type Totals struct {
	Lines       []LineTax
	Subtotal    int64
	Shipping    int64
	ShippingTax LineTax
	Tax         int64
	Total       int64
	Taxes       []TaxLine
}

// Compute taxes lines and a shipping price (both as the store prices them) under r.
func (r TaxRule) Compute(lines []PricedLine, shipping int64) Totals {
	var t Totals
	add := func(rate TaxRate, net, tax int64) {
		for i := range t.Taxes {
			if t.Taxes[i].Class == rate.Class && t.Taxes[i].Rate == rate.Rate {
				t.Taxes[i].Base += net
				t.Taxes[i].Amount += tax
				return
			}
		}
		t.Taxes = append(t.Taxes, TaxLine{Class: rate.Class, Rate: rate.Rate, Name: rate.Name, Base: net, Amount: tax})
	}
	for _, l := range lines {
		rate := r.Rate(l.Class)
		net, tax := r.Split(l.Amount, rate.Rate)
		t.Lines = append(t.Lines, LineTax{Net: net, Tax: tax, Rate: rate})
		t.Subtotal += net
		t.Tax += tax
		add(rate, net, tax)
	}
	if shipping > 0 {
		class := r.ShippingClass
		if class == "" {
			class = TaxStandard
		}
		rate := r.Rate(class)
		net, tax := r.Split(shipping, rate.Rate)
		t.ShippingTax = LineTax{Net: net, Tax: tax, Rate: rate}
		t.Shipping, t.Tax = net, t.Tax+tax
		add(rate, net, tax)
	}
	slices.SortStableFunc(t.Taxes, func(a, b TaxLine) int {
		return slices.Index(TaxClasses, a.Class) - slices.Index(TaxClasses, b.Class)
	})
	t.Total = t.Subtotal + t.Shipping + t.Tax
	return t
}
