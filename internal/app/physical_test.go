package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

// Addresses the tests ship to.
const (
	londonAddress = `{"name":"Ada Lovelace","line1":"12 St James's Square","city":"London","postcode":"SW1Y 4JU","country":"GB"}`
	berlinAddress = `{"name":"Emmy Noether","line1":"Unter den Linden 6","city":"Berlin","postcode":"10117","country":"DE"}`
	nycAddress    = `{"name":"Grace Hopper","line1":"350 Fifth Avenue","city":"New York","region":"NY","postcode":"10118","country":"US"}`
)

// ukShipping is a UK shop's set-up, prices including VAT: at home 20 %, 5 % and 0 %, posted for
// £4.80 (free from £50), or by weight; to the EU zero-rated, by weight.
func ukShipping() shop.Shipping {
	return shop.Shipping{PricesIncludeTax: true, ShippingTaxClass: shop.TaxStandard, Zones: []shop.ShippingZone{
		{Name: "UK", Countries: []string{"GB"}, TaxRates: []shop.TaxRate{{Class: shop.TaxStandard, Rate: 20000, Name: "VAT"},
			{Class: shop.TaxReduced, Rate: 5000, Name: "VAT"}, {Class: shop.TaxZero, Name: "VAT"}},
			Methods: []shop.ShippingMethod{{ID: "uk-post", Name: "Post", Price: 480, FreeAbove: 5000, MinDays: 2, MaxDays: 3},
				{ID: "uk-courier", Name: "Courier", MinDays: 1, MaxDays: 1, Tiers: []shop.WeightTier{{UpToGrams: 1000, Price: 600}, {UpToGrams: 5000, Price: 1200}}}}},
		{Name: "EU", Countries: []string{"DE", "FR", "NL"}, Methods: []shop.ShippingMethod{{ID: "eu-post", Name: "International",
			Tiers: []shop.WeightTier{{UpToGrams: 2000, Price: 1250}, {UpToGrams: 5000, Price: 1950}}}}},
	}}
}

// usShipping is a New York shop's set-up: prices without tax, 8.875 % added on goods and shipping.
func usShipping() shop.Shipping {
	return shop.Shipping{ShippingTaxClass: shop.TaxStandard, Zones: []shop.ShippingZone{
		{Name: "US", Countries: []string{"US"}, TaxRates: []shop.TaxRate{{Class: shop.TaxStandard, Rate: 8875, Name: "Sales tax"}},
			Methods: []shop.ShippingMethod{{ID: "us-ground", Name: "Ground", Price: 500, MinDays: 3, MaxDays: 5}}},
	}}
}

// shipping gives store the set-up sh.
func (s *testShop) shipping(slug string, sh shop.Shipping) {
	s.t.Helper()
	st, err := s.app.Stores.BySlug(context.Background(), slug)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.app.Orders.SetShipping(context.Background(), shop.System(), st, sh); err != nil {
		s.t.Fatal(err, shop.AsError(err).Fields)
	}
}

// goods creates a product priced in GBP with a tax class and a weight.
func (s *testShop) goods(slug, sku string, price int64, stock int, class shop.TaxClass, grams int) productJSON {
	s.t.Helper()
	return s.goodsIn(slug, "GBP", sku, price, stock, class, grams)
}

// goodsIn is goods priced in currency.
func (s *testShop) goodsIn(slug, currency, sku string, price int64, stock int, class shop.TaxClass, grams int) productJSON {
	s.t.Helper()
	admin := s.login(slug, "admin@example.com")
	a := s.call("POST", "/api/v1/stores/"+slug+"/products", admin.AccessToken, map[string]any{"sku": sku, "name": "Product " + sku,
		"price": map[string]any{"amount": price, "currency": currency}, "stock": stock, "tax_class": class, "weight_grams": grams})
	expectStatus(s.t, "create product", a, http.StatusCreated)
	var p productJSON
	a.json(s.t, &p)
	return p
}

type taxJSON struct {
	Class  shop.TaxClass `json:"class"`
	Rate   int64         `json:"rate"`
	Base   shop.Money    `json:"base"`
	Amount shop.Money    `json:"amount"`
}

type shippedOrderJSON struct {
	ID       string     `json:"id"`
	Number   int64      `json:"number"`
	Status   string     `json:"status"`
	Subtotal shop.Money `json:"subtotal"`
	Shipping shop.Money `json:"shipping_cost"`
	Tax      shop.Money `json:"tax"`
	Total    shop.Money `json:"total"`
	Refunded shop.Money `json:"refunded"`
	Taxes    []taxJSON  `json:"taxes"`
	Items    []struct {
		LineTotal shop.Money `json:"line_total"`
		Tax       shop.Money `json:"tax"`
		Net       shop.Money `json:"net"`
	} `json:"items"`
	ShippingAddress *shop.Address `json:"shipping_address"`
	Invoices        []struct {
		Kind   string     `json:"kind"`
		Number int64      `json:"number"`
		Amount shop.Money `json:"amount"`
		Tax    shop.Money `json:"tax"`
		Taxes  []taxJSON  `json:"taxes"`
	} `json:"invoices"`
}

// checkoutTo checks out token's cart sent to address by the method, first asking for the quote
// (whose total checkout must then charge).
func (s *testShop) checkoutTo(slug, token, address, method string) answer {
	s.t.Helper()
	body := `{"shipping_address":` + address + `,"shipping_method_id":"` + method + `"}`
	q := s.call("POST", "/api/v1/stores/"+slug+"/checkout/quote", token, body)
	expectStatus(s.t, "quote", q, http.StatusOK)
	var quote struct{ Total shop.Money }
	q.json(s.t, &quote)
	body = strings.TrimSuffix(body, "}") + fmt.Sprintf(`,"expected_total":{"amount":%d,"currency":%q}}`, quote.Total.Amount, quote.Total.Currency)
	return s.call("POST", "/api/v1/stores/"+slug+"/checkout", token, body, "Idempotency-Key", testenv.RandomName("k"))
}

