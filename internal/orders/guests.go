package orders

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// GuestLinkLifetime is how long a guest's link to their order works: long enough to follow a
// parcel and to ask for a refund.
const GuestLinkLifetime = 90 * 24 * time.Hour

// guestPassword is a guest's password hash: not a hash at all, so that no password matches it.
const guestPassword = "!guest"

// ErrNoGuests: the store asks visitors to sign in (or register) to check out.
var ErrNoGuests = shop.Errorf(shop.KindForbidden, "This shop asks you to sign in or register to check out.")

// GuestCheckoutRequest is a visitor's checkout without an account: where the order's mail and
// its link go, with everything a checkout takes.
type GuestCheckoutRequest struct {
	Email string
	// Items is the cart of a guest who checks out through the API (product id → quantity); a
	// visitor of the pages checks out their cookie's cart instead.
	Items map[string]int
	CheckoutRequest
}

// GuestCheckout turns a visitor's cart (the cookie's token) into an order, as Checkout does for a
// customer, when the store takes guests. The guest is a customer row of the store's own, found
// again by a keyed hash of the visitor's token (so a retry with the same Idempotency-Key is the
// same order), that nobody signs in as. The order keeps the guest's e-mail address; its mails go
// there with a link whose token (returned, for the page to send the guest to) only the shop can
// make; registering with that address and confirming it makes the orders the account's.
func (s *Service) GuestCheckout(ctx context.Context, st shop.Store, visitorToken string, req GuestCheckoutRequest) (shop.Order, string, bool, error) {
	if len(s.guestKey) < 16 {
		return shop.Order{}, "", false, errors.New("orders: no key to make guests' links with")
	}
	email, ferr := shop.ValidateEmail("email", req.Email)
	if ferr != nil {
		return shop.Order{}, "", false, shop.Invalid(*ferr)
	}
	if err := req.Idempotency.Check(true); err != nil {
		return shop.Order{}, "", false, err
	}
	// A visitor is known again by their cookie; an API client's checkout by its address and its
	// Idempotency-Key, so that a retry is the same order and two checkouts with one address (two
	// people, or someone else who knows it) never share a cart.
	key, items := "api:"+email+"\x00"+req.Idempotency.Key, req.Items
	if visitorToken != "" {
		key = "visitor:" + visitorToken
		var err error
		if items, err = s.visitorItems(ctx, visitorToken); err != nil {
			return shop.Order{}, "", false, err
		}
	} else if len(items) > shop.MaxCartLines {
		return shop.Order{}, "", false, shop.Invalid(shop.FieldError{Field: "items", Message: fmt.Sprintf("at most %d products", shop.MaxCartLines)})
	}
	for id, q := range items {
		if !shop.ValidID(id) || q < 1 || q > MaxQuantity {
			return shop.Order{}, "", false, shop.Invalid(shop.FieldError{Field: "items", Message: fmt.Sprintf("each a product id and a quantity from 1 to %d", MaxQuantity)})
		}
	}
	name := ""
	if a := req.ShippingAddress; a != nil {
		name = a.Normal().Name
	}
	if !shop.ValidText(name, 100, false) {
		name = ""
	}
	var guest shop.UserID
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		on, err := tx.GuestCheckoutOn(ctx, st.ID)
		if err != nil || !on {
			return cmpErr(err, ErrNoGuests)
		}
		if guest, err = tx.GuestUser(ctx, st.ID, s.mac(key), name, guestPassword); err != nil {
			return err
		}
		if len(items) == 0 {
			return nil // a retry after the order was made: its key answers with it
		}
		// The guest's cart is the visitor's, as it is now, at today's prices.
		if err := tx.ClearCart(ctx, st.ID, guest); err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(items)) {
			p, err := tx.ProductByID(ctx, st.ID, id)
			if shop.KindOf(err) == shop.KindNotFound || (err == nil && (!p.Status.ForSale() || items[id] < 1)) {
				if visitorToken == "" { // what an API client asked for by name must exist
					return shop.Invalid(shop.FieldError{Field: "items." + id, Message: "is no product for sale here"})
				}
				continue
			}
			if err != nil {
				return err
			}
			if err := tx.SetCartItem(ctx, st.ID, guest, id, min(items[id], MaxQuantity), p.PriceAmount); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return shop.Order{}, "", false, err
	}
	actor := shop.Principal{UserID: guest, StoreID: st.ID, Role: shop.RoleCustomer, Email: email}
	req.guestEmail = email
	o, replayed, err := s.Checkout(ctx, actor, st, req.CheckoutRequest)
	if o.ID == "" {
		return o, "", replayed, err
	}
	if visitorToken != "" {
		_ = s.visitors.DropVisitorCart(context.WithoutCancel(ctx), visitorID(visitorToken)) // the order holds it now
	}
	token, terr := s.guestToken(ctx, st.ID, o.ID)
	if err == nil {
		err = terr
	}
	return o, token, replayed, err
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// GuestOrder is the order a guest's link names, while the link lasts; any other token — another
// guest's, an expired one, an order's number — finds nothing.
func (s *Service) GuestOrder(ctx context.Context, st shop.Store, token string) (shop.Order, error) {
	if !validToken(token) {
		return shop.Order{}, shop.NotFound("Order")
	}
	var o shop.Order
	err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		l, err := tx.OrderLinkByHash(ctx, st.ID, hashToken(token))
		if err != nil {
			return err
		}
		o, err = tx.OrderByID(ctx, st.ID, l.OrderID)
		return err
	})
	return o, err
}

