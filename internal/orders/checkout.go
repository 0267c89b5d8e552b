package orders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// CheckoutRequest is a checkout: the total the customer was shown (optional; the cart's accepted
// prices are checked either way) and the request's Idempotency-Key, which is required.
type CheckoutRequest struct {
	ExpectedTotal *shop.Money
	Destination
	Idempotency shop.Idempotency
	guestEmail  string // a guest's checkout: where the order's mail goes
}

// Checkout errors a client can act on.
var (
	ErrCartEmpty  = shop.Errorf(shop.KindConflict, "Your cart is empty.")
	ErrUnverified = &shop.Error{Kind: shop.KindForbidden, Code: shop.CodeEmailUnverified, Message: "Verify your e-mail address before you check out."}
	// ErrPaymentPending: the provider did not open the payment page; the order and its stock are
	// kept for a retry with the same key (or the order page's Pay button).
	ErrPaymentPending = &shop.Error{Kind: shop.KindUnavailable, Code: shop.CodePaymentPending, RetryAfter: 5 * time.Second,
		Message: "The payment page could not be opened yet. Your order is kept: retry with the same Idempotency-Key, or pay it from its page."}
	errKeyInFlight = errors.New("idempotency key taken by a concurrent checkout")
)

// Checkout turns the customer's cart into an order pending payment and opens the provider's
// payment page for it. One write transaction re-prices every line from the catalogue (refusing a
// price the customer did not accept), takes the stock with a conditional update — it can never go
// below zero —, writes the order with its price snapshots and its reservation deadline (the
// store's setting), records the charge pending (the payment intent), empties the cart and keeps
// the Idempotency-Key. After its commit the provider is asked for a session, with the charge's id
// as idempotency key, and the page's address recorded: the customer is sent there
// (Order.Charge().RedirectURL). The provider's webhook, the return page or reconciliation marks the
// order paid; the expiry job cancels it at its deadline. A retry with the same key and body is
// answered with the first request's order (replayed = true), its page opened if the first request
// could not; with another body it is refused.
func (s *Service) Checkout(ctx context.Context, actor shop.Principal, st shop.Store, req CheckoutRequest) (o shop.Order, replayed bool, err error) {
	if err := access.CheckStore(actor, st.ID, access.CartUse, "Store"); err != nil {
		return shop.Order{}, false, err
	}
	if err := req.Idempotency.Check(true); err != nil {
		return shop.Order{}, false, err
	}
	if t := req.ExpectedTotal; t != nil && t.Currency != "" && t.Currency != st.Currency {
		return shop.Order{}, false, shop.Invalid(shop.FieldError{Field: "expected_total.currency", Message: "must be the store's currency, " + st.Currency})
	}
	var r reservation
	for attempt := 0; ; attempt++ {
		r, err = s.reserve(ctx, actor, st, req)
		if !errors.Is(err, errKeyInFlight) || attempt > 0 {
			break
		}
		// The same key committed an order a moment ago in another request: answer with that order.
	}
	if err != nil {
		return shop.Order{}, false, err
	}
	o = r.order
	if r.replay != "" {
		if o, err = s.read(ctx, st.ID, r.replay); err != nil {
			return o, true, err
		}
	}
	page := s.orderPage(st, o.ID)
	if req.guestEmail != "" { // the guest comes back to the order's link, the one page they can see it on
		if page, err = s.guestPage(ctx, st, o.ID); err != nil {
			return o, r.replay != "", err
		}
	}
	o, err = s.openSession(ctx, actor, st, o, page)
	return o, r.replay != "", err
}

// reservation is what checkout's transaction made: an order pending payment, or the order an
// earlier request with the same key made.
type reservation struct {
	order  shop.Order
	replay string
}