// A worked example through the whole shop: 3 × £9.99 at 20 %, a zero-rated £8.99 and a £4.20 at
// 5 %, posted for £4.80, all prices including VAT. VAT: 4.995 → 5.00, 0, 0.20, and 0.80 on the
// post; the order, its invoice and the quote agree to the penny, and the address is kept as the
// post writes it.
func TestCheckout_WorkedExampleThroughTheShop(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("vat")
		s.shipping("vat", ukShipping())
		tea := s.goods("vat", "TEA", 999, 10, shop.TaxStandard, 100)
		book := s.goods("vat", "BOOK", 899, 10, shop.TaxZero, 300)
		seat := s.goods("vat", "SEAT", 420, 10, shop.TaxReduced, 200)
		tok := s.customer("vat", "ada@example.com").AccessToken
		for _, l := range []struct {
			id string
			q  int
		}{{tea.ID, 3}, {book.ID, 1}, {seat.ID, 1}} {
			expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/vat/cart/items/"+l.id, tok, fmt.Sprintf(`{"quantity":%d}`, l.q)), http.StatusOK)
		}
		// Without an address, or to a country the store does not ship to, nothing is reserved.
		a := s.call("POST", "/api/v1/stores/vat/checkout", tok, `{}`, "Idempotency-Key", "no-address")
		expectStatus(t, "no address", a, http.StatusUnprocessableEntity)
		if !strings.Contains(string(a.body), `"shipping_address"`) {
			t.Fatalf("the refusal does not name the address: %s", a.body)
		}
		a = s.call("POST", "/api/v1/stores/vat/checkout", tok, `{"shipping_address":`+nycAddress+`,"shipping_method_id":"uk-post"}`, "Idempotency-Key", "elsewhere")
		expectStatus(t, "a country not shipped to", a, http.StatusUnprocessableEntity)
		if !strings.Contains(string(a.body), `"shipping_address.country"`) {
			t.Fatalf("the refusal does not name the country: %s", a.body)
		}
		a = s.call("POST", "/api/v1/stores/vat/checkout", tok, `{"shipping_address":`+berlinAddress+`,"shipping_method_id":"uk-post"}`, "Idempotency-Key", "wrong-zone")
		expectStatus(t, "a method of another zone", a, http.StatusUnprocessableEntity)
		if stock, _ := s.stockAndLedger("vat", tea.ID); stock != 10 {
			t.Fatalf("a refused checkout took stock: %d left", stock)
		}
		addr := strings.Replace(londonAddress, "SW1Y 4JU", "sw1y4ju", 1)
		a = s.checkoutTo("vat", tok, addr, "uk-post")
		expectStatus(t, "checkout", a, http.StatusCreated)
		var o shippedOrderJSON
		a.json(t, &o)
		if o.Subtotal.Amount != 2497+899+400 || o.Shipping.Amount != 400 || o.Tax.Amount != 600 || o.Total.Amount != 4796 {
			t.Fatalf("figures: subtotal %d shipping %d tax %d total %d", o.Subtotal.Amount, o.Shipping.Amount, o.Tax.Amount, o.Total.Amount)
		}
		want := []taxJSON{{shop.TaxStandard, 20000, shop.M(2897, "GBP"), shop.M(580, "GBP")}, {shop.TaxReduced, 5000, shop.M(400, "GBP"), shop.M(20, "GBP")},
			{shop.TaxZero, 0, shop.M(899, "GBP"), shop.M(0, "GBP")}}
		if !slices.Equal(o.Taxes, want) {
			t.Fatalf("taxes %+v, want %+v", o.Taxes, want)
		}
		if o.Number != 1001 || o.ShippingAddress == nil || o.ShippingAddress.Postcode != "SW1Y 4JU" {
			t.Fatalf("number %d, address %+v", o.Number, o.ShippingAddress)
		}
		paid := s.pay("vat", tok, a, "4242424242424242")
		paid.json(t, &o)
		if o.Status != "paid" || len(o.Invoices) != 1 || o.Invoices[0].Number != 1 || o.Invoices[0].Amount.Amount != 4796 ||
			o.Invoices[0].Tax.Amount != 600 || !slices.Equal(o.Invoices[0].Taxes, want) {
			t.Fatalf("the paid order's invoice: %s", paid.body)
		}
	})
}

// TestOrderNumbers_64ConcurrentCheckoutsHaveNoGaps: 64 checkouts at once in one store, while 16
// others fail (their product sold out) after taking a number in their transaction, get the
// numbers 1001…1064, each once; paid, their invoices are numbered 1…64, each once.
func TestOrderNumbers_64ConcurrentCheckoutsHaveNoGaps(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("seq")
		s.shipping("seq", ukShipping())
		const buyers, losers = 64, 16
		plenty := s.goods("seq", "PLENTY", 1200, 1000, shop.TaxStandard, 100)
		scarce := s.goods("seq", "SCARCE", 1500, losers, shop.TaxStandard, 100)
		tokens := make([]string, buyers+losers)
		for i := range tokens {
			tokens[i] = s.customer("seq", fmt.Sprintf("b%02d@example.com", i)).AccessToken
			p := plenty.ID
			if i >= buyers {
				p = scarce.ID
			}
			expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/seq/cart/items/"+p, tokens[i], `{"quantity":1}`), http.StatusOK)
		}
		// The scarce product's stock goes after it was put in the carts (a cart does not reserve): its
		// checkouts fail at the stock, the last step, after their transaction took a number.
		admin := s.login("seq", "admin@example.com").AccessToken
		expectStatus(t, "stock gone", s.call("POST", "/api/v1/stores/seq/products/"+scarce.ID+"/stock-adjustments", admin,
			fmt.Sprintf(`{"delta":-%d,"reason":"count"}`, losers)), http.StatusCreated)
		body := `{"shipping_address":` + londonAddress + `,"shipping_method_id":"uk-post"}`
		answers := make([]answer, len(tokens))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range tokens {
			wg.Go(func() {
				<-start
				answers[i] = s.call("POST", "/api/v1/stores/seq/checkout", tokens[i], body, "Idempotency-Key", fmt.Sprintf("seq-%d", i))
			})
		}
		close(start)
		wg.Wait()
		var numbers []int64
		for i, a := range answers {
			if i >= buyers {
				expectStatus(t, "sold out", a, http.StatusConflict)
				continue
			}
			expectStatus(t, "checkout", a, http.StatusCreated)
			var o shippedOrderJSON
			a.json(t, &o)
			numbers = append(numbers, o.Number)
		}
		slices.Sort(numbers)
		for i, n := range numbers {
			if n != int64(1001+i) {
				t.Fatalf("order numbers %v: want 1001…1064, each once", numbers)
			}
		}
		// Paid eight at a time, they are invoiced 1…64.
		sem := make(chan struct{}, 8)
		for i := range buyers {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				s.pay("seq", tokens[i], answers[i], "4242424242424242")
			})
		}
		wg.Wait()
		raw := testenv.RawDB(t, url)
		rows, err := raw.Query(`SELECT number FROM invoices WHERE kind = 'invoice' ORDER BY number`)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rows.Close() }()
		var invoices []int64
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			invoices = append(invoices, n)
		}
		if len(invoices) != buyers || invoices[0] != 1 || invoices[buyers-1] != buyers {
			t.Fatalf("invoice numbers %v: want 1…%d, each once", invoices, buyers)
		}
	})
}

