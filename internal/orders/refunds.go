package orders

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Return names what comes back of one order line: its id and how many.
type Return struct {
	LineID   string
	Quantity int
}

// RefundRequest is a refund: how much (nil for everything paid and not yet refunded), why, which
// lines come back to the shelf and how many of each, and the request's Idempotency-Key.
type RefundRequest struct {
	Amount      *shop.Money
	Reason      string
	Restock     []Return
	Idempotency shop.Idempotency
}

// ErrRefundFailed is the answer when the gateway did not make a refund; the ledger says so.
var ErrRefundFailed = &shop.Error{Kind: shop.KindUnavailable, Code: shop.CodeRefundFailed,
	Message: "The payment provider did not make the refund; nothing was refunded. The order shows it as failed; try again."}

// Refund returns money on a paid order (admin): never more than was paid less what was refunded or
// is being refunded — under the order's lock, so that concurrent refunds cannot pass it together —
// and puts back on the shelf the units it names, never more of a line than was sold less what came
// back before. The refund is recorded pending with the returns in one transaction; the gateway is
// asked after its commit, with the refund's id as idempotency key, and its answer recorded in
// another. The order becomes refunded when everything paid is refunded, partially_refunded before.
func (s *Service) Refund(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, req RefundRequest) (shop.Order, bool, error) {
	if err := access.CheckStore(actor, store, access.OrdersRefund, "Order"); err != nil {
		return shop.Order{}, false, err
	}
	if err := req.Idempotency.Check(false); err != nil {
		return shop.Order{}, false, err
	}
	reason := strings.TrimSpace(req.Reason)
	var f []shop.FieldError
	if req.Amount != nil && req.Amount.Amount <= 0 {
		f = append(f, shop.FieldError{Field: "amount.amount", Message: "must be a positive amount in minor units"})
	}
	if reason == "" || !shop.ValidText(reason, 500, false) {
		f = append(f, shop.FieldError{Field: "reason", Message: "must say why, in 1 to 500 characters"})
	}
	seen := map[string]bool{}
	for i, r := range req.Restock {
		field := "restock[" + strconv.Itoa(i) + "]"
		switch {
		case !shop.ValidID(r.LineID):
			f = append(f, shop.FieldError{Field: field + ".line_id", Message: "is not a line of this order"})
		case seen[r.LineID]:
			f = append(f, shop.FieldError{Field: field + ".line_id", Message: "names a line twice"})
		case r.Quantity < 1:
			f = append(f, shop.FieldError{Field: field + ".quantity", Message: "must be at least 1"})
		}
		seen[r.LineID] = true
	}
	if len(f) > 0 {
		return shop.Order{}, false, shop.Invalid(f...)
	}
	var refund shop.Payment
	var chargeRef, replay string
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if replay, err = tx.ReplayedKey(ctx, store, actor.UserID, req.Idempotency); err != nil || replay != "" {
			return err
		}
		o, err := tx.OrderForUpdate(ctx, store, id)
		if err != nil {
			return err
		}
		charge, ok := o.Charge()
		if !ok || charge.State != shop.PaymentSucceeded || o.PaidAmount <= 0 {
			return shop.Errorf(shop.KindConflict, "An order that is %s has no payment to refund.", o.Status.Label())
		}
		chargeRef = charge.ProviderRef
		left := o.Refundable()
		if left <= 0 {
			return shop.Errorf(shop.KindConflict, "Everything paid for this order is refunded or being refunded.")
		}
		amount := left
		if req.Amount != nil {
			if req.Amount.Currency != o.Currency {
				return shop.Invalid(shop.FieldError{Field: "amount.currency", Message: "must be the order's currency, " + o.Currency})
			}
			amount = req.Amount.Amount
		}
		if amount > left {
			return shop.Invalid(shop.FieldError{Field: "amount.amount", Message: "is more than was paid and not yet refunded (" + shop.M(left, o.Currency).String() + ")"})
		}
		var back []string
		for i, r := range req.Restock {
			l, ok := o.Line(r.LineID)
			field := "restock[" + strconv.Itoa(i) + "]"
			if !ok {
				return shop.Invalid(shop.FieldError{Field: field + ".line_id", Message: "is not a line of this order"})
			}
			if r.Quantity > l.Returnable() {
				return shop.Invalid(shop.FieldError{Field: field + ".quantity",
					Message: fmt.Sprintf("is more than can still come back: %d of %s were sold and %d came back before", l.Quantity, l.Name, l.Returned)})
			}
			if err := tx.ReturnLine(ctx, store, o.ID, l, r.Quantity, "refund restock", string(actor.UserID)); err != nil {
				return err
			}
			back = append(back, fmt.Sprintf("%d × %s", r.Quantity, l.SKU))
		}
		refund = shop.Payment{OrderID: o.ID, Kind: shop.PaymentRefund, Amount: amount, Currency: o.Currency,
			Provider: s.gateway.Name(), Reason: reason, ActorID: string(actor.UserID)}
		if err := tx.InsertPayment(ctx, store, &refund); err != nil {
			return err
		}
		if err := tx.SaveKey(ctx, store, actor.UserID, req.Idempotency, o.ID); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "order.refund", TargetType: "order", TargetID: o.ID,
			Detail: map[string]string{"refund_id": refund.ID, "amount": strconv.FormatInt(amount, 10), "currency": o.Currency,
				"refundable_before": strconv.FormatInt(left, 10), "restock": strings.Join(back, ", "), "reason": reason, "status": string(o.Status)}})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) { // the same key, committed a moment ago by a concurrent request
		err, replay = nil, id
	}
	if err != nil {
		return shop.Order{}, false, err
	}
	if replay != "" {
		o, err := s.read(ctx, store, replay)
		return o, true, err
	}
	rerr := s.refund(ctx, actor, store, chargeRef, refund)
	o, err := s.read(ctx, store, id)
	if err == nil {
		err = rerr
	}
	return o, false, err
}

