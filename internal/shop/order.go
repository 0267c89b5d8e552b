package shop

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OrderStatus is where an order stands.
type OrderStatus string

// Order statuses.
const (
	OrderPendingPayment    OrderStatus = "pending_payment"
	OrderPaid              OrderStatus = "paid"
	OrderProcessing        OrderStatus = "processing"
	OrderShipped           OrderStatus = "shipped"
	OrderDelivered         OrderStatus = "delivered"
	OrderCancelled         OrderStatus = "cancelled"
	OrderRefunded          OrderStatus = "refunded"
	OrderPartiallyRefunded OrderStatus = "partially_refunded"
)

// StaffMoves are the statuses staff move an order to by hand; payments and refunds move it to
// the others.
var StaffMoves = []OrderStatus{OrderProcessing, OrderShipped, OrderDelivered, OrderCancelled}

// OrderStatuses are the statuses an order can be found in after it was paid for, in their order.
var OrderStatuses = []OrderStatus{OrderPaid, OrderProcessing, OrderShipped, OrderDelivered, OrderCancelled, OrderRefunded, OrderPartiallyRefunded}

// orderMoves is the order state machine: every legal move, in one place.
var orderMoves = map[OrderStatus][]OrderStatus{
	OrderPendingPayment:    {OrderPaid, OrderCancelled},
	OrderPaid:              {OrderProcessing, OrderShipped, OrderCancelled, OrderRefunded, OrderPartiallyRefunded},
	OrderProcessing:        {OrderShipped, OrderCancelled, OrderRefunded, OrderPartiallyRefunded},
	OrderShipped:           {OrderDelivered, OrderRefunded, OrderPartiallyRefunded},
	OrderDelivered:         {OrderRefunded, OrderPartiallyRefunded},
	OrderPartiallyRefunded: {OrderProcessing, OrderShipped, OrderDelivered, OrderPartiallyRefunded, OrderRefunded},
}

// CanMove reports whether an order may move from s to to.
func (s OrderStatus) CanMove(to OrderStatus) bool { return slices.Contains(orderMoves[s], to) }

// Cancellable reports whether an order in s may still be cancelled by its customer: nothing has
// left the shop.
func (s OrderStatus) Cancellable() bool {
	return s == OrderPendingPayment || s == OrderPaid || s == OrderProcessing
}

// Label is the status as people read it: "pending payment".
func (s OrderStatus) Label() string { return strings.ReplaceAll(string(s), "_", " ") }

// Known reports whether s is one of the order statuses.
func (s OrderStatus) Known() bool {
	_, ok := orderMoves[s]
	return ok || s == OrderCancelled || s == OrderRefunded
}

// LineTotal is what quantity units at unitPrice cost, in minor units.
func LineTotal(unitPrice int64, quantity int) int64 { return unitPrice * int64(quantity) }

// MaxCartLines is how many products a cart holds: a customer's and a visitor's alike.
const MaxCartLines = 100

// CartTakes reports whether a cart of lines products takes a product: more of one it holds
// always, a new one while it has room.
func CartTakes(lines int, holds bool) bool { return holds || lines < MaxCartLines }

// CartLine is one line of a customer's cart with the product as the catalogue has it now.
type CartLine struct {
	ProductID   string
	Quantity    int
	SKU         string
	Name        string
	PriceAmount int64 // the catalogue's price now
	Accepted    int64 // the unit price the customer accepted when the line was last set; 0 for none recorded
	Stock       int
	Status      ProductStatus
	WeightGrams int
	TaxClass    TaxClass
}

// PriceChanged reports whether the catalogue's price is no longer the one the customer accepted.
func (l CartLine) PriceChanged() bool { return l.Accepted != 0 && l.Accepted != l.PriceAmount }

// Total is what the line costs at the catalogue's price now.
func (l CartLine) Total() int64 { return LineTotal(l.PriceAmount, l.Quantity) }

