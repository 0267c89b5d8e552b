package web

import (
	"net/http"

	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

type guestItem struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// guestBody is a guest's checkout through the API: the cart comes with it.
type guestBody struct {
	Email            string        `json:"email"`
	Items            []guestItem   `json:"items"`
	ExpectedTotal    *shop.Money   `json:"expected_total"`
	ShippingAddress  *shop.Address `json:"shipping_address"`
	BillingAddress   *shop.Address `json:"billing_address"`
	ShippingMethodID string        `json:"shipping_method_id"`
}

func (b guestBody) items() (map[string]int, error) {
	m := map[string]int{}
	for _, it := range b.Items {
		if _, twice := m[it.ProductID]; twice {
			return nil, shop.Invalid(shop.FieldError{Field: "items", Message: "names " + it.ProductID + " twice"})
		}
		m[it.ProductID] = it.Quantity
	}
	if len(m) == 0 {
		return nil, shop.Invalid(shop.FieldError{Field: "items", Message: "is required: what do you buy?"})
	}
	return m, nil
}

func (b guestBody) destination() orders.Destination {
	return orders.Destination{ShippingAddress: b.ShippingAddress, BillingAddress: b.BillingAddress, ShippingMethodID: b.ShippingMethodID}
}

type guestOrderView struct {
	Token string    `json:"token"`
	Order orderView `json:"order"`
}

// apiGuestQuote prices a guest's cart sent to an address, as apiQuote does a customer's.
func (s *Server) apiGuestQuote(w http.ResponseWriter, r *http.Request) error {
	var in guestBody
	if err := decode(r, &in); err != nil {
		return err
	}
	items, err := in.items()
	if err != nil {
		return err
	}
	info := infoOf(r)
	q, err := s.orders.ItemsQuote(r.Context(), *info.store, items, in.destination())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewQuote(q, info.store.Currency))
}

// apiGuestCheckout places a guest's order (no account: an e-mail address and the cart in the
// body) and answers with it and the token of its link, the one way to follow it.
func (s *Server) apiGuestCheckout(w http.ResponseWriter, r *http.Request) error {
	var in guestBody
	raw, err := decodeRaw(r, &in)
	if err != nil {
		return err
	}
	items, err := in.items()
	if err != nil {
		return err
	}
	info := infoOf(r)
	o, token, replayed, err := s.orders.GuestCheckout(r.Context(), *info.store, "", orders.GuestCheckoutRequest{Email: in.Email, Items: items,
		CheckoutRequest: orders.CheckoutRequest{ExpectedTotal: in.ExpectedTotal, Destination: in.destination(), Idempotency: s.idempotency(r, raw)}})
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	w.Header().Set("Location", "/api/v1/stores/"+info.store.Slug+"/guest-orders/"+token)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, guestOrderView{Token: token, Order: viewOrder(o)})
}

// apiGuestCancel cancels the order a guest's token names, as a customer cancels their own.
func (s *Server) apiGuestCancel(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, replayed, err := s.orders.GuestCancel(r.Context(), *info.store, r.PathValue("token"), s.idempotency(r, nil))
	if err != nil {
		return err
	}
	replayedHeader(w, replayed)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, viewOrder(o))
}

// apiGuestOrder answers with the order a guest's token names.
func (s *Server) apiGuestOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, err := s.orders.GuestOrder(r.Context(), *info.store, r.PathValue("token"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, viewOrder(o))
}
