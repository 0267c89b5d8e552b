package web

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"secureshop/internal/orders"
	"secureshop/internal/reports"
	"secureshop/internal/shop"
)

// refundBody is a refund as a client asks for it: money as {amount, currency} (absent: everything
// not yet refunded) and the lines that come back to the shelf, each with how many.
type refundBody struct {
	Amount  *shop.Money `json:"amount"`
	Reason  string      `json:"reason"`
	Restock []struct {
		LineID   string `json:"line_id"`
		Quantity int    `json:"quantity"`
	} `json:"restock"`
}

func (s *Server) apiRefund(w http.ResponseWriter, r *http.Request) error {
	var in refundBody
	raw, err := decodeRaw(r, &in)
	if e := shop.AsError(err); e != nil && len(e.Fields) == 1 && e.Fields[0].Field == "restock" {
		return shop.Invalid(shop.FieldError{Field: "restock", Message: `names what comes back, line by line: [{"line_id": "…", "quantity": 1}]`})
	}
	if e := shop.AsError(err); e != nil && len(e.Fields) == 1 && e.Fields[0].Field == "amount" {
		return shop.Invalid(shop.FieldError{Field: "amount", Message: `is money: {"amount": 500, "currency": "GBP"} in minor units`})
	}
	if err != nil {
		return err
	}
	req := orders.RefundRequest{Amount: in.Amount, Reason: in.Reason, Idempotency: s.idempotency(r, raw)}
	for _, l := range in.Restock {
		req.Restock = append(req.Restock, orders.Return{LineID: l.LineID, Quantity: l.Quantity})
	}
	info := infoOf(r)
	o, replayed, err := s.orders.Refund(r.Context(), info.principal, info.store.ID, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	return writeJSON(w, http.StatusCreated, viewOrder(o))
}

// reportPeriod reads ?from=&to=&interval= (dates as 2006-01-02 or RFC 3339; to is exclusive and
// defaults to tomorrow, from to 30 days before to).
func reportPeriod(r *http.Request) (time.Time, time.Time, string, error) {
	q := r.URL.Query()
	parse := func(field, v string) (time.Time, error) {
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, shop.Invalid(shop.FieldError{Field: field, Message: "must be a date (2006-01-02) or an RFC 3339 time"})
		}
		return t, nil
	}
	now := time.Now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	var err error
	if v := q.Get("to"); v != "" {
		if to, err = parse("to", v); err != nil {
			return time.Time{}, time.Time{}, "", err
		}
	}
	from := to.AddDate(0, 0, -30)
	if v := q.Get("from"); v != "" {
		if from, err = parse("from", v); err != nil {
			return time.Time{}, time.Time{}, "", err
		}
	}
	return from, to, q.Get("interval"), nil
}

func (s *Server) salesReport(r *http.Request) (reports.Sales, error) {
	from, to, interval, err := reportPeriod(r)
	if err != nil {
		return reports.Sales{}, err
	}
	info := infoOf(r)
	return s.reports.SalesReport(r.Context(), info.principal, *info.store, from, to, interval)
}

// apiSalesReport answers JSON, or CSV with ?format=csv (report=sales, products or customers).
func (s *Server) apiSalesReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.salesReport(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" {
		return writeReportCSV(w, rep, r.URL.Query().Get("report"))
	}
	return writeJSON(w, http.StatusOK, rep)
}

func writeReportCSV(w http.ResponseWriter, rep reports.Sales, which string) error {
	if which == "" {
		which = "sales"
	}
	var rows [][]string
	switch which {
	case "sales":
		rows = append(rows, []string{"period_start", "orders", "gross", "refunds", "net", "new_customers", "returning_customers", "currency"})
		for _, b := range rep.Buckets {
			rows = append(rows, []string{b.Start.Format("2006-01-02"), strconv.Itoa(b.Orders), b.Gross.Decimal(), b.Refunds.Decimal(), b.Net.Decimal(),
				strconv.Itoa(b.New), strconv.Itoa(b.Returning), rep.Currency})
		}
	case "products":
		rows = append(rows, []string{"product_id", "sku", "name", "quantity", "revenue", "currency"})
		for _, p := range rep.TopProducts {
			rows = append(rows, []string{p.ProductID, csvSafe(p.SKU), csvSafe(p.Name), strconv.FormatInt(p.Quantity, 10), p.Revenue.Decimal(), rep.Currency})
		}
	case "taxes":
		rows = append(rows, []string{"period_start", "class", "rate_percent", "name", "base", "invoiced", "credited", "tax", "currency"})
		for _, t := range rep.Taxes {
			rows = append(rows, []string{t.Start.Format("2006-01-02"), string(t.Class), strings.TrimSuffix(shop.FormatRate(t.Rate), "%"), csvSafe(t.Name),
				t.Base.Decimal(), t.Invoiced.Decimal(), t.Credited.Decimal(), t.Tax.Decimal(), rep.Currency})
		}
	case "shipping":
		rows = append(rows, []string{"period_start", "method", "orders", "charged", "net", "currency"})
		for _, m := range rep.Shipping {
			rows = append(rows, []string{m.Start.Format("2006-01-02"), csvSafe(m.Method), strconv.Itoa(m.Orders), m.Charged.Decimal(), m.Net.Decimal(), rep.Currency})
		}
	case "customers":
		rows = append(rows, []string{"customer_id", "orders", "spent", "currency"})
		for _, c := range rep.TopCustomers {
			rows = append(rows, []string{string(c.CustomerID), strconv.Itoa(c.Orders), c.Spent.Decimal(), rep.Currency})
		}
	default:
		return shop.Invalid(shop.FieldError{Field: "report", Message: "must be sales, products, customers, taxes or shipping"})
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+which+`-`+rep.From.Format("20060102")+`.csv"`)
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
