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

// CheckoutRequest is a checkout: the card, and the client's Idempotency-Key with the request body
// it came with (kept only as a keyed hash, to tell a retry from a different request).
type CheckoutRequest struct {
	Card           payment.Card
	IdempotencyKey string
	RequestBody    []byte
}

// Checkout errors a client can act on.
var (
	ErrCartEmpty   = shop.Errorf(shop.KindConflict, "Your cart is empty.")
	ErrKeyReused   = &shop.Error{Kind: shop.KindInvalid, Code: "idempotency-key-reused", Message: "This Idempotency-Key was already used with a different request."}
	ErrUnverified  = &shop.Error{Kind: shop.KindForbidden, Code: "email-unverified", Message: "Verify your e-mail address before you check out."}
	errKeyInFlight = errors.New("idempotency key taken by a concurrent checkout")
)

const keyLifetime = 24 * time.Hour

// Checkout turns the customer's cart into a paid order in one transaction: it re-prices every
// line from the catalogue, writes the order with its price snapshots, charges the card and takes
// the stock, which can never go below zero. A declined card or missing stock leaves nothing behind —
// no order, no stock taken, the cart as it was (stock that another buyer took while the card was
// being charged refunds the charge). A retried request with the same Idempotency-Key
// returns the first order (replayed = true) instead of making a second.
func (s *Service) Checkout(ctx context.Context, actor shop.Principal, st shop.Store, req CheckoutRequest) (o sqlstore.Order, replayed bool, err error) {
	if err := access.CheckStore(actor, st.ID, access.CartUse, "Store"); err != nil {
		return sqlstore.Order{}, false, err
	}
	card := req.Card.Normalize()
	if err := card.Validate(s.now()); err != nil {
		return sqlstore.Order{}, false, err
	}
	if len(req.IdempotencyKey) > 200 {
		return sqlstore.Order{}, false, shop.Invalid(shop.FieldError{Field: "Idempotency-Key", Message: "must be at most 200 characters"})
	}
	hash := ""
	if req.IdempotencyKey != "" {
		hash = s.keyHash(string(req.RequestBody))
	}
	for attempt := 0; ; attempt++ {
		o, replayed, err = s.checkout(ctx, actor, st, card, req.IdempotencyKey, hash)
		if !errors.Is(err, errKeyInFlight) || attempt > 0 {
			break
		}
		// The same key committed an order a moment ago in another request: answer with that order.
	}
	if err != nil || replayed {
		return o, replayed, err
	}
	s.confirm(ctx, actor, st, o)
	return o, false, nil
}

