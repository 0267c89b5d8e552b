package web

import (
	"io"
	"net/http"
	"time"

	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

type cartLineView struct {
	ProductID string     `json:"product_id"`
	SKU       string     `json:"sku"`
	Name      string     `json:"name"`
	UnitPrice shop.Money `json:"unit_price"`
	// PreviousUnitPrice is the price the customer accepted, when the catalogue's changed since:
	// checkout refuses the line until they accept the new one (by setting the line again, or by
	// checking out with the new total as expected_total).
	PreviousUnitPrice *shop.Money `json:"previous_unit_price"`
	Quantity          int         `json:"quantity"`
	LineTotal         shop.Money  `json:"line_total"`
	Available         bool        `json:"available"`
}

type cartView struct {
	Items        []cartLineView `json:"items"`
	Total        shop.Money     `json:"total"`
	PriceChanged bool           `json:"price_changed"`
}

func viewCart(c orders.Cart, currency string) cartView {
	v := cartView{Items: []cartLineView{}, Total: shop.M(c.Total, currency)}
	for _, l := range c.Lines {
		lv := cartLineView{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name,
			UnitPrice: shop.M(l.UnitPrice, currency), Quantity: l.Quantity,
			LineTotal: shop.M(l.LineTotal, currency), Available: l.Available}
		if l.PreviousPrice != 0 {
			prev := shop.M(l.PreviousPrice, currency)
			lv.PreviousUnitPrice, v.PriceChanged = &prev, true
		}
		v.Items = append(v.Items, lv)
	}
	return v
}

type orderLineView struct {
	ID         string        `json:"id"`
	ProductID  string        `json:"product_id"`
	SKU        string        `json:"sku"`
	Name       string        `json:"name"`
	UnitPrice  shop.Money    `json:"unit_price"`
	Quantity   int           `json:"quantity"`
	LineTotal  shop.Money    `json:"line_total"`
	TaxClass   shop.TaxClass `json:"tax_class"`
	TaxRate    int64         `json:"tax_rate"`
	Tax        shop.Money    `json:"tax"`
	Net        shop.Money    `json:"net"`
	Returned   int           `json:"returned"`   // units that came back (a cancellation, a refund with restock)
	Returnable int           `json:"returnable"` // units that can still come back
}

type taxView struct {
	Class  shop.TaxClass `json:"class"`
	Rate   int64         `json:"rate"`
	Name   string        `json:"name"`
	Base   shop.Money    `json:"base"`
	Amount shop.Money    `json:"amount"`
}

func viewTaxes(t []shop.TaxLine, currency string) []taxView {
	out := []taxView{}
	for _, l := range t {
		out = append(out, taxView{l.Class, l.Rate, l.Name, shop.M(l.Base, currency), shop.M(l.Amount, currency)})
	}
	return out
}

type invoiceView struct {
	ID       string           `json:"id"`
	Kind     shop.InvoiceKind `json:"kind"`
	Number   int64            `json:"number"`
	Ref      string           `json:"ref"`
	Amount   shop.Money       `json:"amount"`
	Tax      shop.Money       `json:"tax"`
	Taxes    []taxView        `json:"taxes"`
	IssuedAt time.Time        `json:"issued_at"`
}

type shippingView struct {
	Method         string     `json:"method"`
	Price          shop.Money `json:"price"`
	Carrier        string     `json:"carrier"`
	TrackingNumber string     `json:"tracking_number"`
}

type orderEventView struct {
	From      shop.OrderStatus `json:"from"`
	To        shop.OrderStatus `json:"to"`
	ActorRole string           `json:"actor_role"`
	Note      string           `json:"note"`
	At        time.Time        `json:"at"`
}

type orderView struct {
	ID               string           `json:"id"`
	Number           int64            `json:"number"`
	Status           shop.OrderStatus `json:"status"`
	CustomerID       shop.UserID      `json:"customer_id"`
	Email            string           `json:"email"`
	Items            []orderLineView  `json:"items"`
	PricesIncludeTax bool             `json:"prices_include_tax"`
	Subtotal         shop.Money       `json:"subtotal"`      // the items without tax
	ShippingAmount   shop.Money       `json:"shipping_cost"` // shipping without tax
	Tax              shop.Money       `json:"tax"`
	Taxes            []taxView        `json:"taxes"`
	ShippingAddress  *shop.Address    `json:"shipping_address"`
	BillingAddress   *shop.Address    `json:"billing_address"`
	Shipping         *shippingView    `json:"shipping"`
	Invoices         []invoiceView    `json:"invoices"`
	Total            shop.Money       `json:"total"`
	Ref              string           `json:"-"` // #1001
	ItemsTotal       shop.Money       `json:"-"` // the lines as priced
	TaxIncluded      bool             `json:"-"` // prices include the tax: it is shown as included, not added
	Paid             shop.Money       `json:"paid"`
	Refunded         shop.Money       `json:"refunded"`
	RefundPending    shop.Money       `json:"refund_pending"`
	Refundable       shop.Money       `json:"refundable"` // paid, less what is refunded or being refunded
	Payment          paymentView      `json:"payment"`
	ReservedUntil    *time.Time       `json:"reserved_until"` // pending payment: when its stock goes back unpaid
	Payments         []paymentRowView `json:"payments"`
	History          []orderEventView `json:"history"`
	CreatedAt        time.Time        `json:"created_at"`
	UpdatedAt        time.Time        `json:"updated_at"`
}

// paymentView is the order's charge: where it stands, the provider taking it, its reference there
// once paid, and — while it can be paid — the provider's page to send the customer to.
type paymentView struct {
	State       string  `json:"state"`
	Provider    string  `json:"provider"`
	Reference   string  `json:"reference"`
	RedirectURL *string `json:"redirect_url"`
}

// paymentRowView is a row of the payments ledger: a charge or a refund of the order.
type paymentRowView struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	State     string     `json:"state"`
	Amount    shop.Money `json:"amount"`
	Reference string     `json:"reference"`
	Failure   string     `json:"failure"`
	Reason    string     `json:"reason"`
	CreatedAt time.Time  `json:"created_at"`
	SettledAt *time.Time `json:"settled_at"`
}