func (s *Service) reserve(ctx context.Context, actor shop.Principal, st shop.Store, req CheckoutRequest) (reservation, error) {
	var r reservation
	var refused error // a refusal that still commits: the cart's prices, brought up to date
	var number *int64 // the new order's number, known once the transaction commits (on PostgreSQL)
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		start, err := tx.CheckoutCart(ctx, st.ID, actor.UserID, req.Idempotency)
		if r.replay = start.Replay; err != nil || r.replay != "" {
			return err
		}
		lines := start.Lines
		switch {
		case start.Guest && req.guestEmail == "":
			return shop.NotFound("User") // a guest is no one to sign in as
		case !start.Verified && !start.Guest:
			return ErrUnverified
		}
		if len(lines) == 0 {
			return ErrCartEmpty
		}
		until := tx.Now().Add(time.Duration(start.ReservationMinutes) * time.Minute)
		o := shop.Order{ID: shop.NewID(), CustomerID: actor.UserID, Email: start.Email, Status: shop.OrderPendingPayment,
			Currency: st.Currency, ReservedUntil: &until}
		if start.Guest {
			o.Email = req.guestEmail
		}
		for _, l := range lines {
			if !l.Status.ForSale() {
				return shop.Errorf(shop.KindConflict, "%s is no longer for sale; remove it from your cart.", l.Name)
			}
			if l.Stock < l.Quantity {
				return outOfStock(l.Name) // before the customer is sent to pay
			}
			// Prices come from the catalogue, never from the client.
			o.Lines = append(o.Lines, shop.OrderLine{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, UnitPrice: l.PriceAmount,
				Quantity: l.Quantity, LineTotal: l.Total()})
		}
		// Shipping and tax from the store's set-up as it is now, for the address given.
		q, err := price(start.Shipping, lines, req.Destination, true)
		if err != nil {
			return err
		}
		q.fill(&o)
		if err := priceCheck(lines, o.TotalAmount, st.Currency, req.ExpectedTotal); err != nil {
			// The customer is told the new prices; their cart now holds them, so that paying again
			// is paying what they were shown.
			for _, l := range lines {
				if l.PriceChanged() {
					if err := tx.SetCartItem(ctx, st.ID, actor.UserID, l.ProductID, l.Quantity, l.PriceAmount); err != nil {
						return err
					}
				}
			}
			refused = err
			return nil
		}
		var moves []shop.OrderMove
		if o.TotalAmount == 0 { // nothing to charge: paid as it is placed
			moves = append(moves, shop.OrderMove{To: shop.OrderPaid, Note: "nothing to pay"})
			o.ReservedUntil = nil
		}
		if err := tx.InsertOrder(ctx, st.ID, &o, actor, moves...); err != nil {
			return err
		}
		number = &o.Number
		// The order holds the cart's lines now: paying it or letting it lapse, the cart is done.
		if err := tx.ClearCart(ctx, st.ID, actor.UserID); err != nil {
			return err
		}
		if o.TotalAmount > 0 { // the payment intent: the charge the provider's session will take
			c := shop.Payment{OrderID: o.ID, Kind: shop.PaymentCharge, Amount: o.TotalAmount, Currency: o.Currency,
				Provider: s.provider.Name(), ActorID: string(actor.UserID)}
			if err := tx.InsertPayment(ctx, st.ID, &c); err != nil {
				return err
			}
			o.Payments = []shop.Payment{c}
		}
		// Stock is taken in product order, so two carts sharing products cannot deadlock, and last:
		// the stock rows are what concurrent checkouts of the same product wait for (on PostgreSQL),
		// and there these writes go to the database together with the COMMIT.
		byProduct := slices.Clone(o.Lines)
		slices.SortFunc(byProduct, func(a, b shop.OrderLine) int { return strings.Compare(a.ProductID, b.ProductID) })
		for _, l := range byProduct {
			if err := tx.TakeStock(ctx, st.ID, l.ProductID, l.Quantity, string(actor.UserID), o.ID); err != nil {
				return err
			}
		}
		if start.Guest { // the guest's link to the order: only a hash of its token is kept
			if err := s.linkOrder(ctx, tx, st.ID, o.ID); err != nil {
				return err
			}
		}
		if o.TotalAmount == 0 {
			if err := invoice(ctx, tx, o, o.ID); err != nil {
				return err
			}
			if err := s.queueMail(ctx, tx, st.ID, o.ID, notice{kind: mailPaid}); err != nil {
				return err
			}
		}
		r.order = o
		return tx.SaveKey(ctx, st.ID, actor.UserID, req.Idempotency, o.ID)
	})
	if err == nil && refused == nil && r.replay == "" && r.order.Number == 0 && number != nil { // taken with the COMMIT (PostgreSQL)
		r.order.Number = *number
	}
	switch {
	case errors.Is(err, sqlstore.ErrInsufficientStock):
		err = s.outOfStock(ctx, st.ID, r.order.Lines)
	case errors.Is(err, shop.ErrDuplicate):
		err = errKeyInFlight
	case err == nil && refused != nil:
		err = refused
	}
	return r, err
}

