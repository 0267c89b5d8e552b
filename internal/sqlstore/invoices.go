package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"secureshop/internal/shop"
)

// Counters a store numbers things with, each without gaps.
const (
	CounterOrder      = "order"       // order numbers, from 1001
	CounterInvoice    = "invoice"     // invoice numbers, from 1
	CounterCreditNote = "credit_note" // credit note numbers, from 1
)

var counterStart = map[string]int64{CounterOrder: 1001, CounterInvoice: 1, CounterCreditNote: 1}

// NextNumber takes the next number of a store's counter. The counter's row is updated in the
// caller's transaction and stays locked until it ends (on PostgreSQL; SQLite has one writer
// anyway), so a number is never given twice, and one whose transaction rolls back is given again
// by the next: the numbers have no gaps. Call it late in a transaction: other transactions of the
// store that need a number wait for this one's end.
func (tx *Tx) NextNumber(ctx context.Context, store shop.StoreID, counter string) (int64, error) {
	start, ok := counterStart[counter]
	if !ok {
		return 0, fmt.Errorf("sqlstore: no counter %q", counter)
	}
	var n int64
	err := tx.queryRow(ctx, []any{&n}, `INSERT INTO store_counters (store_id, name, value) VALUES (?, ?, ?)
		ON CONFLICT (store_id, name) DO UPDATE SET value = store_counters.value + 1 RETURNING value`, store, counter, start)
	return n, err
}

// IssueInvoice writes an invoice or a credit note for a payment of an order, numbered from its
// kind's counter. A payment has at most one of each kind: issuing again returns shop.ErrDuplicate.
func (tx *Tx) IssueInvoice(ctx context.Context, store shop.StoreID, inv *shop.Invoice) error {
	counter := CounterInvoice
	if inv.Kind == shop.InvoiceKindCreditNote {
		counter = CounterCreditNote
	}
	if inv.ID == "" {
		inv.ID = shop.NewID()
	}
	inv.IssuedAt = tx.now
	if tx.conn != nil {
		// PostgreSQL: the number is taken in the invoice's own statement, sent with the COMMIT, so
		// that the counter's row is locked for no round trip (Number stays 0 here; read it after).
		if err := tx.later(ctx, `WITH n AS (INSERT INTO store_counters (store_id, name, value) VALUES (?, ?, 1)
			ON CONFLICT (store_id, name) DO UPDATE SET value = store_counters.value + 1 RETURNING value)
			INSERT INTO invoices (id, store_id, kind, number, order_id, payment_id, amount, tax_amount, issued_at)
			VALUES (?, ?, ?, (SELECT value FROM n), ?, ?, ?, ?, ?)`, store, counter, inv.ID, store, inv.Kind, inv.OrderID, inv.PaymentID,
			inv.Amount, inv.TaxAmount, ts(tx.now)); err != nil {
			return err
		}
	} else {
		n, err := tx.NextNumber(ctx, store, counter)
		if err != nil {
			return err
		}
		inv.Number = n
		if err := tx.later(ctx, `INSERT INTO invoices (id, store_id, kind, number, order_id, payment_id, amount, tax_amount, issued_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, inv.ID, store, inv.Kind, n, inv.OrderID, inv.PaymentID, inv.Amount, inv.TaxAmount, ts(tx.now)); err != nil {
			return err
		}
	}
	if len(inv.Taxes) == 0 {
		return nil
	}
	q := `INSERT INTO invoice_taxes (store_id, invoice_id, class, rate, name, base, amount) VALUES `
	a := make([]any, 0, 7*len(inv.Taxes))
	for i, t := range inv.Taxes {
		if i > 0 {
			q += ", "
		}
		q += "(?, ?, ?, ?, ?, ?, ?)"
		a = append(a, store, inv.ID, t.Class, t.Rate, t.Name, t.Base, t.Amount)
	}
	return tx.later(ctx, q, a...)
}

// taxesAndInvoices works out the tax per rate of orders (their lines read) and reads their
// invoices (at maps an id to its index).
func (tx *Tx) taxesAndInvoices(ctx context.Context, store shop.StoreID, orders []shop.Order, ids []string, at map[string]int) error {
	for i := range orders {
		orders[i].Taxes = orders[i].SumTaxes()
	}
	// Each invoice with its tax lines: one row per line (or one of the invoice alone, without any).
	inv, err := tx.query(ctx, `SELECT i.id, i.kind, i.number, i.order_id, i.payment_id, i.amount, i.tax_amount, i.issued_at,
		COALESCE(t.class, ''), COALESCE(t.rate, 0), COALESCE(t.name, ''), COALESCE(t.base, 0), COALESCE(t.amount, 0)
		FROM invoices i LEFT JOIN invoice_taxes t ON t.store_id = i.store_id AND t.invoice_id = i.id
		WHERE i.store_id = ? AND i.order_id IN (`+placeholders(len(ids))+`) ORDER BY i.issued_at, i.number`, idArgs(store, ids)...)
	if err != nil {
		return err
	}
	defer func() { _ = inv.Close() }()
	for inv.Next() {
		var v shop.Invoice
		var t shop.TaxLine
		var issued dbTime
		if err := inv.Scan(&v.ID, &v.Kind, &v.Number, &v.OrderID, &v.PaymentID, &v.Amount, &v.TaxAmount, &issued,
			&t.Class, &t.Rate, &t.Name, &t.Base, &t.Amount); err != nil {
			return err
		}
		v.IssuedAt = issued.T
		i, ok := at[v.OrderID]
		if !ok {
			continue
		}
		o := &orders[i]
		if n := len(o.Invoices); n == 0 || o.Invoices[n-1].ID != v.ID {
			o.Invoices = append(o.Invoices, v)
		}
		if t.Class != "" {
			last := &o.Invoices[len(o.Invoices)-1]
			last.Taxes = append(last.Taxes, t)
		}
	}
	if err := inv.Err(); err != nil {
		return err
	}
	for i := range orders {
		for j := range orders[i].Invoices {
			sortTaxes(orders[i].Invoices[j].Taxes)
		}
	}
	return nil
}

// sortTaxes puts tax lines in the order invoices list them: by class, then by rate.
func sortTaxes(t []shop.TaxLine) {
	slices.SortFunc(t, func(a, b shop.TaxLine) int {
		if c := slices.Index(shop.TaxClasses, a.Class) - slices.Index(shop.TaxClasses, b.Class); c != 0 {
			return c
		}
		return cmp.Compare(b.Rate, a.Rate)
	})
}

// addressCol is an address as the orders table keeps it: JSON, or empty for none.
func addressCol(a shop.Address) string {
	if a.Empty() {
		return ""
	}
	b, err := json.Marshal(a)
	if err != nil { // a struct of strings always marshals
		panic(err)
	}
	return string(b)
}

func readAddress(s string) (shop.Address, error) {
	var a shop.Address
	if s == "" {
		return a, nil
	}
	err := json.Unmarshal([]byte(s), &a)
	return a, err
}