// TestTaxes_GeneratedOrdersAddUpAndTheReportIsTheLedger: orders of a generated set — two stores,
// one with prices including VAT shipping home and to the EU, one adding New York's sales tax; every
// class; random carts, methods and refunds — each have total = subtotal + shipping + tax, taxes
// that sum to the tax, an invoice of the total, and credit notes of the refunds that never give
// back more tax than a rate charged. The report's tax per rate is the direct SQL sum of the orders'
// taxes less the credit notes'.
func TestTaxes_GeneratedOrdersAddUpAndTheReportIsTheLedger(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		r := rand.New(rand.NewPCG(7, 11))
		stores := []struct {
			slug, currency string
			sh             shop.Shipping
			to             []string
			methods        map[string][]string
		}{
			{"ukshop", "GBP", ukShipping(), []string{londonAddress, berlinAddress}, map[string][]string{londonAddress: {"uk-post", "uk-courier"}, berlinAddress: {"eu-post"}}},
			{"nyshop", "USD", usShipping(), []string{nycAddress}, map[string][]string{nycAddress: {"us-ground"}}},
		}
		for _, st := range stores {
			s.storeIn(st.slug, st.currency)
			s.shipping(st.slug, st.sh)
			var products []productJSON
			for i := range 6 {
				products = append(products, s.goodsIn(st.slug, st.currency, fmt.Sprintf("P%d", i), 99+r.Int64N(4000), 500,
					shop.TaxClasses[i%3], 50+r.IntN(700)))
			}
			admin := s.login(st.slug, "admin@example.com").AccessToken
			for n := range 12 {
				tok := s.customer(st.slug, fmt.Sprintf("c%d@example.com", n)).AccessToken
				for _, p := range products {
					if r.IntN(2) == 0 {
						expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/"+st.slug+"/cart/items/"+p.ID, tok,
							fmt.Sprintf(`{"quantity":%d}`, 1+r.IntN(3))), http.StatusOK)
					}
				}
				expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/"+st.slug+"/cart/items/"+products[n%6].ID, tok, `{"quantity":1}`), http.StatusOK)
				to := st.to[r.IntN(len(st.to))]
				methods := st.methods[to]
				a := s.checkoutTo(st.slug, tok, to, methods[r.IntN(len(methods))])
				if a.status == http.StatusConflict && strings.Contains(string(a.body), "nothing-ships") {
					continue // too heavy for the method drawn
				}
				expectStatus(t, "checkout", a, http.StatusCreated)
				var o shippedOrderJSON
				s.pay(st.slug, tok, a, "4242424242424242").json(t, &o)
				if r.IntN(3) == 0 { // a refund of part, or of all
					amount := 1 + r.Int64N(o.Total.Amount)
					expectStatus(t, "refund", s.call("POST", "/api/v1/stores/"+st.slug+"/orders/"+o.ID+"/refunds", admin,
						fmt.Sprintf(`{"amount":{"amount":%d,"currency":%q},"reason":"generated"}`, amount, st.currency)), http.StatusCreated)
				}
			}
			// Every order, as the API answers with it.
			a := s.call("GET", "/api/v1/stores/"+st.slug+"/orders?limit=100", admin, nil)
			var page struct{ Items []struct{ ID string } }
			a.json(t, &page)
			if len(page.Items) < 8 {
				t.Fatalf("%s: only %d orders generated", st.slug, len(page.Items))
			}
			for _, it := range page.Items {
				var o shippedOrderJSON
				s.call("GET", "/api/v1/stores/"+st.slug+"/orders/"+it.ID, admin, nil).json(t, &o)
				checkFigures(t, o)
			}
			// The report against the direct sums.
			rep := s.call("GET", "/api/v1/stores/"+st.slug+"/reports/sales?interval=month", admin, nil)
			expectStatus(t, "report", rep, http.StatusOK)
			var report struct {
				Taxes []struct {
					Class shop.TaxClass
					Rate  int64
					Tax   shop.Money
				}
				TaxTotal shop.Money `json:"tax_total"`
			}
			rep.json(t, &report)
			got := map[string]int64{}
			var total int64
			for _, r := range report.Taxes {
				got[fmt.Sprintf("%s/%d", r.Class, r.Rate)] += r.Tax.Amount
				total += r.Tax.Amount
			}
			want := directTaxSums(t, url, st.slug)
			if fmt.Sprint(got) != fmt.Sprint(want) || total != report.TaxTotal.Amount {
				t.Fatalf("%s: the report's tax %v (total %d, said %d); the direct sums %v", st.slug, got, total, report.TaxTotal.Amount, want)
			}
		}
	})
}

// checkFigures checks that an order's figures add up, and its invoice and credit notes with them.
func checkFigures(t *testing.T, o shippedOrderJSON) {
	t.Helper()
	if o.Total.Amount != o.Subtotal.Amount+o.Shipping.Amount+o.Tax.Amount {
		t.Fatalf("order %d: total %d ≠ subtotal %d + shipping %d + tax %d", o.Number, o.Total.Amount, o.Subtotal.Amount, o.Shipping.Amount, o.Tax.Amount)
	}
	var base, tax, lineTax, net int64
	charged := map[string]int64{}
	for _, r := range o.Taxes {
		base, tax = base+r.Base.Amount, tax+r.Amount.Amount
		charged[fmt.Sprintf("%s/%d", r.Class, r.Rate)] = r.Amount.Amount
	}
	for _, l := range o.Items {
		lineTax, net = lineTax+l.Tax.Amount, net+l.Net.Amount
	}
	if tax != o.Tax.Amount || base != o.Subtotal.Amount+o.Shipping.Amount || net != o.Subtotal.Amount || lineTax > tax {
		t.Fatalf("order %d: taxes %+v do not add up to tax %d on %d + %d (lines: net %d, tax %d)", o.Number, o.Taxes, o.Tax.Amount,
			o.Subtotal.Amount, o.Shipping.Amount, net, lineTax)
	}
	var credited int64
	given := map[string]int64{}
	for _, inv := range o.Invoices {
		var parts int64
		for _, r := range inv.Taxes {
			parts += r.Base.Amount + r.Amount.Amount
			if inv.Kind == "credit_note" {
				given[fmt.Sprintf("%s/%d", r.Class, r.Rate)] += r.Amount.Amount
			}
		}
		switch inv.Kind {
		case "invoice":
			if inv.Amount != o.Total || inv.Tax != o.Tax {
				t.Fatalf("order %d: invoice of %v (tax %v), order total %v (tax %v)", o.Number, inv.Amount, inv.Tax, o.Total, o.Tax)
			}
		case "credit_note":
			credited += inv.Amount.Amount
			if parts != inv.Amount.Amount {
				t.Fatalf("order %d: a credit note of %d whose rates come to %d", o.Number, inv.Amount.Amount, parts)
			}
		}
	}
	for k, v := range given {
		if v > charged[k] {
			t.Fatalf("order %d: credit notes give back %d of %s, %d was charged", o.Number, v, k, charged[k])
		}
	}
	if credited != o.Refunded.Amount {
		t.Fatalf("order %d: credit notes of %d, refunded %d", o.Number, credited, o.Refunded.Amount)
	}
}

