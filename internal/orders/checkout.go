package orders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/mail"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// CheckoutRequest is a checkout: the card, the total the customer was shown (optional; the cart's
// accepted prices are checked either way), and the request's Idempotency-Key, which is required.
type CheckoutRequest struct {
	Card          payment.Card
	ExpectedTotal *shop.Money
	Idempotency   shop.Idempotency
}

// Checkout errors a client can act on.
var (
	ErrCartEmpty  = shop.Errorf(shop.KindConflict, "Your cart is empty.")
	ErrUnverified = &shop.Error{Kind: shop.KindForbidden, Code: shop.CodeEmailUnverified, Message: "Verify your e-mail address before you check out."}
	// ErrKeyInUse: a request with the same key is still being worked on.
	ErrKeyInUse = &shop.Error{Kind: shop.KindConflict, Code: shop.CodeKeyInUse, RetryAfter: time.Second,
		Message: "A request with this Idempotency-Key is still being processed; retry it in a moment."}
	// ErrPaymentPending: the gateway did not answer; the order and its stock are kept for a retry.
	ErrPaymentPending = &shop.Error{Kind: shop.KindUnavailable, Code: shop.CodePaymentPending, RetryAfter: 5 * time.Second,
		Message: "The payment could not be confirmed yet. Your order is kept: retry with the same Idempotency-Key to finish it."}
	errKeyInFlight = errors.New("idempotency key taken by a concurrent checkout")
)

// How long a retry waits for the first request with its key to finish, and after how long a
// payment still pending is taken to be one whose request died (the request timeout is 30 s): a
// retry then finishes it, asking the gateway again under the same idempotency key.
const (
	keyWait     = 5 * time.Second
	resumeAfter = 40 * time.Second
)

// Checkout turns the customer's cart into a paid order, in two write transactions and a gateway
// call between them. The first re-prices every line from the catalogue (refusing a price the
// customer did not accept), takes the stock with a conditional update — it can never go below
// zero —, writes the order pending payment with its price snapshots and records the charge as
// pending. After its commit the gateway is asked, with the charge's id as idempotency key. The
// second applies the answer: paid (and the cart emptied), or — declined — cancelled with its stock
// back and the cart as it was. A retry with the same Idempotency-Key and body is answered with the
// first request's order (replayed = true); with another body it is refused.
func (s *Service) Checkout(ctx context.Context, actor shop.Principal, st shop.Store, req CheckoutRequest) (o shop.Order, replayed bool, err error) {
	if err := access.CheckStore(actor, st.ID, access.CartUse, "Store"); err != nil {
		return shop.Order{}, false, err
	}
	card := req.Card.Normalize()
	if err := card.Validate(s.now()); err != nil {
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
		r, err = s.reserve(ctx, actor, st, card, req)
		if !errors.Is(err, errKeyInFlight) || attempt > 0 {
			break
		}
		// The same key committed an order a moment ago in another request: answer with that order.
	}
	if err != nil {
		return shop.Order{}, false, err
	}
	if r.replay != "" {
		return s.replayCheckout(ctx, actor, st, card, r.replay)
	}
	if o, err = s.pay(ctx, actor, st, r.order, card); err != nil {
		return o, false, err
	}
	s.confirm(ctx, actor, st, o)
	return o, false, nil
}

// reservation is what checkout's first transaction made: an order pending payment, or the order
// an earlier request with the same key made.
type reservation struct {
	order  shop.Order
	replay string
}