// Available reports whether the line can be bought as it is: for sale, and enough in stock.
func (l CartLine) Available() bool { return l.Status.ForSale() && l.Stock >= l.Quantity }

// Order is a customer's order with its lines, history and payments. Its paid and refunded figures
// are sums over its rows in the payments ledger, read with it; the order keeps no total of its own.
type Order struct {
	ID          string
	Number      int64 // the number people read, #1001 on: per store, without gaps
	StoreID     StoreID
	CustomerID  UserID
	Email       string // where the order's mail goes, as it was at checkout
	Status      OrderStatus
	Currency    string
	TotalAmount int64 // Subtotal + ShippingAmount + TaxAmount
	// The figures, immutable: without tax (what the goods and the shipping cost net), the tax on
	// both, and whether the store's prices (the lines' and ShippingPrice) included it.
	Subtotal         int64
	ShippingAmount   int64
	TaxAmount        int64
	PricesIncludeTax bool
	TaxName          string    // what the tax is called on invoices: VAT, Sales tax
	ShippingTax      int64     // the shipping's tax, at ShippingTaxRate of ShippingTaxClass
	ShippingTaxRate  int64     // in RateScale units
	ShippingTaxClass TaxClass  //
	Taxes            []TaxLine // the tax per rate, summed over the lines and the shipping (SumTaxes); they sum to TaxAmount

	ShippingAddress Address
	BillingAddress  Address
	ShippingMethod  string // the method's name, as it was at checkout
	ShippingPrice   int64  // what the customer was charged for shipping, as the store prices it
	Carrier         string // set when it ships
	TrackingNumber  string

	CreatedAt time.Time
	UpdatedAt time.Time
	// ReservedUntil is when an order pending payment gives its stock back, unpaid.
	ReservedUntil *time.Time

	PaidAmount     int64 // succeeded charges
	RefundedAmount int64 // succeeded refunds
	RefundPending  int64 // refunds asked of the gateway and not yet answered

	Lines    []OrderLine
	History  []OrderEvent
	Payments []Payment
	Invoices []Invoice
}

// SumTaxes adds an order's tax up per rate, over its lines and its shipping (each rounded on its
// own): the order keeps no second total of it.
func (o Order) SumTaxes() []TaxLine {
	var out []TaxLine
	add := func(class TaxClass, rate, net, tax int64) {
		for i := range out {
			if out[i].Class == class && out[i].Rate == rate {
				out[i].Base += net
				out[i].Amount += tax
				return
			}
		}
		out = append(out, TaxLine{Class: class, Rate: rate, Name: o.TaxName, Base: net, Amount: tax})
	}
	for _, l := range o.Lines {
		add(l.TaxClass, l.TaxRate, l.Net, l.TaxAmount)
	}
	if o.ShippingAmount+o.ShippingTax > 0 {
		class := o.ShippingTaxClass
		if class == "" {
			class = TaxStandard
		}
		add(class, o.ShippingTaxRate, o.ShippingAmount, o.ShippingTax)
	}
	slices.SortStableFunc(out, func(a, b TaxLine) int {
		if c := slices.Index(TaxClasses, a.Class) - slices.Index(TaxClasses, b.Class); c != 0 {
			return c
		}
		return cmp.Compare(b.Rate, a.Rate)
	})
	return out
}

// Ref is the order's number as people read and say it: "#1001".
func (o Order) Ref() string {
	if o.Number == 0 {
		return shortID(o.ID)
	}
	return "#" + strconv.FormatInt(o.Number, 10)
}

// ItemsTotal is what the lines cost as the store priced them (including tax in a store whose
// prices include it): what the customer saw next to the items.
func (o Order) ItemsTotal() int64 {
	var t int64
	for _, l := range o.Lines {
		t += l.LineTotal
	}
	return t
}

// Ships reports whether the order goes by post: it has a shipping address.
func (o Order) Ships() bool { return !o.ShippingAddress.Empty() }