// directTaxSums is the tax a store collected per class and rate, summed in SQL straight from the
// invoiced orders' lines and shipping, less the credit notes' tax rows.
func directTaxSums(t *testing.T, url, slug string) map[string]int64 {
	t.Helper()
	raw := testenv.RawDB(t, url)
	rows, err := raw.Query(`SELECT class, rate, SUM(amount) FROM (
			SELECT l.tax_class AS class, l.tax_rate AS rate, l.tax_amount AS amount FROM order_lines l JOIN stores s ON s.id = l.store_id
			WHERE s.slug = $1 AND EXISTS (SELECT 1 FROM invoices i WHERE i.store_id = l.store_id AND i.order_id = l.order_id AND i.kind = 'invoice')
			UNION ALL
			SELECT o.shipping_tax_class, o.shipping_tax_rate, o.shipping_tax FROM orders o JOIN stores s ON s.id = o.store_id
			WHERE s.slug = $1 AND o.shipping_amount + o.shipping_tax > 0
			AND EXISTS (SELECT 1 FROM invoices i WHERE i.store_id = o.store_id AND i.order_id = o.id AND i.kind = 'invoice')
			UNION ALL
			SELECT it.class, it.rate, -it.amount FROM invoice_taxes it JOIN invoices i ON i.id = it.invoice_id JOIN stores s ON s.id = i.store_id
			WHERE s.slug = $1 AND i.kind = 'credit_note'
		) x GROUP BY class, rate`, slug)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var class string
		var rate, sum int64
		if err := rows.Scan(&class, &rate, &sum); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s/%d", class, rate)] = sum
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileInput_AddressesStoredAndShownInert: every hostile string of the suite as a name, an
// address line and a town is kept as it was typed (or, with a direction override, refused at its
// field), and shown escaped on the order's pages, its packing slip and its invoice, and defused in
// the orders CSV. A country that is no country, or a postcode of another country, is refused at
// its field, and nothing is reserved.
func TestHostileInput_AddressesStoredAndShownInert(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("hostaddr")
		s.shipping("hostaddr", ukShipping())
		p := s.goods("hostaddr", "TEA", 500, 100, shop.TaxStandard, 100)
		cust := s.login("hostaddr", "customer@example.com").AccessToken
		admin := s.browserLogin("/s/hostaddr/login", "admin@example.com")
		buyer := s.browserLogin("/s/hostaddr/login", "customer@example.com")
		for _, bad := range []struct{ field, address string }{
			{"shipping_address.country", `{"name":"A","line1":"1 A St","city":"London","postcode":"SW1Y 4JU","country":"UK"}`},
			{"shipping_address.country", `{"name":"A","line1":"1 A St","city":"London","postcode":"SW1Y 4JU","country":"<b>"}`},
			{"shipping_address.postcode", `{"name":"A","line1":"1 A St","city":"London","postcode":"75001","country":"GB"}`},
			{"shipping_address.name", `{"name":"A\u0000B","line1":"1 A St","city":"London","postcode":"SW1Y 4JU","country":"GB"}`},
			{"shipping_address.line1", `{"name":"A","line1":"` + strings.Repeat("x", 101) + `","city":"London","postcode":"SW1Y 4JU","country":"GB"}`},
		} {
			expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/hostaddr/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
			a := s.call("POST", "/api/v1/stores/hostaddr/checkout", cust, `{"shipping_address":`+bad.address+`,"shipping_method_id":"uk-post"}`,
				"Idempotency-Key", testenv.RandomName("k"))
			expectStatus(t, bad.field, a, http.StatusUnprocessableEntity)
			if !strings.Contains(string(a.body), `"field":"`+bad.field+`"`) {
				t.Fatalf("%s not named: %s", bad.field, a.body)
			}
		}
		if stock, _ := s.stockAndLedger("hostaddr", p.ID); stock != 100 {
			t.Fatalf("refused checkouts took stock: %d left", stock)
		}
		for _, h := range hostile {
			expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/hostaddr/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
			addr := map[string]any{"name": h, "line1": h, "line2": h, "city": h, "postcode": "SW1Y 4JU", "country": "GB"}
			a := s.call("POST", "/api/v1/stores/hostaddr/checkout", cust, map[string]any{"shipping_address": addr, "shipping_method_id": "uk-post"},
				"Idempotency-Key", testenv.RandomName("k"))
			if strings.ContainsRune(h, '\u202e') {
				expectStatus(t, "a direction override", a, http.StatusUnprocessableEntity)
				continue
			}
			expectStatus(t, "checkout to "+h, a, http.StatusCreated)
			var o shippedOrderJSON
			s.pay("hostaddr", cust, a, "4242424242424242").json(t, &o)
			want := shop.Address{Name: strings.Join(strings.Fields(h), " ")}
			if o.ShippingAddress == nil || o.ShippingAddress.Name != want.Name || o.ShippingAddress.Line1 != want.Name {
				t.Fatalf("stored %q as %+v", h, o.ShippingAddress)
			}
			var full struct {
				Invoices []struct{ ID string } `json:"invoices"`
			}
			a.json(t, &full)
			s.call("GET", "/api/v1/stores/hostaddr/orders/"+o.ID, cust, nil).json(t, &full)
			pages := map[string]string{
				"order page":   buyer.get("/s/hostaddr/orders/" + o.ID),
				"admin page":   admin.get("/s/hostaddr/admin/orders/" + o.ID),
				"packing slip": admin.get("/s/hostaddr/admin/orders/" + o.ID + "/packing-slip"),
				"to pack":      admin.get("/s/hostaddr/admin/fulfilment"),
				"invoice":      buyer.get("/s/hostaddr/orders/" + o.ID + "/invoices/" + full.Invoices[0].ID),
			}
			for name, page := range pages {
				if strings.ContainsAny(h, `<>"`) && strings.Contains(page, h) {
					t.Errorf("%s shows %q unescaped", name, h)
				}
				if !strings.ContainsAny(h, `'"`) && !strings.Contains(page, html.EscapeString(want.Name)) {
					t.Errorf("%s lacks the escaped %q", name, h)
				}
			}
		}
		csvFile := admin.get("/s/hostaddr/admin/orders.csv")
		for _, line := range strings.Split(csvFile, "\n") {
			for _, cell := range strings.Split(line, ",") {
				if c := strings.Trim(cell, `"`); c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
					t.Fatalf("a CSV cell a spreadsheet would run: %q in %q", c, line)
				}
			}
		}
		if !strings.Contains(csvFile, "SW1Y 4JU") || strings.Count(csvFile, "\n") < len(hostile) {
			t.Fatalf("the orders CSV:\n%s", csvFile)
		}
	})
}

// TestInvoices_OnlyTheirCustomerAndTheStaffSeeThem: a customer's invoice (page and PDF) is theirs
// and the store's staff's: another customer of the store, a made-up invoice id and the order of
// another store all answer 404.
func TestInvoices_OnlyTheirCustomerAndTheStaffSeeThem(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("inv")
	s.store("invother")
	s.shipping("inv", ukShipping())
	p := s.goods("inv", "TEA", 500, 100, shop.TaxStandard, 100)
	cust := s.login("inv", "customer@example.com").AccessToken
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/inv/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
	a := s.checkoutTo("inv", cust, londonAddress, "uk-post")
	expectStatus(t, "checkout", a, http.StatusCreated)
	var o struct {
		ID       string
		Invoices []struct{ ID string }
	}
	s.pay("inv", cust, a, "4242424242424242").json(t, &o)
	if len(o.Invoices) != 1 {
		t.Fatalf("invoices: %+v", o.Invoices)
	}
	path := "/orders/" + o.ID + "/invoices/" + o.Invoices[0].ID
	other := s.customer("inv", "other@example.com").AccessToken
	pdf := s.call("GET", "/api/v1/stores/inv"+path+"/pdf", cust, nil)
	expectStatus(t, "own invoice", pdf, http.StatusOK)
	if !strings.HasPrefix(string(pdf.body), "%PDF-") {
		t.Fatalf("not a PDF: %.40q", pdf.body)
	}
	expectStatus(t, "the clerk", s.call("GET", "/api/v1/stores/inv"+path+"/pdf", s.login("inv", "clerk@example.com").AccessToken, nil), http.StatusOK)
	expectStatus(t, "another customer", s.call("GET", "/api/v1/stores/inv"+path+"/pdf", other, nil), http.StatusNotFound)
	expectStatus(t, "a made-up invoice", s.call("GET", "/api/v1/stores/inv/orders/"+o.ID+"/invoices/"+shop.NewID()+"/pdf", cust, nil), http.StatusNotFound)
	expectStatus(t, "another store's staff", s.call("GET", "/api/v1/stores/invother"+path+"/pdf", s.login("invother", "admin@example.com").AccessToken, nil), http.StatusNotFound)
	page := s.browserLogin("/s/inv/login", "other@example.com")
	if resp, body := page.do("GET", "/s/inv"+path, nil); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "INV-0001") {
		t.Fatalf("another customer's invoice page: %d", resp.StatusCode)
	}
}

