package shop_test

import (
	"math/rand/v2"
	"testing"

	"secureshop/internal/shop"
)

var (
	ukVAT = []shop.TaxRate{{Class: shop.TaxStandard, Rate: 20000, Name: "VAT"}, {Class: shop.TaxReduced, Rate: 5000, Name: "VAT"}, {Class: shop.TaxZero, Rate: 0, Name: "VAT"}}
	nyc   = []shop.TaxRate{{Class: shop.TaxStandard, Rate: 8875, Name: "Sales tax"}}
)

// The worked examples: each figure below was worked out by hand (the comment shows how), and the
// rule must give exactly it. Rounding is per line, half away from zero, in minor units.
func TestTax_WorkedExamples(t *testing.T) {
	cases := []struct {
		name     string
		rule     shop.TaxRule
		lines    []shop.PricedLine
		shipping int64
		// expected
		subtotal, shippingNet, tax, total int64
		taxes                             []shop.TaxLine
	}{
		{
			// £12.00 including 20 % VAT: 12.00 ÷ 1.2 = 10.00 net, 2.00 VAT.
			name: "20% VAT included, one item", rule: shop.TaxRule{Inclusive: true, Rates: ukVAT},
			lines:    []shop.PricedLine{{Amount: 1200, Class: shop.TaxStandard}},
			subtotal: 1000, tax: 200, total: 1200,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 20000, Name: "VAT", Base: 1000, Amount: 200}},
		},
		{
			// 3 × £9.99 = £29.97 including VAT: 29.97 ÷ 6 = 4.995 → 5.00 VAT (the half penny up), 24.97 net.
			name: "20% VAT included, several of one item", rule: shop.TaxRule{Inclusive: true, Rates: ukVAT},
			lines:    []shop.PricedLine{{Amount: 3 * 999, Class: shop.TaxStandard}},
			subtotal: 2497, tax: 500, total: 2997,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 20000, Name: "VAT", Base: 2497, Amount: 500}},
		},
		{
			// 2 × $19.99 = $39.98 plus 8.875 %: 39.98 × 0.08875 = 3.548225 → 3.55; total 43.53.
			name: "8.875% sales tax added, several of one item", rule: shop.TaxRule{Rates: nyc},
			lines:    []shop.PricedLine{{Amount: 2 * 1999, Class: shop.TaxStandard}},
			subtotal: 3998, tax: 355, total: 4353,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 8875, Name: "Sales tax", Base: 3998, Amount: 355}},
		},
		{
			// $19.99 and $0.05 plus 8.875 %, each line rounded on its own: 1.774 → 1.77 and 0.0044 → 0.00.
			name: "8.875% added, rounded per line", rule: shop.TaxRule{Rates: nyc},
			lines:    []shop.PricedLine{{Amount: 1999, Class: shop.TaxStandard}, {Amount: 5, Class: shop.TaxStandard}},
			subtotal: 2004, tax: 177, total: 2181,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 8875, Name: "Sales tax", Base: 2004, Amount: 177}},
		},
		{
			// A zero-rated book of £8.99: no VAT, listed at 0 %.
			name: "zero-rated line", rule: shop.TaxRule{Inclusive: true, Rates: ukVAT},
			lines:    []shop.PricedLine{{Amount: 899, Class: shop.TaxZero}},
			subtotal: 899, tax: 0, total: 899,
			taxes: []shop.TaxLine{{Class: shop.TaxZero, Rate: 0, Name: "VAT", Base: 899, Amount: 0}},
		},
		{
			// A reduced-rate car seat of £42.00 including 5 %: 42.00 ÷ 21 = 2.00 VAT, 40.00 net.
			name: "reduced-rate line", rule: shop.TaxRule{Inclusive: true, Rates: ukVAT},
			lines:    []shop.PricedLine{{Amount: 4200, Class: shop.TaxReduced}},
			subtotal: 4000, tax: 200, total: 4200,
			taxes: []shop.TaxLine{{Class: shop.TaxReduced, Rate: 5000, Name: "VAT", Base: 4000, Amount: 200}},
		},
		{
			// A mixed UK order with £4.80 shipping taxed at the standard rate: 29.97 (4.995 → 5.00 VAT),
			// 8.99 zero-rated, 4.20 at 5 % (0.20), shipping 4.80 (0.80). Standard: base 24.97 + 4.00,
			// VAT 5.00 + 0.80; total 29.97 + 8.99 + 4.20 + 4.80 = 47.96.
			name: "mixed classes with taxed shipping, VAT included", rule: shop.TaxRule{Inclusive: true, Rates: ukVAT, ShippingClass: shop.TaxStandard},
			lines:    []shop.PricedLine{{Amount: 2997, Class: shop.TaxStandard}, {Amount: 899, Class: shop.TaxZero}, {Amount: 420, Class: shop.TaxReduced}},
			shipping: 480,
			subtotal: 2497 + 899 + 400, shippingNet: 400, tax: 500 + 20 + 80, total: 4796,
			taxes: []shop.TaxLine{
				{Class: shop.TaxStandard, Rate: 20000, Name: "VAT", Base: 2497 + 400, Amount: 580},
				{Class: shop.TaxReduced, Rate: 5000, Name: "VAT", Base: 400, Amount: 20},
				{Class: shop.TaxZero, Rate: 0, Name: "VAT", Base: 899, Amount: 0},
			},
		},
		{
			// $5.00 shipping plus 8.875 %: 0.44375 → 0.44.
			name: "shipping taxed, tax added", rule: shop.TaxRule{Rates: nyc, ShippingClass: shop.TaxStandard},
			lines:    []shop.PricedLine{{Amount: 1000, Class: shop.TaxStandard}},
			shipping: 500,
			subtotal: 1000, shippingNet: 500, tax: 89 + 44, total: 1633,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 8875, Name: "Sales tax", Base: 1500, Amount: 133}},
		},
		{
			// Shipping at the zero class is not taxed: the zone charges nothing for it.
			name: "shipping untaxed", rule: shop.TaxRule{Rates: nyc, ShippingClass: shop.TaxZero},
			lines:    []shop.PricedLine{{Amount: 1000, Class: shop.TaxStandard}},
			shipping: 500,
			subtotal: 1000, shippingNet: 500, tax: 89, total: 1589,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 8875, Name: "Sales tax", Base: 1000, Amount: 89}, {Class: shop.TaxZero, Base: 500}},
		},
		{
			// Exactly half a minor unit rounds up: 5 × 10 % = 0.5 → 1.
			name: "half a minor unit rounds up", rule: shop.TaxRule{Rates: []shop.TaxRate{{Class: shop.TaxStandard, Rate: 10000}}},
			lines:    []shop.PricedLine{{Amount: 5, Class: shop.TaxStandard}},
			subtotal: 5, tax: 1, total: 6,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 10000, Base: 5, Amount: 1}},
		},
		{
			// ¥1,000 including Japan's 10 %: 1000 ÷ 11 = 90.9 → ¥91 tax, ¥909 net (the yen has no minor unit).
			name: "yen, tax included", rule: shop.TaxRule{Inclusive: true, Rates: []shop.TaxRate{{Class: shop.TaxStandard, Rate: 10000, Name: "Consumption tax"}}},
			lines:    []shop.PricedLine{{Amount: 1000, Class: shop.TaxStandard}},
			subtotal: 909, tax: 91, total: 1000,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Rate: 10000, Name: "Consumption tax", Base: 909, Amount: 91}},
		},
		{
			// A zone without a rate for the class charges no tax: exports from the UK are zero-rated.
			name: "zone without rates", rule: shop.TaxRule{Inclusive: true},
			lines:    []shop.PricedLine{{Amount: 2997, Class: shop.TaxStandard}},
			shipping: 1500,
			subtotal: 2997, shippingNet: 1500, tax: 0, total: 4497,
			taxes: []shop.TaxLine{{Class: shop.TaxStandard, Base: 4497}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.rule.Compute(c.lines, c.shipping)
			if got.Subtotal != c.subtotal || got.Shipping != c.shippingNet || got.Tax != c.tax || got.Total != c.total {
				t.Fatalf("subtotal %d shipping %d tax %d total %d, want %d %d %d %d", got.Subtotal, got.Shipping, got.Tax, got.Total,
					c.subtotal, c.shippingNet, c.tax, c.total)
			}
			if len(got.Taxes) != len(c.taxes) {
				t.Fatalf("taxes %+v, want %+v", got.Taxes, c.taxes)
			}
			for i := range c.taxes {
				if got.Taxes[i] != c.taxes[i] {
					t.Fatalf("tax line %d %+v, want %+v", i, got.Taxes[i], c.taxes[i])
				}
			}
		})
	}
}