// refund asks the gateway for a pending refund, after the transaction that recorded it, and
// records the answer: succeeded (and the order's status follows what is now refunded) or failed.
func (s *Service) refund(ctx context.Context, actor shop.Principal, store shop.StoreID, chargeRef string, p shop.Payment) error {
	ref, gerr := s.gateway.Refund(ctx, payment.Refund{PaymentRef: chargeRef, Amount: p.Amount, Currency: p.Currency, IdempotencyKey: p.ID})
	state, failure := shop.PaymentSucceeded, ""
	if gerr != nil {
		state, failure = shop.PaymentFailed, "refused"
		if !errors.Is(gerr, payment.ErrRefused) {
			failure = "error"
		}
		s.log.ErrorContext(ctx, "refund failed", "order_id", p.OrderID, "refund_id", p.ID, "err", gerr)
	}
	err := s.db.Update(context.WithoutCancel(ctx), store, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.SettlePayment(ctx, store, &p, state, ref, failure); err != nil {
			if errors.Is(err, sqlstore.ErrSettled) {
				return nil // settled by a retry already
			}
			return err
		}
		if gerr != nil {
			_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "order.refund.failed", TargetType: "order", TargetID: p.OrderID,
				Detail: map[string]string{"refund_id": p.ID, "amount": strconv.FormatInt(p.Amount, 10), "failure": failure}})
			return err
		}
		o, err := tx.OrderByID(ctx, store, p.OrderID)
		if err != nil {
			return err
		}
		to := shop.OrderPartiallyRefunded
		if o.RefundedAmount >= o.PaidAmount {
			to = shop.OrderRefunded
		}
		if !o.Status.CanMove(to) {
			return nil // a cancelled order stays cancelled: its refund is in the ledger
		}
		note := "refund " + shop.M(p.Amount, p.Currency).String() + ": " + p.Reason
		if err := tx.MoveOrder(ctx, store, &o, to, actor, note); err != nil && !errors.Is(err, sqlstore.ErrStatusChanged) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if gerr != nil {
		return &shop.Error{Kind: ErrRefundFailed.Kind, Code: ErrRefundFailed.Code, Message: ErrRefundFailed.Message, Err: gerr}
	}
	return nil
}