// get is a page that must answer 200.
func (b *browser) get(path string) string {
	b.t.Helper()
	resp, page := b.do("GET", path, nil)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d\n%.500s", path, resp.StatusCode, page)
	}
	return page
}

// TestGuestCheckout_LinkRegistrationAndRefusals: a guest checks out through the API with an
// e-mail address and the cart in the body; a retry with the same key is the same order. The
// order's link (its token, in the confirmation mail) shows it; another token, a made-up one, an
// order number, another store and, once it has expired, the link itself show nothing; no
// customer sees it, and the guest is no user of the store. Registering with the guest's address
// gives the account the orders once the address is confirmed, not before. A store that takes no
// guests refuses them.
func TestGuestCheckout_LinkRegistrationAndRefusals(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("guests")
		s.store("elsewhere")
		s.shipping("guests", ukShipping())
		p := s.goods("guests", "TEA", 700, 20, shop.TaxStandard, 100)
		const guest = "grace@hopper.example"
		items := `"items":[{"product_id":"` + p.ID + `","quantity":2}]`
		q := s.call("POST", "/api/v1/stores/guests/guest-checkout/quote", "", `{`+items+`,"shipping_address":`+londonAddress+`,"shipping_method_id":"uk-post"}`)
		expectStatus(t, "guest quote", q, http.StatusOK)
		var quote struct{ Total shop.Money }
		q.json(t, &quote)
		if quote.Total.Amount != 1400+480 {
			t.Fatalf("quote total %d, want 18.80", quote.Total.Amount)
		}
		body := fmt.Sprintf(`{"email":%q,%s,"shipping_address":%s,"shipping_method_id":"uk-post","expected_total":{"amount":%d,"currency":"GBP"}}`,
			guest, items, londonAddress, quote.Total.Amount)
		expectStatus(t, "a bad address", s.call("POST", "/api/v1/stores/guests/guest-checkout", "", strings.Replace(body, guest, "not-an-address", 1),
			"Idempotency-Key", "g0"), http.StatusUnprocessableEntity)
		// Nobody orders as one of the shop's placeholder addresses (a guest's own row has one).
		expectStatus(t, "an @invalid address", s.call("POST", "/api/v1/stores/guests/guest-checkout", "", strings.Replace(body, guest, "guest-x@invalid", 1),
			"Idempotency-Key", "g0b"), http.StatusUnprocessableEntity)
		a := s.call("POST", "/api/v1/stores/guests/guest-checkout", "", body, "Idempotency-Key", "g1")
		expectStatus(t, "guest checkout", a, http.StatusCreated)
		var placed struct {
			Token string
			Order struct {
				ID, Status, Email string
				Number            int64
				Total             shop.Money
				Payment           struct {
					RedirectURL *string `json:"redirect_url"`
				}
			}
		}
		a.json(t, &placed)
		if placed.Order.Email != guest || placed.Order.Status != "pending_payment" || placed.Order.Total.Amount != 1880 || placed.Order.Payment.RedirectURL == nil {
			t.Fatalf("the guest's order: %s", a.body)
		}
		again := s.call("POST", "/api/v1/stores/guests/guest-checkout", "", body, "Idempotency-Key", "g1")
		expectStatus(t, "the retry", again, http.StatusCreated)
		var second struct{ Token string }
		again.json(t, &second)
		if !strings.Contains(string(again.body), placed.Order.ID) || second.Token != placed.Token {
			t.Fatalf("a retry made another order: %s", again.body)
		}
		if stock, _ := s.stockAndLedger("guests", p.ID); stock != 18 {
			t.Fatalf("stock %d after one guest order of two", stock)
		}
		if status := testenv.PayOnPage(t, *placed.Order.Payment.RedirectURL, "4242424242424242"); status != http.StatusSeeOther {
			t.Fatalf("paying: %d", status)
		}
		if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("the answer with the guest's token may be cached: %q", cc)
		}
		// Another checkout with the same address and another key is another guest's: its cart is its own.
		other2 := s.goods("guests", "MUG", 900, 5, shop.TaxStandard, 300)
		b2 := strings.Replace(strings.Replace(body, p.ID, other2.ID, 1), `"quantity":2`, `"quantity":1`, 1)
		b2 = strings.Replace(b2, `"amount":1880`, `"amount":1380`, 1)
		a2 := s.call("POST", "/api/v1/stores/guests/guest-checkout", "", b2, "Idempotency-Key", "g1-other")
		expectStatus(t, "a second checkout with the address", a2, http.StatusCreated)
		if strings.Contains(string(a2.body), p.ID) || strings.Contains(string(a2.body), placed.Order.ID) {
			t.Fatalf("the second checkout has the first one's cart or order: %s", a2.body)
		}
		link := "/api/v1/stores/guests/guest-orders/" + placed.Token
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(string(s.call("GET", link, "", nil).body), `"status":"paid"`); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the guest's order was never paid")
			}
		}
		mail := s.awaitMail(guest, "order confirmation")
		if !strings.Contains(mail.Body, s.base+"/s/guests/guest/orders/"+placed.Token) {
			t.Fatalf("the confirmation has no link to the order:\n%s", mail.Body)
		}
		// Nothing else shows it.
		other := []byte(placed.Token)
		other[0] = "ab"[(other[0]-'a'+1)%2]
		for name, path := range map[string]string{
			"another token": "/api/v1/stores/guests/guest-orders/" + string(other), "a made-up token": "/api/v1/stores/guests/guest-orders/" + strings.Repeat("a", 32),
			"the number": "/api/v1/stores/guests/guest-orders/" + strconv.FormatInt(placed.Order.Number, 10), "another store": "/api/v1/stores/elsewhere/guest-orders/" + placed.Token,
		} {
			expectStatus(t, name, s.call("GET", path, "", nil), http.StatusNotFound)
		}
		cust := s.login("guests", "customer@example.com").AccessToken
		if mine := s.call("GET", "/api/v1/stores/guests/orders", cust, nil); strings.Contains(string(mine.body), placed.Order.ID) {
			t.Fatal("a customer sees the guest's order")
		}
		admin := s.login("guests", "admin@example.com").AccessToken
		if all := s.call("GET", "/api/v1/stores/guests/orders", admin, nil); !strings.Contains(string(all.body), guest) {
			t.Fatalf("the admin does not see the guest's order: %s", all.body)
		}
		if users := s.call("GET", "/api/v1/stores/guests/users?limit=100", admin, nil); strings.Contains(string(users.body), "@invalid") {
			t.Fatalf("the guest is listed as a user: %s", users.body)
		}
		// No one signs in as a guest, whatever they type.
		var guestEmail string
		if err := testenv.RawDB(t, url).QueryRow(`SELECT email FROM users WHERE guest LIMIT 1`).Scan(&guestEmail); err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{"!guest", "guest", "quiet violin harbour 88"} {
			expectStatus(t, "sign in as a guest", s.call("POST", "/api/v1/stores/guests/auth/login", "", map[string]string{"email": guestEmail, "password": pw}),
				http.StatusUnauthorized)
		}
		// The address's owner registers: the order is theirs once they confirm the address.
		expectStatus(t, "register", s.call("POST", "/api/v1/stores/guests/auth/register", "", map[string]string{"email": guest,
			"password": "quiet violin harbour 88", "name": "Grace"}), http.StatusCreated)
		grace := s.loginWith("guests", guest, "quiet violin harbour 88").AccessToken
		if mine := s.call("GET", "/api/v1/stores/guests/orders", grace, nil); strings.Contains(string(mine.body), placed.Order.ID) {
			t.Fatal("an unconfirmed account sees the guest's orders")
		}
		token := linkToken(t, s.mailTo(guest, "confirm your e-mail"))
		expectStatus(t, "verify", s.call("POST", "/api/v1/stores/guests/auth/verify-email", "", map[string]string{"token": token}), http.StatusNoContent)
		if mine := s.call("GET", "/api/v1/stores/guests/orders", grace, nil); !strings.Contains(string(mine.body), placed.Order.ID) {
			t.Fatalf("the confirmed account lacks the guest's order: %s", mine.body)
		}
		// Its time over, the link shows nothing.
		if _, err := testenv.RawDB(t, url).Exec(`UPDATE order_links SET expires_at = created_at`); err != nil {
			t.Fatal(err)
		}
		expectStatus(t, "an expired link", s.call("GET", link, "", nil), http.StatusNotFound)
		// A store that takes no guests.
		expectStatus(t, "guests off", s.call("PATCH", "/api/v1/stores/guests/settings", admin, `{"guest_checkout":false}`), http.StatusOK)
		expectStatus(t, "a guest refused", s.call("POST", "/api/v1/stores/guests/guest-checkout", "", body, "Idempotency-Key", "g2"), http.StatusForbidden)
	})
}

