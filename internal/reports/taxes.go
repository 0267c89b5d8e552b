package reports

import (
	"cmp"
	"slices"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// TaxRow is the tax of one rate in one period, from the invoices (tax charged) and the credit
// notes (tax given back) issued in it.
type TaxRow struct {
	Start    time.Time     `json:"start"`
	Class    shop.TaxClass `json:"class"`
	Rate     int64         `json:"rate"`
	Name     string        `json:"name"`
	Base     shop.Money    `json:"base"`     // what the tax was charged on, net of credit notes
	Invoiced shop.Money    `json:"invoiced"` // tax on the invoices
	Credited shop.Money    `json:"credited"` // tax on the credit notes
	Tax      shop.Money    `json:"tax"`      // collected: invoiced − credited
}

// ShippingRow is what one shipping method brought in in one period, from the orders invoiced in it.
type ShippingRow struct {
	Start   time.Time  `json:"start"`
	Method  string     `json:"method"`
	Orders  int        `json:"orders"`
	Charged shop.Money `json:"charged"` // as customers paid it
	Net     shop.Money `json:"net"`     // without tax
}

// taxRows adds invoice and credit note tax lines up by period and rate.
func taxRows(entries []sqlstore.TaxEntry, from time.Time, interval, currency string) []TaxRow {
	type key struct {
		start time.Time
		class shop.TaxClass
		rate  int64
		name  string
	}
	at := map[key]int{}
	out := []TaxRow{}
	for _, e := range entries {
		k := key{start(e.IssuedAt, interval), e.Class, e.Rate, e.Name}
		if k.start.Before(from) {
			k.start = start(from, interval)
		}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			zero := shop.M(0, currency)
			out = append(out, TaxRow{Start: k.start, Class: e.Class, Rate: e.Rate, Name: e.Name, Base: zero, Invoiced: zero, Credited: zero, Tax: zero})
		}
		r := &out[i]
		if e.Credit {
			r.Base.Amount -= e.Base
			r.Credited.Amount += e.Amount
		} else {
			r.Base.Amount += e.Base
			r.Invoiced.Amount += e.Amount
		}
		r.Tax.Amount = r.Invoiced.Amount - r.Credited.Amount
	}
	slices.SortFunc(out, func(a, b TaxRow) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := slices.Index(shop.TaxClasses, a.Class) - slices.Index(shop.TaxClasses, b.Class); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(b.Rate, a.Rate), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// shippingRows adds the shipping of invoiced orders up by period and method.
func shippingRows(entries []sqlstore.ShippingEntry, from time.Time, interval, currency string) []ShippingRow {
	type key struct {
		start  time.Time
		method string
	}
	at := map[key]int{}
	out := []ShippingRow{}
	for _, e := range entries {
		k := key{start(e.IssuedAt, interval), e.Method}
		if k.start.Before(from) {
			k.start = start(from, interval)
		}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, ShippingRow{Start: k.start, Method: e.Method, Charged: shop.M(0, currency), Net: shop.M(0, currency)})
		}
		r := &out[i]
		r.Orders++
		r.Charged.Amount += e.Charged
		r.Net.Amount += e.Net
	}
	slices.SortFunc(out, func(a, b ShippingRow) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Method, b.Method)) })
	return out
}
