// Package reports adds up a store's sales: by day, week or month (gross, refunds, net), top
// products and customers, new against returning customers, tax collected per rate, shipping per
// method, and the dashboard's figures.
package reports

import (
	"context"
	"sort"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Service computes reports.
type Service struct {
	db  *sqlstore.DB
	now func() time.Time
}

// New returns the reports service.
func New(db *sqlstore.DB) *Service { return &Service{db: db, now: time.Now} }

// Intervals a sales report groups by.
const (
	Day   = "day"
	Week  = "week"
	Month = "month"
)

// Bucket is one period of a sales report, computed from the payments ledger: Orders and Gross
// count the charges that took money in the period, Refunds the money returned in it (whenever its
// order was placed), Net the difference.
type Bucket struct {
	Start     time.Time  `json:"start"`
	Orders    int        `json:"orders"`
	Gross     shop.Money `json:"gross"`
	Refunds   shop.Money `json:"refunds"`
	Net       shop.Money `json:"net"`
	New       int        `json:"new_customers"`
	Returning int        `json:"returning_customers"`
}

// Sales is a sales report.
type Sales struct {
	From         time.Time    `json:"from"`
	To           time.Time    `json:"to"`
	Interval     string       `json:"interval"`
	Currency     string       `json:"currency"`
	Buckets      []Bucket     `json:"buckets"`
	Total        Bucket       `json:"total"`
	TopProducts  []TopProduct `json:"top_products"`
	TopCustomers []Customer   `json:"top_customers"`
	// Taxes is the tax collected per period and rate (invoices less credit notes issued in it), and
	// TaxTotal its sum; Shipping what each shipping method brought in per period.
	Taxes    []TaxRow      `json:"taxes"`
	TaxTotal shop.Money    `json:"tax_total"`
	Shipping []ShippingRow `json:"shipping"`
}

// TopProduct is a product's sales in the period: what was sold of it, less what came back.
type TopProduct struct {
	ProductID string     `json:"product_id"`
	SKU       string     `json:"sku"`
	Name      string     `json:"name"`
	Quantity  int64      `json:"quantity"`
	Revenue   shop.Money `json:"revenue"`
}

// Customer is a customer's spend in the period: what was charged, less what was refunded.
type Customer struct {
	CustomerID shop.UserID `json:"customer_id"`
	Orders     int         `json:"orders"`
	Spent      shop.Money  `json:"spent"`
}

// start returns the beginning of the period t falls in (UTC; weeks start on Monday).
func start(t time.Time, interval string) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch interval {
	case Week:
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}

func next(t time.Time, interval string) time.Time {
	switch interval {
	case Week:
		return t.AddDate(0, 0, 7)
	case Month:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// SalesReport reports store's sales in [from, to) by interval (admin).
func (s *Service) SalesReport(ctx context.Context, actor shop.Principal, st shop.Store, from, to time.Time, interval string) (Sales, error) {
	if err := access.CheckStore(actor, st.ID, access.ReportsRead, "Store"); err != nil {
		return Sales{}, err
	}
	if interval == "" {
		interval = Day
	}
	if interval != Day && interval != Week && interval != Month {
		return Sales{}, shop.Invalid(shop.FieldError{Field: "interval", Message: "must be day, week or month"})
	}
	if !from.Before(to) || to.Sub(from) > 3*366*24*time.Hour {
		return Sales{}, shop.Invalid(shop.FieldError{Field: "from", Message: "must be before to, and the period at most three years"})
	}
	rep := Sales{From: from.UTC(), To: to.UTC(), Interval: interval, Currency: st.Currency}
	zero := shop.M(0, st.Currency)
	var moved []sqlstore.SettledPayment
	var top []sqlstore.TopProduct
	var first map[shop.UserID]time.Time
	var taxes []sqlstore.TaxEntry
	var shipping []sqlstore.ShippingEntry
	err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) {
		if moved, err = tx.PaymentsSettled(ctx, st.ID, from, to); err != nil {
			return err
		}
		if taxes, err = tx.InvoicedTaxes(ctx, st.ID, from, to); err != nil {
			return err
		}
		if shipping, err = tx.InvoicedShipping(ctx, st.ID, from, to); err != nil {
			return err
		}
		if top, err = tx.TopProducts(ctx, st.ID, from, to, 10); err != nil {
			return err
		}
		first, err = tx.FirstCharges(ctx, st.ID)
		return err
	})
	if err != nil {
		return Sales{}, err
	}
	index := map[time.Time]int{}
	for t := start(from, interval); t.Before(to); t = next(t, interval) {
		index[t] = len(rep.Buckets)
		rep.Buckets = append(rep.Buckets, Bucket{Start: t, Gross: zero, Refunds: zero, Net: zero})
	}
	seen := map[int]map[shop.UserID]bool{}
	customers := map[shop.UserID]*Customer{}
	for _, p := range moved {
		i := index[start(*p.SettledAt, interval)]
		b := &rep.Buckets[i]
		c := customers[p.CustomerID]
		if c == nil {
			c = &Customer{CustomerID: p.CustomerID, Spent: zero}
			customers[p.CustomerID] = c
		}
		if p.Kind == shop.PaymentRefund {
			b.Refunds.Amount += p.Amount
			c.Spent.Amount -= p.Amount
			continue
		}
		b.Orders++
		b.Gross.Amount += p.Amount
		c.Orders++
		c.Spent.Amount += p.Amount
		if seen[i] == nil {
			seen[i] = map[shop.UserID]bool{}
		}
		if !seen[i][p.CustomerID] {
			seen[i][p.CustomerID] = true
			if f, ok := first[p.CustomerID]; ok && !f.Before(b.Start) {
				b.New++
			} else {
				b.Returning++
			}
		}
	}
	rep.Total = Bucket{Start: rep.From, Gross: zero, Refunds: zero, Net: zero}
	for i := range rep.Buckets {
		b := &rep.Buckets[i]
		b.Net.Amount = b.Gross.Amount - b.Refunds.Amount
		rep.Total.Orders += b.Orders
		rep.Total.Gross.Amount += b.Gross.Amount
		rep.Total.Refunds.Amount += b.Refunds.Amount
		rep.Total.New += b.New
		rep.Total.Returning += b.Returning
	}
	rep.Total.Net.Amount = rep.Total.Gross.Amount - rep.Total.Refunds.Amount
	rep.TopProducts = []TopProduct{}
	for _, p := range top {
		rep.TopProducts = append(rep.TopProducts, TopProduct{ProductID: p.ProductID, SKU: p.SKU, Name: p.Name, Quantity: p.Quantity,
			Revenue: shop.M(p.Revenue, st.Currency)})
	}
	rep.TopCustomers = []Customer{}
	for _, c := range customers {
		if c.Orders > 0 {
			rep.TopCustomers = append(rep.TopCustomers, *c)
		}
	}
	sort.Slice(rep.TopCustomers, func(i, j int) bool {
		a, b := rep.TopCustomers[i], rep.TopCustomers[j]
		return a.Spent.Amount > b.Spent.Amount || (a.Spent.Amount == b.Spent.Amount && a.CustomerID < b.CustomerID)
	})
	if len(rep.TopCustomers) > 10 {
		rep.TopCustomers = rep.TopCustomers[:10]
	}
	rep.Taxes, rep.Shipping = taxRows(taxes, rep.From, interval, st.Currency), shippingRows(shipping, rep.From, interval, st.Currency)
	rep.TaxTotal = zero
	for _, r := range rep.Taxes {
		rep.TaxTotal.Amount += r.Tax.Amount
	}
	return rep, nil
}

// Dashboard is the back office's first page.
type Dashboard struct {
	Today        Bucket
	Month        Bucket
	AverageOrder shop.Money
	ByStatus     map[shop.OrderStatus]int
	LowStock     []shop.Product
	Latest       []shop.Order
	Last30       Sales
}

// Dashboard gathers today's and this month's figures, orders by status, low stock and the
// latest orders (admin).
func (s *Service) Dashboard(ctx context.Context, actor shop.Principal, st shop.Store) (Dashboard, error) {
	now := s.now().UTC()
	tomorrow := start(now, Day).AddDate(0, 0, 1)
	last30, err := s.SalesReport(ctx, actor, st, tomorrow.AddDate(0, 0, -30), tomorrow, Day)
	if err != nil {
		return Dashboard{}, err
	}
	month, err := s.SalesReport(ctx, actor, st, start(now, Month), tomorrow, Month)
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{Last30: last30, Today: last30.Buckets[len(last30.Buckets)-1], Month: month.Total, AverageOrder: shop.M(0, st.Currency)}
	if d.Month.Orders > 0 {
		d.AverageOrder.Amount = d.Month.Gross.Amount / int64(d.Month.Orders)
	}
	err = s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		var err error
		if d.ByStatus, err = tx.CountOrdersByStatus(ctx, st.ID); err != nil {
			return err
		}
		if d.LowStock, err = tx.StockBelow(ctx, st.ID, 5, 10); err != nil {
			return err
		}
		page, err := tx.ListOrders(ctx, st.ID, shop.OrderFilter{Limit: 8})
		d.Latest = page.Orders
		return err
	})
	return d, err
}