// TestBackOffice_ShippingPageSetsZonesMethodsAndRates: an admin adds a zone with its VAT, a
// method by weight and a flat one, from the back office's forms; checkout then offers them,
// priced. A rate that is no percentage and a method without a name are refused with the fields
// named, and nothing is saved.
func TestBackOffice_ShippingPageSetsZonesMethodsAndRates(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dbURL string) {
		s := startShop(t, dbURL)
		s.store("ship")
		p := s.goods("ship", "LAMP", 4000, 10, shop.TaxStandard, 1500)
		admin := s.browserLogin("/s/ship/login", "admin@example.com")
		page := admin.get("/s/ship/admin/shipping")
		if !strings.Contains(page, `id="no-zones"`) {
			t.Fatal("the page does not say the shop posts nothing yet")
		}
		post := func(form url.Values) (*http.Response, string) {
			form.Set("csrf", csrfOf(t, admin.get("/s/ship/admin/shipping")))
			return admin.do("POST", "/s/ship/admin/shipping", form)
		}
		resp, body := post(url.Values{"op": {"add-zone"}, "name": {"Home"}, "countries": {"gb"}, "rate_name": {"VAT"}, "rate_standard": {"twenty"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "tax_rates.standard") || !strings.Contains(body, "Nothing was saved") {
			t.Fatalf("a rate that is no percentage: %d", resp.StatusCode)
		}
		if resp, _ = post(url.Values{"op": {"add-zone"}, "name": {"Home"}, "countries": {"gb"}, "rate_name": {"VAT"}, "rate_standard": {"20"}, "rate_zero": {"0"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add a zone: %d", resp.StatusCode)
		}
		resp, body = post(url.Values{"op": {"add-method"}, "zone": {"0"}, "name": {""}, "price": {"3.95"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "zones.0.methods.0.name") {
			t.Fatalf("a method without a name: %d", resp.StatusCode)
		}
		for _, m := range []url.Values{
			{"op": {"add-method"}, "zone": {"0"}, "name": {"Courier"}, "min_days": {"1"}, "max_days": {"2"}, "tiers": {"1000 6.00\n5000 12.50"}},
			{"op": {"add-method"}, "zone": {"0"}, "name": {"Post"}, "price": {"4.80"}, "free_above": {"100"}, "min_days": {"2"}, "max_days": {"3"}},
		} {
			if resp, _ := post(m); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("add method %s: %d", m.Get("name"), resp.StatusCode)
			}
		}
		page = admin.get("/s/ship/admin/shipping?saved=1")
		if !strings.Contains(page, "Saved.") || !strings.Contains(page, `>1000 6.00`) || !strings.Contains(page, `value="GB"`) {
			t.Fatalf("the page after saving:\n%s", page)
		}
		cust := s.login("ship", "customer@example.com").AccessToken
		expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/ship/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
		q := s.call("POST", "/api/v1/stores/ship/checkout/quote", cust, `{"shipping_address":`+londonAddress+`}`)
		expectStatus(t, "quote", q, http.StatusOK)
		var quote struct {
			Options []struct {
				Name  string
				Price shop.Money
			} `json:"shipping_options"`
		}
		q.json(t, &quote)
		if len(quote.Options) != 2 || quote.Options[0].Name != "Courier" || quote.Options[0].Price.Amount != 1250 || quote.Options[1].Price.Amount != 480 {
			t.Fatalf("the methods the page set: %s", q.body)
		}
	})
}

// TestAddressBook_KeptCheckedAndPrivate: a customer keeps addresses (checked as checkout checks
// them; the same one twice is kept once); the checkout page offers the default first; another
// customer can neither see nor delete them.
func TestAddressBook_KeptCheckedAndPrivate(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("book")
	s.shipping("book", ukShipping())
	p := s.goods("book", "TEA", 500, 10, shop.TaxStandard, 100)
	cust := s.login("book", "customer@example.com").AccessToken
	other := s.customer("book", "other@example.com").AccessToken
	book := "/api/v1/stores/book/me/addresses"
	expectStatus(t, "a bad postcode", s.call("POST", book, cust, `{"address":{"name":"A","line1":"1 A St","city":"London","postcode":"123","country":"GB"}}`), http.StatusUnprocessableEntity)
	a := s.call("POST", book, cust, `{"address":`+londonAddress+`}`)
	expectStatus(t, "add", a, http.StatusCreated)
	var saved struct {
		ID      string
		Default bool
	}
	a.json(t, &saved)
	again := s.call("POST", book, cust, `{"address":`+strings.Replace(londonAddress, "SW1Y 4JU", "sw1y4ju", 1)+`}`)
	expectStatus(t, "the same again", again, http.StatusCreated)
	if !saved.Default || !strings.Contains(string(again.body), saved.ID) {
		t.Fatalf("the first address is not the default, or the same one was kept twice: %s", again.body)
	}
	expectStatus(t, "another's", s.call("DELETE", book+"/"+saved.ID, other, nil), http.StatusNotFound)
	if theirs := s.call("GET", book, other, nil); strings.Contains(string(theirs.body), "Lovelace") {
		t.Fatal("another customer sees the address book")
	}
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/book/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
	b := s.browserLogin("/s/book/login", "customer@example.com")
	if page := b.get("/s/book/checkout"); !strings.Contains(page, `id="from-book"`) || !strings.Contains(page, `value="SW1Y 4JU"`) {
		t.Fatal("the checkout does not offer the saved address")
	}
	expectStatus(t, "delete", s.call("DELETE", book+"/"+saved.ID, cust, nil), http.StatusNoContent)
	if mine := s.call("GET", book, cust, nil); strings.Contains(string(mine.body), saved.ID) {
		t.Fatal("the address is still there")
	}
}

// TestAPI_ShippingSetupPackingAndShipping: the set-up goes in and out through the API as the
// description says (a refused one names its field and changes nothing); the packing queue lists
// a paid order until it ships; a carrier and tracking number go with "shipped" only.
func TestAPI_ShippingSetupPackingAndShipping(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dbURL string) {
		s := startShop(t, dbURL)
		s.store("apiship")
		admin := s.login("apiship", "admin@example.com").AccessToken
		clerk := s.login("apiship", "clerk@example.com").AccessToken
		setup, err := json.Marshal(ukShipping())
		if err != nil {
			t.Fatal(err)
		}
		bad := strings.Replace(string(setup), `"rate":20000`, `"rate":200000`, 1)
		a := s.call("PUT", "/api/v1/stores/apiship/settings/shipping", admin, bad)
		expectStatus(t, "a rate over 100%", a, http.StatusUnprocessableEntity)
		if !strings.Contains(string(a.body), `"zones.0.tax_rates.0.rate"`) {
			t.Fatalf("the refusal does not name the rate: %s", a.body)
		}
		if got := s.call("GET", "/api/v1/stores/apiship/settings/shipping", admin, nil); strings.Contains(string(got.body), "uk-post") {
			t.Fatal("a refused set-up was saved")
		}
		expectStatus(t, "set up", s.call("PUT", "/api/v1/stores/apiship/settings/shipping", admin, string(setup)), http.StatusOK)
		expectStatus(t, "a clerk sets up", s.call("PUT", "/api/v1/stores/apiship/settings/shipping", clerk, string(setup)), http.StatusForbidden)
		got := s.call("GET", "/api/v1/stores/apiship/settings/shipping", admin, nil)
		if !strings.Contains(string(got.body), `"uk-courier"`) || !strings.Contains(string(got.body), `"prices_include_tax":true`) {
			t.Fatalf("the set-up read back: %s", got.body)
		}
		p := s.goods("apiship", "LAMP", 2000, 5, shop.TaxStandard, 500)
		cust := s.login("apiship", "customer@example.com").AccessToken
		expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/apiship/cart/items/"+p.ID, cust, `{"quantity":1}`), http.StatusOK)
		var o shippedOrderJSON
		s.pay("apiship", cust, s.checkoutTo("apiship", cust, londonAddress, "uk-post"), "4242424242424242").json(t, &o)
		queue := "/api/v1/stores/apiship/orders?to_pack=true"
		if a := s.call("GET", queue, clerk, nil); !strings.Contains(string(a.body), o.ID) {
			t.Fatalf("the paid order is not to pack: %s", a.body)
		}
		expectStatus(t, "to_pack=maybe", s.call("GET", "/api/v1/stores/apiship/orders?to_pack=maybe", clerk, nil), http.StatusUnprocessableEntity)
		// From the packing queue, a refused shipment shows the queue again with what was typed and why.
		b := s.browserLogin("/s/apiship/login", "clerk@example.com")
		resp, page := b.do("POST", "/s/apiship/admin/orders/"+o.ID+"/status", url.Values{"csrf": {csrfOf(t, b.get("/s/apiship/admin/fulfilment"))},
			"status": {"shipped"}, "from": {"fulfilment"}, "carrier": {"Royal Mail"}, "tracking_number": {"<b>"}, "idempotency_key": {"f1"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `value="Royal Mail"`) || !strings.Contains(page, `id="ship-error-`+o.ID+`"`) ||
			!strings.Contains(page, `id="to-pack"`) {
			t.Fatalf("a refused shipment from the queue: %d\n%.3000s", resp.StatusCode, page)
		}
		status := "/api/v1/stores/apiship/orders/" + o.ID + "/status"
		a = s.call("POST", status, clerk, `{"status":"processing","carrier":"Royal Mail"}`, "Idempotency-Key", "p1")
		expectStatus(t, "a carrier without shipping", a, http.StatusUnprocessableEntity)
		expectStatus(t, "a tracking number that is none", s.call("POST", status, clerk, `{"status":"shipped","tracking_number":"<b>"}`,
			"Idempotency-Key", "p2"), http.StatusUnprocessableEntity)
		a = s.call("POST", status, clerk, `{"status":"shipped","carrier":"Royal Mail","tracking_number":"AB123456785GB"}`, "Idempotency-Key", "p3")
		expectStatus(t, "shipped", a, http.StatusOK)
		var shipped struct {
			Status   string
			Shipping struct {
				Carrier        string `json:"carrier"`
				TrackingNumber string `json:"tracking_number"`
			}
		}
		a.json(t, &shipped)
		if shipped.Status != "shipped" || shipped.Shipping.Carrier != "Royal Mail" || shipped.Shipping.TrackingNumber != "AB123456785GB" {
			t.Fatalf("after shipping: %s", a.body)
		}
		if a := s.call("GET", queue, clerk, nil); strings.Contains(string(a.body), o.ID) {
			t.Fatal("the shipped order is still to pack")
		}
	})
}

// TestGuestCheckout_CancelFromTheLink: a guest cancels an order from its link, as a customer
// cancels their own — on the order's page (its form, CSRF and Idempotency-Key as every form has
// them) and through the API. The stock goes back once, a retried cancellation is the same one,
// what was paid is refunded, and no other token cancels anything.
func TestGuestCheckout_CancelFromTheLink(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dbURL string) {
		s := startShop(t, dbURL)
		s.store("cancels")
		s.shipping("cancels", ukShipping())
		p := s.goods("cancels", "TEA", 700, 10, shop.TaxStandard, 100)
		order := func(key, email string) (token, id string, redirect *string) {
			t.Helper()
			body := fmt.Sprintf(`{"email":%q,"items":[{"product_id":%q,"quantity":2}],"shipping_address":%s,"shipping_method_id":"uk-post"}`, email, p.ID, londonAddress)
			a := s.call("POST", "/api/v1/stores/cancels/guest-checkout", "", body, "Idempotency-Key", key)
			expectStatus(t, "guest checkout", a, http.StatusCreated)
			var placed struct {
				Token string
				Order struct {
					ID      string
					Payment struct {
						RedirectURL *string `json:"redirect_url"`
					}
				}
			}
			a.json(t, &placed)
			return placed.Token, placed.Order.ID, placed.Order.Payment.RedirectURL
		}
		stock := func(want int) {
			t.Helper()
			if got, ledger := s.stockAndLedger("cancels", p.ID); got != want || ledger != want {
				t.Fatalf("stock %d, ledger %d; want %d", got, ledger, want)
			}
		}

		// On the order's page.
		token, _, _ := order("g-1", "grace@hopper.example")
		stock(8)
		b := &browser{t: t, s: s, cookies: map[string]*http.Cookie{}}
		path := "/s/cancels/guest/orders/" + token
		page := b.get(path)
		if !strings.Contains(page, `action="`+path+`/cancel"`) {
			t.Fatalf("the guest's order page has no cancel form:\n%s", page)
		}
		key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(page)
		if key == nil {
			t.Fatal("the cancel form has no idempotency key")
		}
		form := url.Values{"csrf": {csrfOf(t, page)}, "idempotency_key": {key[1]}}
		other := []byte(token)
		other[0] = "ab"[(other[0]-'a'+1)%2]
		if resp, _ := b.do("POST", "/s/cancels/guest/orders/"+string(other)+"/cancel", form); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("cancelling with another token: %d, want 404", resp.StatusCode)
		}
		// A form that did not come from the page (no CSRF token, or another) cancels nothing.
		for name, f := range map[string]url.Values{"no token": {"idempotency_key": {key[1]}}, "a forged one": {"csrf": {"forged"}, "idempotency_key": {key[1]}}} {
			if resp, _ := b.do("POST", path+"/cancel", f); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("cancelling with %s: %d, want 403", name, resp.StatusCode)
			}
		}
		stock(8)
		for range 2 { // the retry is the same cancellation
			resp, _ := b.do("POST", path+"/cancel", form)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path {
				t.Fatalf("cancelling: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		stock(10)
		page = b.get(path)
		if !strings.Contains(page, `id="order-status">cancelled`) || strings.Contains(page, `action="`+path+`/cancel"`) {
			t.Fatalf("the cancelled order's page:\n%s", page)
		}
		// Cancelled already: the page again, with the reason, not a dead end.
		resp, again := b.do("POST", path+"/cancel", url.Values{"csrf": form["csrf"], "idempotency_key": {"another"}})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(again, `id="order-status"`) || !strings.Contains(again, "cancel") {
			t.Fatalf("cancelling a cancelled order: %d\n%.3000s", resp.StatusCode, again)
		}
		stock(10)

		// Through the API, once paid: the payment is refunded.
		token, id, redirect := order("g-2", "ada@lovelace.example")
		if redirect == nil || testenv.PayOnPage(t, *redirect, "4242424242424242") != http.StatusSeeOther {
			t.Fatal("the guest's order could not be paid")
		}
		link := "/api/v1/stores/cancels/guest-orders/" + token
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(string(s.call("GET", link, "", nil).body), `"status":"paid"`); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the guest's order was never paid")
			}
		}
		expectStatus(t, "a made-up token", s.call("POST", "/api/v1/stores/cancels/guest-orders/"+strings.Repeat("a", 32)+"/cancel", "", nil, "Idempotency-Key", "c1"), http.StatusNotFound)
		a := s.call("POST", link+"/cancel", "", nil, "Idempotency-Key", "c1")
		expectStatus(t, "cancel", a, http.StatusOK)
		var got struct{ ID, Status string }
		a.json(t, &got)
		if got.ID != id || got.Status != "cancelled" {
			t.Fatalf("the cancelled order: %s", a.body)
		}
		replay := s.call("POST", link+"/cancel", "", nil, "Idempotency-Key", "c1")
		expectStatus(t, "the retry", replay, http.StatusOK)
		if replay.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the retry was not answered again: %v", replay.header)
		}
		stock(10)
		s.settle()
		var o struct {
			Status   string
			Paid     shop.Money
			Refunded shop.Money
		}
		s.call("GET", link, "", nil).json(t, &o)
		if o.Status != "cancelled" || o.Paid.Amount == 0 || o.Refunded.Amount != o.Paid.Amount {
			t.Fatalf("after the cancellation: %+v, want all that was paid refunded", o)
		}
	})
}