// Invoice returns the order's invoice, once it is paid.
func (o Order) Invoice() (Invoice, bool) {
	for _, i := range o.Invoices {
		if i.Kind == InvoiceKindInvoice {
			return i, true
		}
	}
	return Invoice{}, false
}

// CreditNotes are the order's credit notes, one per refund, oldest first.
func (o Order) CreditNotes() []Invoice {
	var out []Invoice
	for _, i := range o.Invoices {
		if i.Kind == InvoiceKindCreditNote {
			out = append(out, i)
		}
	}
	return out
}

// InvoiceKind is what a numbered document is: an invoice for a paid order or a credit note for a
// refund.
type InvoiceKind string

// Invoice kinds.
const (
	InvoiceKindInvoice    InvoiceKind = "invoice"
	InvoiceKindCreditNote InvoiceKind = "credit_note"
)

// Invoice is an invoice or a credit note: numbered per store and kind without gaps, for the
// amount of the payment it documents, with the tax of each rate in it.
type Invoice struct {
	ID        string
	Kind      InvoiceKind
	Number    int64
	OrderID   string
	PaymentID string
	Amount    int64
	TaxAmount int64
	Taxes     []TaxLine
	IssuedAt  time.Time
}

// Ref is the document's number as printed: "INV-0001", "CN-0001".
func (i Invoice) Ref() string {
	p := "INV-"
	if i.Kind == InvoiceKindCreditNote {
		p = "CN-"
	}
	return p + fmt.Sprintf("%04d", i.Number)
}

// CreditTaxes shares the tax of an order out over a refund of amount: each rate's part in
// proportion to its share of the order's total (base and tax together), rounded down, with what
// rounding left over given to the largest rate, so the parts sum to the refund and no rate gives
// back more tax than it charged.
func CreditTaxes(o Order, amount int64) (taxes []TaxLine, tax int64) {
	if o.TotalAmount <= 0 || amount <= 0 {
		return nil, 0
	}
	if amount > o.TotalAmount {
		amount = o.TotalAmount
	}
	var gross int64
	largest := -1
	for i, t := range o.Taxes {
		part := mulDiv(t.Base+t.Amount, amount, o.TotalAmount)
		tx := mulDiv(t.Amount, amount, o.TotalAmount)
		taxes = append(taxes, TaxLine{Class: t.Class, Rate: t.Rate, Name: t.Name, Base: part - tx, Amount: tx})
		gross, tax = gross+part, tax+tx
		if largest < 0 || t.Rate > o.Taxes[largest].Rate {
			largest = i
		}
	}
	if largest >= 0 {
		taxes[largest].Base += amount - gross // the pennies rounding left go to the net part
	}
	return taxes, tax
}

// Refundable is what may still be refunded: paid, less what was refunded or is being refunded.
func (o Order) Refundable() int64 { return o.PaidAmount - o.RefundedAmount - o.RefundPending }

// Cancellable reports whether the order's customer may still cancel it.
func (o Order) Cancellable() bool { return o.Status.Cancellable() }

// Charge returns the order's charge: the succeeded one, else the newest attempt.
func (o Order) Charge() (Payment, bool) {
	var found Payment
	ok := false
	for _, p := range o.Payments {
		if p.Kind != PaymentCharge {
			continue
		}
		if !ok || p.State == PaymentSucceeded || (found.State != PaymentSucceeded && p.CreatedAt.After(found.CreatedAt)) {
			found, ok = p, true
		}
	}
	return found, ok
}

// Line returns the order's line with id.
func (o Order) Line(id string) (OrderLine, bool) {
	for _, l := range o.Lines {
		if l.ID == id {
			return l, true
		}
	}
	return OrderLine{}, false
}