func (s *Service) reserve(ctx context.Context, actor shop.Principal, st shop.Store, card payment.Card, req CheckoutRequest) (reservation, error) {
	var r reservation
	var refused error // a refusal that still commits: the cart's prices, brought up to date
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		start, err := tx.CheckoutCart(ctx, st.ID, actor.UserID, req.Idempotency)
		if r.replay = start.Replay; err != nil || r.replay != "" {
			return err
		}
		lines := start.Lines
		if !start.Verified {
			return ErrUnverified
		}
		if len(lines) == 0 {
			return ErrCartEmpty
		}
		o := shop.Order{ID: shop.NewID(), CustomerID: actor.UserID, Status: shop.OrderPendingPayment, Currency: st.Currency,
			CardBrand: card.Brand(), CardLast4: card.Last4()}
		for _, l := range lines {
			if !l.Status.ForSale() {
				return shop.Errorf(shop.KindConflict, "%s is no longer for sale; remove it from your cart.", l.Name)
			}
			if l.Stock < l.Quantity {
				return outOfStock(l.Name) // before anything is charged
			}
			// Prices come from the catalogue, never from the client.
			line := shop.OrderLine{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, UnitPrice: l.PriceAmount,
				Quantity: l.Quantity, LineTotal: l.Total()}
			o.Lines = append(o.Lines, line)
			o.TotalAmount += line.LineTotal
		}
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
		}
		if err := tx.InsertOrder(ctx, st.ID, &o, actor, moves...); err != nil {
			return err
		}
		if o.TotalAmount == 0 {
			if err := tx.ClearCart(ctx, st.ID, actor.UserID); err != nil {
				return err
			}
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
		r.order = o
		return tx.SaveKey(ctx, st.ID, actor.UserID, req.Idempotency, o.ID)
	})
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

// pay asks the gateway for the reserved order's charge and applies the answer. The order's id is
// the charge's idempotency key: asked again (a retry finishing a payment left pending), the gateway
// charges once.
func (s *Service) pay(ctx context.Context, actor shop.Principal, st shop.Store, o shop.Order, card payment.Card) (shop.Order, error) {
	if o.Status != shop.OrderPendingPayment {
		return o, nil // nothing to pay
	}
	ref, err := s.gateway.Charge(ctx, payment.Charge{Amount: o.TotalAmount, Currency: o.Currency, Card: card, OrderID: o.ID, IdempotencyKey: o.ID})
	declined := errors.Is(err, payment.ErrDeclined)
	if err != nil && !declined {
		s.log.ErrorContext(ctx, "charge failed; the order waits for a retry with its key", "order_id", o.ID, "err", err)
		return o, &shop.Error{Kind: ErrPaymentPending.Kind, Code: ErrPaymentPending.Code, Message: ErrPaymentPending.Message,
			RetryAfter: ErrPaymentPending.RetryAfter, Err: err}
	}
	refund, err := s.settleCharge(ctx, actor, st.ID, &o, ref, declined)
	if errors.Is(err, sqlstore.ErrSettled) { // another request finished this payment first
		read, rerr := s.read(ctx, st.ID, o.ID)
		if rerr != nil {
			return o, rerr
		}
		return read, chargeOutcome(read)
	}
	if err != nil {
		return o, err
	}
	if refund != nil { // the order was cancelled while it was being paid for: the money goes back
		if err := s.refund(ctx, actor, st.ID, ref, *refund); err != nil {
			s.log.ErrorContext(ctx, "refund of an order cancelled while paid failed; it is recorded as failed", "order_id", o.ID, "err", err)
		}
		return s.read(ctx, st.ID, o.ID)
	}
	if declined {
		return o, payment.ErrDeclined
	}
	return o, nil
}