// Whatever the lines, the figures add up: total = subtotal + shipping + tax, the rates' lines sum to
// the tax and the subtotal, and with prices including tax the total is what the customer was shown.
func TestTax_FiguresAlwaysAddUp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rates := []int64{0, 5000, 7000, 8875, 10000, 19000, 20000, 21000, 25500}
	for i := 0; i < 5000; i++ {
		rule := shop.TaxRule{Inclusive: r.IntN(2) == 0, ShippingClass: shop.TaxClasses[r.IntN(3)]}
		for _, c := range shop.TaxClasses {
			rule.Rates = append(rule.Rates, shop.TaxRate{Class: c, Rate: rates[r.IntN(len(rates))]})
		}
		var lines []shop.PricedLine
		var shown int64
		for n := 1 + r.IntN(6); n > 0; n-- {
			l := shop.PricedLine{Amount: int64(1+r.IntN(99)) * r.Int64N(100_000), Class: shop.TaxClasses[r.IntN(3)]}
			lines, shown = append(lines, l), shown+l.Amount
		}
		shipping := r.Int64N(3000)
		got := rule.Compute(lines, shipping)
		var base, tax int64
		for _, l := range got.Taxes {
			base, tax = base+l.Base, tax+l.Amount
		}
		if got.Total != got.Subtotal+got.Shipping+got.Tax || tax != got.Tax || base != got.Subtotal+got.Shipping {
			t.Fatalf("%+v: figures do not add up: %+v", rule, got)
		}
		if rule.Inclusive && got.Total != shown+shipping {
			t.Fatalf("%+v: total %d, the customer was shown %d", rule, got.Total, shown+shipping)
		}
		if !rule.Inclusive && (got.Subtotal != shown || got.Shipping != shipping) {
			t.Fatalf("%+v: net figures %d %d, priced %d %d", rule, got.Subtotal, got.Shipping, shown, shipping)
		}
	}
}