func (s *Service) checkout(ctx context.Context, actor shop.Principal, st shop.Store, card payment.Card, key, hash string) (sqlstore.Order, bool, error) {
	var o sqlstore.Order
	replayed := false
	charged := ""
	err := s.db.Update(ctx, st.ID, func(tx *sqlstore.Tx) error {
		orderID := shop.NewID()
		if key != "" {
			prevHash, prevOrder, err := tx.CheckoutKey(ctx, st.ID, actor.UserID, key, tx.Now().Add(-keyLifetime))
			switch {
			case err == nil && prevHash != hash:
				return ErrKeyReused
			case err == nil:
				replayed = true
				o, err = tx.OrderByID(ctx, st.ID, prevOrder)
				return err
			case !errors.Is(err, shop.ErrNoRows):
				return err
			}
			// Claim the key first: a concurrent request with the same key waits here, then fails,
			// and is answered with this order — so the card is never charged twice.
			if err := tx.SaveCheckoutKey(ctx, st.ID, actor.UserID, key, hash, orderID); err != nil {
				if errors.Is(err, shop.ErrDuplicate) {
					return errKeyInFlight
				}
				return err
			}
		}
		verified, lines, err := tx.CheckoutCart(ctx, st.ID, actor.UserID)
		if err != nil {
			return err
		}
		if !verified {
			return ErrUnverified
		}
		if len(lines) == 0 {
			return ErrCartEmpty
		}
		o = sqlstore.Order{ID: orderID, CustomerID: actor.UserID, Status: PendingPayment, Currency: st.Currency}
		for _, l := range lines {
			if l.Status != "active" {
				return shop.Errorf(shop.KindConflict, "%s is no longer for sale; remove it from your cart.", l.Name)
			}
			if l.Stock < l.Quantity {
				return outOfStock(l.Name) // before the card is charged
			}
			// Prices come from the catalogue, never from the client.
			line := sqlstore.OrderLine{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, UnitPrice: l.PriceAmount,
				Quantity: l.Quantity, LineTotal: l.PriceAmount * int64(l.Quantity)}
			o.Lines = append(o.Lines, line)
			o.TotalAmount += line.LineTotal
		}
		// Everything that does not need the stock goes first: the stock rows are what concurrent
		// checkouts of the same product wait for (on PostgreSQL), so they are taken last — there
		// the writes below go to the database together with the COMMIT, and the rows are locked
		// for no round trip at all. Should another buyer have taken the last units meanwhile, the
		// charge is refunded below.
		if err := tx.ClearCart(ctx, st.ID, actor.UserID); err != nil {
			return err
		}
		ref, err := s.gateway.Charge(ctx, payment.Charge{Amount: o.TotalAmount, Currency: st.Currency, Card: card, OrderID: o.ID})
		if err != nil {
			return err
		}
		charged = ref
		o.CardBrand, o.CardLast4, o.PaymentRef = card.Brand(), card.Last4(), ref
		// The order is written paid, its history showing both steps: created pending payment, then paid.
		if err := tx.InsertOrder(ctx, st.ID, &o, actor, sqlstore.OrderMove{To: Paid, Note: "payment " + ref}); err != nil {
			return err
		}
		// Stock is taken in product order, so two carts sharing products cannot deadlock.
		byProduct := slices.Clone(o.Lines)
		slices.SortFunc(byProduct, func(a, b sqlstore.OrderLine) int { return strings.Compare(a.ProductID, b.ProductID) })
		for _, l := range byProduct {
			if err := tx.TakeStock(ctx, st.ID, l.ProductID, l.Quantity, string(actor.UserID), orderID); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, sqlstore.ErrInsufficientStock) {
		err = s.outOfStock(ctx, st.ID, o.Lines)
	}
	if err != nil && charged != "" {
		// The payment went through but the order did not: give the money back.
		if rerr := s.gateway.Refund(context.WithoutCancel(ctx), charged, o.TotalAmount); rerr != nil {
			s.log.ErrorContext(ctx, "refund after failed checkout failed: reconcile by hand", "payment_ref", charged, "err", rerr)
		}
	}
	return o, replayed, err
}

// outOfStock names the first of lines that there is no longer enough of (another buyer took
// the last units while the card was being charged).
func (s *Service) outOfStock(ctx context.Context, store shop.StoreID, lines []sqlstore.OrderLine) error {
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
func (s *Service) confirm(ctx context.Context, actor shop.Principal, st shop.Store, o sqlstore.Order) {
	if s.mailer == nil || actor.Email == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Thank you for your order at %s.\n\nOrder %s\n\n", st.Name, o.ID)
	for _, l := range o.Lines {
		fmt.Fprintf(&b, "  %d × %s  %s\n", l.Quantity, l.Name, shop.Money{Amount: l.LineTotal, Currency: o.Currency})
	}
	fmt.Fprintf(&b, "\nTotal: %s, paid by %s ending %s.\n", shop.Money{Amount: o.TotalAmount, Currency: o.Currency}, o.CardBrand, o.CardLast4)
	err := s.mailer.Send(context.WithoutCancel(ctx), mail.Message{To: actor.Email, Subject: st.Name + ": order confirmation", Body: b.String()})
	if err != nil {
		s.log.ErrorContext(ctx, "order confirmation mail failed", "order_id", o.ID, "err", err)
	}
}