// OrderLine is what was sold at what price. Written once, never changed; Returned is how many of
// it came back since.
type OrderLine struct {
	ID        string
	ProductID string
	SKU       string
	Name      string
	UnitPrice int64 // as the store priced it: including tax in a store whose prices include it
	Quantity  int
	LineTotal int64
	TaxClass  TaxClass
	TaxRate   int64 // in RateScale units
	TaxAmount int64 // the line's tax, rounded
	Net       int64 // the line without tax
	Returned  int
}

// Returnable is how many of the line can still come back.
func (l OrderLine) Returnable() int { return l.Quantity - l.Returned }

// OrderEvent is one move of an order's status.
type OrderEvent struct {
	From      OrderStatus
	To        OrderStatus
	ActorID   string
	ActorRole string
	Note      string
	At        time.Time
}

// OrderMove is a move of a new order's status made in the transaction that writes it.
type OrderMove struct {
	To   OrderStatus
	Note string
}

// OrderFilter selects orders.
type OrderFilter struct {
	CustomerID UserID // only this customer's orders, when set
	Status     OrderStatus
	ToPack     bool   // only orders paid and not yet shipped (paid, processing), oldest first
	Cursor     string // the id of the last order of the previous page
	Limit      int
}

// ToPack reports whether an order in s waits to be packed and sent: paid, not yet shipped.
func (s OrderStatus) ToPack() bool { return s == OrderPaid || s == OrderProcessing }

// OrderPage is one page of orders, newest first (oldest first for ToPack).
type OrderPage struct {
	Orders     []Order
	NextCursor string
}

// PaymentKind is what a row of the payments ledger records: money taken or money returned.
type PaymentKind string

// PaymentState is where a payment stands with the gateway.
type PaymentState string

// Payment kinds and states.
const (
	PaymentCharge PaymentKind = "charge"
	PaymentRefund PaymentKind = "refund"

	PaymentPending   PaymentState = "pending"   // recorded, the gateway not yet asked or not yet answered
	PaymentSucceeded PaymentState = "succeeded" // the money moved
	PaymentFailed    PaymentState = "failed"    // it did not (Failure says why)
)

// Payment is one row of the payments ledger: a charge or a refund of an order. Its id is the
// idempotency key the gateway is given, so that asking twice moves the money once.
type Payment struct {
	ID          string
	OrderID     string
	Kind        PaymentKind
	State       PaymentState
	Amount      int64
	Currency    string
	Provider    string
	ProviderRef string
	Failure     string // a short code: expired, refused, error
	Reason      string // for refunds: why
	ActorID     string
	CreatedAt   time.Time
	SettledAt   *time.Time
	// For a charge: the provider's payment session and the page the customer pays on.
	SessionID   string
	RedirectURL string
}

// ReservationOver reports whether the order's reservation had ended by now: unpaid, its stock may
// go back to the shelf.
func (o Order) ReservationOver(now time.Time) bool {
	return o.ReservedUntil != nil && !now.Before(*o.ReservedUntil)
}

// AwaitsPayment reports whether the order can still be paid: pending payment, its charge pending,
// its reservation not over.
func (o Order) AwaitsPayment(now time.Time) bool {
	c, ok := o.Charge()
	return o.Status == OrderPendingPayment && ok && c.State == PaymentPending && !o.ReservationOver(now)
}

// Payable reports whether the customer can pay the order on the provider's page now: it awaits
// payment, and the page is open.
func (o Order) Payable(now time.Time) bool {
	c, _ := o.Charge()
	return o.AwaitsPayment(now) && c.RedirectURL != ""
}

// shortID is the part of an id people read.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// mulDiv is a × b ÷ c rounded down, for non-negative a, b and a positive c, without overflowing
// on the way.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b)) // #nosec G115 -- callers pass amounts, never negative
	if hi >= uint64(c) {                       // #nosec G115 -- c is positive
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(c)) // #nosec G115 -- c is positive
	return int64(q)                       // #nosec G115 -- q ≤ a when b ≤ c, as every caller's is
}