func TestRate_ParseAndFormat(t *testing.T) {
	for _, c := range []struct {
		in   string
		rate int64
		ok   bool
		out  string
	}{
		{"20", 20000, true, "20%"}, {"8.875", 8875, true, "8.875%"}, {"5.5%", 5500, true, "5.5%"}, {"0", 0, true, "0%"},
		{"100", 100000, true, "100%"}, {"100.001", 0, false, ""}, {"-5", 0, false, ""}, {"1e3", 0, false, ""}, {"8.8755", 0, false, ""}, {"", 0, false, ""},
	} {
		got, ok := shop.ParseRate(c.in)
		if ok != c.ok || (ok && got != c.rate) {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, %v", c.in, got, ok, c.rate, c.ok)
		}
		if ok && shop.FormatRate(got) != c.out {
			t.Errorf("FormatRate(%d) = %q, want %q", got, shop.FormatRate(got), c.out)
		}
	}
}

func TestShipping_QuotesAndZones(t *testing.T) {
	s := shop.Shipping{PricesIncludeTax: true, Zones: []shop.ShippingZone{
		{Name: "UK", Countries: []string{"GB"}, Methods: []shop.ShippingMethod{
			{Name: "Standard", Price: 395, FreeAbove: 5000},
			{Name: "By weight", Tiers: []shop.WeightTier{{UpToGrams: 500, Price: 300}, {UpToGrams: 2000, Price: 700}}},
		}},
		{Name: "World", Countries: []string{shop.RestOfWorld}, Methods: []shop.ShippingMethod{{Name: "Airmail", Price: 1500}}},
	}}
	if f := s.Check(); len(f) != 0 {
		t.Fatal(f)
	}
	uk, ok := s.Zone("GB")
	if !ok || uk.Name != "UK" {
		t.Fatalf("GB is in %+v", uk)
	}
	if w, ok := s.Zone("JP"); !ok || w.Name != "World" {
		t.Fatalf("JP is in %+v", w)
	}
	if _, ok := s.Zone("ZZ"); ok {
		t.Fatal("a code that is no country has a zone")
	}
	for _, c := range []struct {
		items int64
		grams int
		want  []int64
	}{
		{4999, 100, []int64{395, 300}}, {5000, 100, []int64{0, 300}}, {1000, 501, []int64{395, 700}}, {1000, 2001, []int64{395}},
	} {
		opts := uk.Options(c.items, c.grams)
		var got []int64
		for _, o := range opts {
			got = append(got, o.Price)
		}
		if len(got) != len(c.want) {
			t.Fatalf("items %d, %d g: %v, want %v", c.items, c.grams, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("items %d, %d g: %v, want %v", c.items, c.grams, got, c.want)
			}
		}
	}
	bad := shop.Shipping{ShippingTaxClass: "luxury", Zones: []shop.ShippingZone{
		{Name: "", Countries: []string{"UK", "GB"}, TaxRates: []shop.TaxRate{{Class: shop.TaxStandard, Rate: 200000}}},
		{Name: "Again", Countries: []string{"GB"}, Methods: []shop.ShippingMethod{{Name: "x", Price: -1, MaxDays: 2, MinDays: 3,
			Tiers: []shop.WeightTier{{UpToGrams: 100}, {UpToGrams: 50}}}}},
	}}
	want := map[string]bool{"shipping_tax_class": true, "zones.0.name": true, "zones.0.countries.0": true, "zones.0.tax_rates.0.rate": true,
		"zones.1.countries.0": true, "zones.1.methods.0.price": true, "zones.1.methods.0.max_days": true, "zones.1.methods.0.weight_tiers.1": true}
	for _, f := range bad.Check() {
		if !want[f.Field] {
			t.Errorf("unexpected refusal %s: %s", f.Field, f.Message)
		}
		delete(want, f.Field)
	}
	for f := range want {
		t.Errorf("%s not refused", f)
	}
}

