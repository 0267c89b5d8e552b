package web

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

type cartLineView struct {
	ProductID string     `json:"product_id"`
	SKU       string     `json:"sku"`
	Name      string     `json:"name"`
	UnitPrice shop.Money `json:"unit_price"`
	Quantity  int        `json:"quantity"`
	LineTotal shop.Money `json:"line_total"`
	Available bool       `json:"available"`
}

type cartView struct {
	Items []cartLineView `json:"items"`
	Total shop.Money     `json:"total"`
}

func viewCart(c orders.Cart, currency string) cartView {
	v := cartView{Items: []cartLineView{}, Total: shop.Money{Amount: c.Total, Currency: currency}}
	for _, l := range c.Lines {
		v.Items = append(v.Items, cartLineView{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name,
			UnitPrice: shop.Money{Amount: l.UnitPrice, Currency: currency}, Quantity: l.Quantity,
			LineTotal: shop.Money{Amount: l.LineTotal, Currency: currency}, Available: l.Available})
	}
	return v
}

type orderLineView struct {
	ProductID string     `json:"product_id"`
	SKU       string     `json:"sku"`
	Name      string     `json:"name"`
	UnitPrice shop.Money `json:"unit_price"`
	Quantity  int        `json:"quantity"`
	LineTotal shop.Money `json:"line_total"`
}

type orderEventView struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	ActorRole string    `json:"actor_role"`
	Note      string    `json:"note"`
	At        time.Time `json:"at"`
}

type orderView struct {
	ID         string           `json:"id"`
	Status     string           `json:"status"`
	CustomerID shop.UserID      `json:"customer_id"`
	Items      []orderLineView  `json:"items"`
	Total      shop.Money       `json:"total"`
	Refunded   shop.Money       `json:"refunded"`
	Payment    paymentView      `json:"payment"`
	History    []orderEventView `json:"history"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

type paymentView struct {
	Brand     string `json:"brand"`
	Last4     string `json:"last4"`
	Reference string `json:"reference"`
}

func viewOrder(o sqlstore.Order) orderView {
	m := func(a int64) shop.Money { return shop.Money{Amount: a, Currency: o.Currency} }
	v := orderView{ID: o.ID, Status: o.Status, CustomerID: o.CustomerID, Items: []orderLineView{}, Total: m(o.TotalAmount),
		Refunded: m(o.RefundedAmount), Payment: paymentView{o.CardBrand, o.CardLast4, o.PaymentRef}, History: []orderEventView{},
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for _, l := range o.Lines {
		v.Items = append(v.Items, orderLineView{l.ProductID, l.SKU, l.Name, m(l.UnitPrice), l.Quantity, m(l.LineTotal)})
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
	Payment *struct {
		CardNumber string `json:"card_number"`
		ExpMonth   int    `json:"exp_month"`
		ExpYear    int    `json:"exp_year"`
		CVC        string `json:"cvc"`
	} `json:"payment"`
}

// apiCheckout pays for the cart. The raw body is kept (as a keyed hash in the service) so that a
// retry with the same Idempotency-Key can be told from a different request.
func (s *Server) apiCheckout(w http.ResponseWriter, r *http.Request) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var in checkoutBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Payment == nil {
		return shop.Invalid(shop.FieldError{Field: "payment", Message: "is required"})
	}
	info := infoOf(r)
	o, replayed, err := s.orders.Checkout(r.Context(), info.principal, *info.store, orders.CheckoutRequest{
		Card:           payment.Card{Number: in.Payment.CardNumber, ExpMonth: in.Payment.ExpMonth, ExpYear: in.Payment.ExpYear, CVC: in.Payment.CVC},
		IdempotencyKey: r.Header.Get("Idempotency-Key"), RequestBody: raw,
	})
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/api/v1/stores/"+info.store.Slug+"/orders/"+o.ID)
	return writeJSON(w, http.StatusCreated, viewOrder(o))
}

func (s *Server) apiOrders(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	info := infoOf(r)
	page, err := s.orders.List(r.Context(), info.principal, info.store.ID, sqlstore.OrderFilter{
		Status: r.URL.Query().Get("status"), Cursor: cursor, Limit: limit})
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
	o, err := s.orders.Cancel(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOrder(o))
}

func (s *Server) apiOrderStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status string `json:"status"`
		Note   string `json:"note"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	o, err := s.orders.SetStatus(r.Context(), info.principal, info.store.ID, r.PathValue("id"), in.Status, in.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOrder(o))
}