// GuestPay answers with the provider's page a guest's order pending payment is paid on, as Pay
// does for a customer.
func (s *Service) GuestPay(ctx context.Context, st shop.Store, token string) (shop.Order, error) {
	o, err := s.GuestOrder(ctx, st, token)
	if err != nil {
		return o, err
	}
	switch {
	case o.Status != shop.OrderPendingPayment:
		return o, shop.Errorf(shop.KindConflict, "An order that is %s cannot be paid.", o.Status.Label())
	case !o.AwaitsPayment(s.now()):
		return o, shop.Errorf(shop.KindConflict, "The time to pay this order has run out; its items went back on the shelf.")
	}
	return s.openSession(ctx, guestActor(st, o), st, o, s.baseURL+GuestPath(st, token))
}

// GuestCancel cancels the order a guest's link names, as Cancel does a customer's own: before it
// ships, its stock back on the shelf and what was paid refunded. Any other token finds nothing;
// refused, it returns the order as it is.
func (s *Service) GuestCancel(ctx context.Context, st shop.Store, token string, idem shop.Idempotency) (shop.Order, bool, error) {
	o, err := s.GuestOrder(ctx, st, token)
	if err != nil {
		return o, false, err
	}
	got, replayed, err := s.Cancel(ctx, guestActor(st, o), st.ID, o.ID, idem)
	if err != nil && got.ID == "" {
		got = o // refused: the order as it is, for the page that says why
	}
	return got, replayed, err
}

// guestActor is who acts on a guest's order through its link: the guest, as the order's customer.
func guestActor(st shop.Store, o shop.Order) shop.Principal {
	return shop.Principal{UserID: o.CustomerID, StoreID: st.ID, Role: shop.RoleCustomer, Email: o.Email}
}

// GuestPath is the path of a guest's order page.
func GuestPath(st shop.Store, token string) string { return "/s/" + st.Slug + "/guest/orders/" + token }

// linkOrder gives a guest's new order its link, in the checkout's transaction.
func (s *Service) linkOrder(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID, orderID string) error {
	l := sqlstore.OrderLink{ID: shop.NewID(), OrderID: orderID, ExpiresAt: tx.Now().Add(GuestLinkLifetime)}
	return tx.CreateOrderLink(ctx, store, l, hashToken(s.linkToken(l.ID)))
}

// guestToken is the token of a guest order's newest link that still works.
func (s *Service) guestToken(ctx context.Context, store shop.StoreID, orderID string) (string, error) {
	var l sqlstore.OrderLink
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { l, err = tx.LatestOrderLink(ctx, store, orderID); return })
	if err != nil {
		return "", err
	}
	return s.linkToken(l.ID), nil
}