// settleCharge records the gateway's answer to o's charge in the payments ledger, once, and moves
// the order: paid (the cart emptied), or cancelled with its stock back when the card was declined.
// The order's conditional move out of pending_payment is what makes it once: a request that finds
// the order moved meanwhile gets ErrSettled — unless the order was cancelled while it was being
// paid for, when a successful charge is recorded with its refund, pending, returned for the caller
// to ask of the gateway. o is updated as the database now has it.
func (s *Service) settleCharge(ctx context.Context, actor shop.Principal, store shop.StoreID, o *shop.Order, ref string, declined bool) (*shop.Payment, error) {
	var refund *shop.Payment
	charge := shop.Payment{OrderID: o.ID, Kind: shop.PaymentCharge, State: shop.PaymentSucceeded, Amount: o.TotalAmount,
		Currency: o.Currency, Provider: s.gateway.Name(), ProviderRef: ref, ActorID: string(actor.UserID)}
	to, note := shop.OrderPaid, "payment "+ref
	if declined {
		charge.State, charge.Failure, to, note = shop.PaymentFailed, "declined", shop.OrderCancelled, "payment declined"
	}
	next := *o
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		next = *o
		next.History = slices.Clone(o.History)
		c := charge
		now := tx.Now()
		c.SettledAt = &now
		err := tx.MoveOrder(ctx, store, &next, to, actor, note)
		if errors.Is(err, sqlstore.ErrStatusChanged) {
			cur, err := tx.OrderForUpdate(ctx, store, o.ID)
			if err != nil {
				return err
			}
			if _, ok := cur.Charge(); ok || cur.Status != shop.OrderCancelled {
				return sqlstore.ErrSettled
			}
			if err := tx.InsertPayment(ctx, store, &c); err != nil || declined { // declined: its stock went back with the cancellation
				return err
			}
			refund = &shop.Payment{OrderID: o.ID, Kind: shop.PaymentRefund, Amount: c.Amount, Currency: c.Currency,
				Provider: s.gateway.Name(), Reason: "order cancelled while it was being paid for", ActorID: string(actor.UserID)}
			return tx.InsertPayment(ctx, store, refund)
		}
		if err != nil {
			return err
		}
		if err := tx.InsertPayment(ctx, store, &c); err != nil {
			return err
		}
		next.Payments = []shop.Payment{c}
		if declined {
			for _, l := range o.Lines {
				if err := tx.ReturnLine(ctx, store, o.ID, l, l.Quantity, "payment declined", string(actor.UserID)); err != nil {
					return err
				}
			}
			return nil
		}
		next.PaidAmount = c.Amount
		return tx.ClearCart(ctx, store, actor.UserID)
	})
	if err == nil {
		*o = next
	}
	return refund, err
}

// chargeOutcome is the answer a finished checkout gives: nil for a paid order, ErrDeclined for one
// whose card was declined.
func chargeOutcome(o shop.Order) error {
	if c, ok := o.Charge(); ok && c.State == shop.PaymentFailed && c.Failure == "declined" && o.Status == shop.OrderCancelled {
		return payment.ErrDeclined
	}
	return nil
}

// replayCheckout answers a retry of a checkout with the order its key made. While the first
// request is still paying, the retry waits a moment for it; a payment left pending by a request
// that died is finished here, under the order's own idempotency key, so it is charged once.
func (s *Service) replayCheckout(ctx context.Context, actor shop.Principal, st shop.Store, card payment.Card, orderID string) (shop.Order, bool, error) {
	deadline := s.now().Add(keyWait)
	for {
		o, err := s.read(ctx, st.ID, orderID)
		if err != nil {
			return o, true, err
		}
		if o.Status != shop.OrderPendingPayment {
			return o, true, chargeOutcome(o)
		}
		if s.now().Sub(o.CreatedAt) > resumeAfter {
			o, err = s.pay(ctx, actor, st, o, card)
			return o, true, err
		}
		if s.now().After(deadline) {
			return o, true, ErrKeyInUse
		}
		select {
		case <-ctx.Done():
			return o, true, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
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

// confirm mails the customer their order. A mail failure does not undo the order.
func (s *Service) confirm(ctx context.Context, actor shop.Principal, st shop.Store, o shop.Order) {
	if s.mailer == nil || actor.Email == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Thank you for your order at %s.\n\nOrder %s\n\n", st.Name, o.ID)
	for _, l := range o.Lines {
		fmt.Fprintf(&b, "  %d × %s  %s\n", l.Quantity, l.Name, shop.M(l.LineTotal, o.Currency))
	}
	fmt.Fprintf(&b, "\nTotal: %s, paid by %s ending %s.\n", shop.M(o.TotalAmount, o.Currency), o.CardBrand, o.CardLast4)
	err := s.mailer.Send(context.WithoutCancel(ctx), mail.Message{To: actor.Email, Subject: st.Name + ": order confirmation", Body: b.String()})
	if err != nil {
		s.log.ErrorContext(ctx, "order confirmation mail failed", "order_id", o.ID, "err", err)
	}
}