func TestAddress_Check(t *testing.T) {
	ships := func(c string) bool { return c == "GB" || c == "US" || c == "DE" }
	good := shop.Address{Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", Postcode: "sw1y4ju", Country: "gb"}.Normal()
	if good.Postcode != "SW1Y 4JU" || good.Country != "GB" {
		t.Fatalf("normalised to %+v", good)
	}
	if f := good.Check("shipping_address.", ships, "we do not ship there"); len(f) != 0 {
		t.Fatal(f)
	}
	for _, c := range []struct {
		a     shop.Address
		field string
	}{
		{shop.Address{Line1: "1 A St", City: "London", Postcode: "SW1Y 4JU", Country: "GB"}, "name"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "London", Postcode: "12345", Country: "GB"}, "postcode"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "Austin", Postcode: "78701", Country: "US"}, "region"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "Berlin", Postcode: "1011", Country: "DE"}, "postcode"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "Paris", Postcode: "75001", Country: "FR"}, "country"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "X", Postcode: "1", Country: "UK"}, "country"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "X", Postcode: "1", Country: "XX"}, "country"},
		{shop.Address{Name: "A\x00Bcc: x", Line1: "1 A St", City: "London", Postcode: "SW1Y 4JU", Country: "GB"}, "name"},
		{shop.Address{Name: "A", Line1: "1 A St\u202e", City: "London", Postcode: "SW1Y 4JU", Country: "GB"}, "line1"},
		{shop.Address{Name: "A", Line1: "1 A St", City: "London", Postcode: "SW1Y 4JU", Country: "GB", Phone: "<script>"}, "phone"},
	} {
		f := c.a.Normal().Check("shipping_address.", ships, "we do not ship there")
		if len(f) != 1 || f[0].Field != "shipping_address."+c.field {
			t.Errorf("%+v: %v, want one refusal of %s", c.a, f, c.field)
		}
	}
}