// priceCheck refuses a checkout at prices the customer did not accept: a line whose price changed
// since it went into the cart, or — when the client says what total it showed — another total.
func priceCheck(lines []shop.CartLine, total int64, currency string, expected *shop.Money) error {
	var fields []shop.FieldError
	var names []string
	for _, l := range lines {
		if l.PriceChanged() {
			fields = append(fields, shop.FieldError{Field: "items." + l.ProductID + ".unit_price",
				Message: fmt.Sprintf("%s now costs %s (was %s)", l.Name, shop.M(l.PriceAmount, currency), shop.M(l.Accepted, currency))})
			names = append(names, fmt.Sprintf("%s now costs %s (was %s)", l.Name, shop.M(l.PriceAmount, currency), shop.M(l.Accepted, currency)))
		}
	}
	if expected != nil {
		if expected.Amount == total {
			return nil // the customer saw and accepted this total
		}
		fields = append(fields, shop.FieldError{Field: "expected_total", Message: "the total is now " + shop.M(total, currency).String()})
	} else if len(fields) == 0 {
		return nil
	}
	msg := "Prices changed since you filled your cart"
	if len(names) > 0 {
		msg += ": " + strings.Join(names, "; ")
	}
	msg += ". The new total is " + shop.M(total, currency).String() + "; check out again to pay it."
	return &shop.Error{Kind: shop.KindConflict, Code: shop.CodePriceChanged, Message: msg, Fields: fields}
}

// openSession opens the provider's payment page for an order pending payment whose charge has
// none yet, outside any transaction, and records it. Asked again (a retry, the Pay button), the
// provider answers with the same session: the charge's id is its idempotency key.
func (s *Service) openSession(ctx context.Context, actor shop.Principal, st shop.Store, o shop.Order, page string) (shop.Order, error) {
	c, ok := o.Charge()
	if o.Status != shop.OrderPendingPayment || !ok || c.State != shop.PaymentPending || c.RedirectURL != "" {
		return o, nil
	}
	req := payment.SessionRequest{StoreID: string(st.ID), OrderID: o.ID, Amount: c.Amount, Currency: c.Currency,
		Description: st.Name + " — order " + shortID(o.ID), CustomerEmail: actor.Email, IdempotencyKey: c.ID}
	req.SuccessURL, req.CancelURL = page+"?paid=1", page
	if o.ReservedUntil != nil && o.ReservedUntil.After(s.now()) {
		req.ExpiresAt = *o.ReservedUntil // the page closes when the stock goes back
	}
	ps, err := s.provider.CreateSession(ctx, req)
	if err != nil {
		s.log.ErrorContext(ctx, "payment session not opened; the order waits for a retry", "order_id", o.ID, "err", err)
		return o, &shop.Error{Kind: ErrPaymentPending.Kind, Code: ErrPaymentPending.Code, Message: ErrPaymentPending.Message,
			RetryAfter: ErrPaymentPending.RetryAfter, Err: err}
	}
	err = s.db.Update(context.WithoutCancel(ctx), st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.SetPaymentSession(ctx, st.ID, &c, ps.ID, ps.RedirectURL)
	})
	if err != nil {
		return o, err
	}
	for i := range o.Payments {
		if o.Payments[i].ID == c.ID {
			o.Payments[i] = c
		}
	}
	return o, nil
}

// Pay answers with the page a customer's own order pending payment is paid on, opening it if need
// be. Anyone else's order is not found.
func (s *Service) Pay(ctx context.Context, actor shop.Principal, st shop.Store, id string) (shop.Order, error) {
	if err := access.CheckStore(actor, st.ID, access.OrdersCancelOwn, "Order"); err != nil {
		return shop.Order{}, err
	}
	o, err := s.read(ctx, st.ID, id)
	if err != nil || o.CustomerID != actor.UserID {
		return shop.Order{}, shop.NotFound("Order")
	}
	switch {
	case o.Status != shop.OrderPendingPayment:
		return o, shop.Errorf(shop.KindConflict, "An order that is %s cannot be paid.", o.Status.Label())
	case !o.AwaitsPayment(s.now()):
		return o, shop.Errorf(shop.KindConflict, "The time to pay this order has run out; its items went back on the shelf.")
	}
	return s.openSession(ctx, actor, st, o, s.orderPage(st, o.ID))
}

// orderPage is the address of the order's page in the shop.
func (s *Service) orderPage(st shop.Store, orderID string) string {
	return s.baseURL + "/s/" + st.Slug + "/orders/" + orderID
}

// shortID is the part of an order id a customer reads.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// outOfStock names the first of lines that there is no longer enough of (another buyer took
// the last units meanwhile).
func (s *Service) outOfStock(ctx context.Context, store shop.StoreID, lines []shop.OrderLine) error {
	short := ""
	_ = s.db.View(ctx, store, func(tx *sqlstore.Tx) error {
		for _, l := range lines {
			if p, err := tx.ProductByID(ctx, store, l.ProductID); err == nil && p.Stock < l.Quantity {
				short = l.Name
				return nil
			}
		}
		return nil
	})
	if short == "" { // bought and restocked again meanwhile
		return shop.Errorf(shop.KindConflict, "Not enough stock for your order; try again.")
	}
	return outOfStock(short)
}

func outOfStock(name string) error {
	return shop.Errorf(shop.KindConflict, "Not enough %s in stock for your order; lower the quantity and try again.", name)
}