// guestPage is the address of a guest order's page, its token in it.
func (s *Service) guestPage(ctx context.Context, st shop.Store, orderID string) (string, error) {
	token, err := s.guestToken(ctx, st.ID, orderID)
	if err != nil {
		return "", err
	}
	return s.baseURL + GuestPath(st, token), nil
}

// linkToken is the token of the link with id: 160 bits of a keyed hash, which only the shop's
// key makes — the database keeps the link's id and the token's hash, never the token.
func (s *Service) linkToken(id string) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(s.macBytes("order-link:" + id)[:20]))
}

func (s *Service) macBytes(v string) []byte {
	m := hmac.New(sha256.New, s.guestKey)
	m.Write([]byte(v))
	return m.Sum(nil)
}

func (s *Service) mac(v string) string { return hex.EncodeToString(s.macBytes(v)) }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validToken reports whether token has the shape of a link's token: 32 base32 letters.
func validToken(token string) bool {
	if len(token) != 32 {
		return false
	}
	for _, r := range token {
		if (r < 'a' || r > 'z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

// GuestRefresh is GuestOrder that, for an order still pending payment, first asks the provider
// where its payment stands (the guest is back from paying).
func (s *Service) GuestRefresh(ctx context.Context, st shop.Store, token string) (shop.Order, error) {
	o, err := s.GuestOrder(ctx, st, token)
	if err != nil || o.Status != shop.OrderPendingPayment {
		return o, err
	}
	if err := s.sync(ctx, o); err != nil {
		s.log.WarnContext(ctx, "payment state not read from the provider", "order_id", o.ID, "err", err)
		return o, nil
	}
	return s.read(ctx, st.ID, o.ID)
}

// VisitorQuote prices a visitor's cart sent to d, as Quote does a customer's.
func (s *Service) VisitorQuote(ctx context.Context, st shop.Store, visitorToken string, d Destination) (Quote, error) {
	items, err := s.visitorItems(ctx, visitorToken)
	if err != nil {
		return Quote{}, err
	}
	return s.ItemsQuote(ctx, st, items, d)
}

// ItemsQuote prices products (id → quantity) sent to d: a guest's cart through the API. Products
// not for sale are left out.
func (s *Service) ItemsQuote(ctx context.Context, st shop.Store, items map[string]int, d Destination) (Quote, error) {
	if len(items) > shop.MaxCartLines {
		return Quote{}, shop.Invalid(shop.FieldError{Field: "items", Message: fmt.Sprintf("at most %d products", shop.MaxCartLines)})
	}
	var lines []shop.CartLine
	var sh shop.Shipping
	err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		for _, id := range slices.Sorted(maps.Keys(items)) {
			if !shop.ValidID(id) || items[id] < 1 {
				continue
			}
			p, err := tx.ProductByID(ctx, st.ID, id)
			if shop.KindOf(err) == shop.KindNotFound || (err == nil && !p.Status.ForSale()) {
				continue
			}
			if err != nil {
				return err
			}
			lines = append(lines, shop.CartLine{ProductID: p.ID, Quantity: min(items[id], MaxQuantity), SKU: p.SKU, Name: p.Name,
				PriceAmount: p.PriceAmount, Stock: p.Stock, Status: p.Status, WeightGrams: p.WeightGrams, TaxClass: p.TaxClass})
		}
		var err error
		sh, err = tx.StoreShipping(ctx, st.ID)
		return err
	})
	if err != nil {
		return Quote{}, err
	}
	if len(lines) == 0 {
		return Quote{}, ErrCartEmpty
	}
	return price(sh, lines, d, false)
}

// GuestsWelcome reports whether st lets visitors check out without an account.
func (s *Service) GuestsWelcome(ctx context.Context, st shop.Store) (bool, error) {
	var on bool
	err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) { on, err = tx.GuestCheckoutOn(ctx, st.ID); return })
	return on, err
}