// TestPages_CustomerCancelsAndIsToldWhyNot: a customer cancels their order on its page; an order
// that has shipped cannot be, and its page comes back (409) with the reason and its links (the
// invoice) still pointing at the order.
func TestPages_CustomerCancelsAndIsToldWhyNot(t *testing.T) {
	s := startShop(t, testenv.SQLiteURL(t))
	s.store("mine")
	p := s.newProduct("mine", "TEA", 700, 5)
	tok := s.login("mine", "customer@example.com").AccessToken
	clerk := s.login("mine", "clerk@example.com").AccessToken
	b := s.browserLogin("/s/mine/login", "customer@example.com")
	cancel := func(id, key string) (*http.Response, string) {
		t.Helper()
		page := b.get("/s/mine/orders/" + id)
		return b.do("POST", "/s/mine/orders/"+id+"/cancel", url.Values{"csrf": {csrfOf(t, page)}, "idempotency_key": {key}})
	}

	var kept struct{ ID string }
	expectStatus(t, "cart", s.call("PUT", "/api/v1/stores/mine/cart/items/"+p.ID, tok, `{"quantity":2}`), http.StatusOK)
	a := s.call("POST", "/api/v1/stores/mine/checkout", tok, checkoutBody, "Idempotency-Key", "k1")
	expectStatus(t, "checkout", a, http.StatusCreated)
	a.json(t, &kept)
	if page := b.get("/s/mine/orders/" + kept.ID); !strings.Contains(page, `action="/s/mine/orders/`+kept.ID+`/cancel"`) {
		t.Fatalf("the order's page has no cancel form:\n%s", page)
	}
	if resp, _ := cancel(kept.ID, "c1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancelling: %d", resp.StatusCode)
	}
	if stock, _ := s.stockAndLedger("mine", p.ID); stock != 5 {
		t.Fatalf("stock %d after the cancellation, want 5", stock)
	}

	var o struct{ ID, Ref string }
	s.buy("mine", tok, p.ID, 1).json(t, &o)
	expectStatus(t, "ship", s.call("POST", "/api/v1/stores/mine/orders/"+o.ID+"/status", clerk, `{"status":"shipped"}`), http.StatusOK)
	path := "/s/mine/orders/" + o.ID
	resp, again := cancel(o.ID, "c2")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(again, `id="order-status">shipped`) || !strings.Contains(again, "Order "+o.Ref) ||
		!strings.Contains(again, `href="`+path+`/invoices/`) {
		t.Fatalf("cancelling a shipped order: %d\n%.4000s", resp.StatusCode, again)
	}
	if stock, _ := s.stockAndLedger("mine", p.ID); stock != 4 {
		t.Fatalf("stock %d after a refused cancellation, want 4", stock)
	}
}