func viewOrder(o shop.Order) orderView {
	m := func(a int64) shop.Money { return shop.M(a, o.Currency) }
	v := orderView{ID: o.ID, Number: o.Number, Status: o.Status, CustomerID: o.CustomerID, Email: o.Email, Items: []orderLineView{},
		PricesIncludeTax: o.PricesIncludeTax, Subtotal: m(o.Subtotal), ShippingAmount: m(o.ShippingAmount), Tax: m(o.TaxAmount),
		Taxes: viewTaxes(o.Taxes, o.Currency), Invoices: []invoiceView{}, Total: m(o.TotalAmount),
		Ref: o.Ref(), ItemsTotal: m(o.ItemsTotal()), TaxIncluded: o.PricesIncludeTax,
		Paid: m(o.PaidAmount), Refunded: m(o.RefundedAmount), RefundPending: m(o.RefundPending), Refundable: m(max(o.Refundable(), 0)),
		Payments: []paymentRowView{}, History: []orderEventView{}, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if o.Status == shop.OrderPendingPayment {
		v.ReservedUntil = o.ReservedUntil
	}
	v.Payment.State = "none" // nothing to pay
	if c, ok := o.Charge(); ok {
		v.Payment.State, v.Payment.Provider, v.Payment.Reference = string(c.State), c.Provider, c.ProviderRef
		if o.Payable(time.Now()) {
			v.Payment.RedirectURL = &c.RedirectURL
		}
	}
	for _, l := range o.Lines {
		v.Items = append(v.Items, orderLineView{l.ID, l.ProductID, l.SKU, l.Name, m(l.UnitPrice), l.Quantity, m(l.LineTotal),
			l.TaxClass, l.TaxRate, m(l.TaxAmount), m(l.Net), l.Returned, l.Returnable()})
	}
	if o.Ships() {
		a, b := o.ShippingAddress, o.BillingAddress
		v.ShippingAddress, v.BillingAddress = &a, &b
		v.Shipping = &shippingView{Method: o.ShippingMethod, Price: m(o.ShippingPrice), Carrier: o.Carrier, TrackingNumber: o.TrackingNumber}
	} else if !o.BillingAddress.Empty() {
		b := o.BillingAddress
		v.BillingAddress = &b
	}
	for _, i := range o.Invoices {
		v.Invoices = append(v.Invoices, invoiceView{i.ID, i.Kind, i.Number, i.Ref(), m(i.Amount), m(i.TaxAmount), viewTaxes(i.Taxes, o.Currency), i.IssuedAt})
	}
	for _, p := range o.Payments {
		v.Payments = append(v.Payments, paymentRowView{ID: p.ID, Kind: string(p.Kind), State: string(p.State), Amount: m(p.Amount),
			Reference: p.ProviderRef, Failure: p.Failure, Reason: p.Reason, CreatedAt: p.CreatedAt, SettledAt: p.SettledAt})
	}
	for _, e := range o.History {
		v.History = append(v.History, orderEventView{e.From, e.To, e.ActorRole, e.Note, e.At})
	}
	return v
}

func (s *Server) apiCart(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	c, err := s.orders.Cart(r.Context(), info.principal, info.store.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewCart(c, info.store.Currency))
}

func (s *Server) apiSetCartItem(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Quantity *int `json:"quantity"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Quantity == nil {
		return shop.Invalid(shop.FieldError{Field: "quantity", Message: "is required"})
	}
	info := infoOf(r)
	c, err := s.orders.SetItem(r.Context(), info.principal, info.store.ID, r.PathValue("product_id"), *in.Quantity)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewCart(c, info.store.Currency))
}

func (s *Server) apiRemoveCartItem(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	c, err := s.orders.RemoveItem(r.Context(), info.principal, info.store.ID, r.PathValue("product_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewCart(c, info.store.Currency))
}

type checkoutBody struct {
	ExpectedTotal    *shop.Money   `json:"expected_total"`
	ShippingAddress  *shop.Address `json:"shipping_address"`
	BillingAddress   *shop.Address `json:"billing_address"`
	ShippingMethodID string        `json:"shipping_method_id"`
}

func (b checkoutBody) destination() orders.Destination {
	return orders.Destination{ShippingAddress: b.ShippingAddress, BillingAddress: b.BillingAddress, ShippingMethodID: b.ShippingMethodID}
}

// apiCheckout turns the cart into an order pending payment and answers with it and the provider's
// page to pay it on (payment.redirect_url). It needs an Idempotency-Key; the raw body goes into
// the key's hash, so that a retry can be told from a different request. No card is taken: a body
// with one is refused as having fields it may not have.
func (s *Server) apiCheckout(w http.ResponseWriter, r *http.Request) error {
	var in checkoutBody
	raw, err := decodeRaw(r, &in)
	if err != nil {
		return err
	}
	info := infoOf(r)
	o, replayed, err := s.orders.Checkout(r.Context(), info.principal, *info.store, orders.CheckoutRequest{
		ExpectedTotal: in.ExpectedTotal, Destination: in.destination(), Idempotency: s.idempotency(r, raw),
	})
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	w.Header().Set("Location", "/api/v1/stores/"+info.store.Slug+"/orders/"+o.ID)
	return writeJSON(w, http.StatusCreated, viewOrder(o))
}

// apiPayOrder answers with the customer's order pending payment and the provider's page to pay it
// on, opening the page if checkout could not.
func (s *Server) apiPayOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, err := s.orders.Pay(r.Context(), info.principal, *info.store, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOrder(o))
}

// apiPaymentWebhook takes the payment provider's signed events. A signature that does not verify
// is refused (400) and changes nothing; a verified event is acknowledged once it is safe in the job
// queue (the provider sends it again until then), and applied, once, by the queue's worker.
func (s *Server) apiPaymentWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.payments == nil || r.PathValue("provider") != s.payments.Name() {
		return shop.NotFound("Payment provider")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		return shop.Errorf(shop.KindBadRequest, "The body could not be read.")
	}
	ev, err := s.payments.ParseWebhook(body, r.Header)
	if err != nil {
		s.log.WarnContext(r.Context(), "payment webhook refused", "err", err)
		return &shop.Error{Kind: shop.KindBadRequest, Code: shop.CodeBadSignature, Message: "The webhook's signature does not verify."}
	}
	if err := s.orders.ReceiveEvent(r.Context(), ev); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "received"})
}

// replayedHeader marks an answer given again to a retried Idempotency-Key.
func replayedHeader(w http.ResponseWriter, replayed bool) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
}

func (s *Server) apiOrders(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	info := infoOf(r)
	f := shop.OrderFilter{Status: shop.OrderStatus(r.URL.Query().Get("status")), Cursor: cursor, Limit: limit}
	switch r.URL.Query().Get("to_pack") {
	case "", "false":
	case "true":
		f.ToPack = true
	default:
		return shop.Invalid(shop.FieldError{Field: "to_pack", Message: "must be true or false"})
	}
	page, err := s.orders.List(r.Context(), info.principal, info.store.ID, f)
	if err != nil {
		return err
	}
	items := make([]orderView, len(page.Orders))
	for i, o := range page.Orders {
		items[i] = viewOrder(o)
	}
	return writeJSON(w, http.StatusOK, newList(items, page.NextCursor))
}

func (s *Server) apiOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, err := s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOrder(o))
}

func (s *Server) apiCancelOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, replayed, err := s.orders.Cancel(r.Context(), info.principal, info.store.ID, r.PathValue("id"), s.idempotency(r, nil))
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	return writeJSON(w, http.StatusOK, viewOrder(o))
}

func (s *Server) apiOrderStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status         shop.OrderStatus `json:"status"`
		Note           string           `json:"note"`
		Carrier        *string          `json:"carrier"`
		TrackingNumber *string          `json:"tracking_number"`
	}
	raw, err := decodeRaw(r, &in)
	if err != nil {
		return err
	}
	info := infoOf(r)
	var ship *orders.Shipment
	if in.Carrier != nil || in.TrackingNumber != nil {
		ship = &orders.Shipment{}
		if in.Carrier != nil {
			ship.Carrier = *in.Carrier
		}
		if in.TrackingNumber != nil {
			ship.TrackingNumber = *in.TrackingNumber
		}
	}
	o, replayed, err := s.orders.Advance(r.Context(), info.principal, info.store.ID, r.PathValue("id"), in.Status, in.Note, ship, s.idempotency(r, raw))
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	return writeJSON(w, http.StatusOK, viewOrder(o))
}
