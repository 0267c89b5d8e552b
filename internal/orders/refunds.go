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
			Provider: s.provider.Name(), Reason: reason, ActorID: string(actor.UserID)}
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

// refund asks the provider for a pending refund, after the transaction that recorded it, with the
// refund's id as idempotency key, and records the answer: succeeded (the order's status follows
// what is now refunded), refused (failed), or not yet known — the refund stays pending until the
// provider's webhook or reconciliation settles it.
func (s *Service) refund(ctx context.Context, actor shop.Principal, store shop.StoreID, chargeRef string, p shop.Payment) error {
	rs, perr := s.provider.RefundSession(ctx, payment.SessionRefund{StoreID: string(store), OrderID: p.OrderID, PaymentRef: chargeRef,
		Amount: p.Amount, Reason: p.Reason, IdempotencyKey: p.ID})
	state, failure := shop.PaymentSucceeded, ""
	switch {
	case errors.Is(perr, payment.ErrRefused) || (perr == nil && rs.Status == "failed"):
		state, failure = shop.PaymentFailed, "refused"
		s.log.ErrorContext(ctx, "refund refused", "order_id", p.OrderID, "refund_id", p.ID, "err", perr)
	case perr != nil || rs.Status != "succeeded":
		if perr != nil {
			s.log.WarnContext(ctx, "refund not confirmed yet; it stays pending", "order_id", p.OrderID, "refund_id", p.ID, "err", perr)
		}
		return nil // pending: the webhook or reconciliation settles it
	}
	err := s.db.Update(context.WithoutCancel(ctx), store, func(ctx context.Context, tx *sqlstore.Tx) error {
		// The order first, as every transaction that changes an order's payments takes it: the
		// provider's webhook settling this refund at the same moment waits here, not in a deadlock.
		if _, err := tx.OrderForUpdate(ctx, store, p.OrderID); err != nil {
			return err
		}
		settled, err := s.settleRefund(ctx, tx, actor, store, &p, state, rs.Ref, failure)
		if err != nil || !settled || state != shop.PaymentSucceeded {
			return err
		}
		return s.queueMail(ctx, tx, store, p.OrderID, notice{kind: mailRefunded, amount: p.Amount})
	})
	if err != nil {
		return err
	}
	if state == shop.PaymentFailed {
		return &shop.Error{Kind: ErrRefundFailed.Kind, Code: ErrRefundFailed.Code, Message: ErrRefundFailed.Message, Err: perr}
	}
	return nil
}

// settleRefund records the provider's answer to a pending refund, once, and moves the order:
// partially refunded, or refunded when everything paid is. A refund settled before is left alone
// (settled is false).
func (s *Service) settleRefund(ctx context.Context, tx *sqlstore.Tx, actor shop.Principal, store shop.StoreID, p *shop.Payment, state shop.PaymentState, ref, failure string) (settled bool, err error) {
	if err := tx.SettlePayment(ctx, store, p, state, ref, failure); err != nil {
		if errors.Is(err, sqlstore.ErrSettled) {
			return false, nil // settled by a retry, the webhook or reconciliation already
		}
		return false, err
	}
	if state != shop.PaymentSucceeded {
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "order.refund.failed", TargetType: "order", TargetID: p.OrderID,
			Detail: map[string]string{"refund_id": p.ID, "amount": strconv.FormatInt(p.Amount, 10), "failure": failure}})
		return true, err
	}
	if err := creditNote(ctx, tx, store, p); err != nil {
		return true, err
	}
	return true, s.followRefunds(ctx, tx, actor, store, p.OrderID, "refund "+shop.M(p.Amount, p.Currency).String()+": "+p.Reason)
}

// creditNote issues the credit note of a refund that succeeded, in its transaction: numbered from
// the store's credit notes, with the refund's tax shared out over the order's rates. A refund of a
// payment that came too late (an order that was never paid, so has no invoice) has none.
func creditNote(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID, p *shop.Payment) error {
	o, err := tx.OrderByID(ctx, store, p.OrderID)
	if err != nil {
		return err
	}
	if _, ok := o.Invoice(); !ok {
		return nil
	}
	taxes, tax := shop.CreditTaxes(o, p.Amount)
	return tx.IssueInvoice(ctx, store, &shop.Invoice{Kind: shop.InvoiceKindCreditNote, OrderID: o.ID, PaymentID: p.ID,
		Amount: p.Amount, TaxAmount: tax, Taxes: taxes})
}

// invoice issues a paid order's invoice, in the transaction that marks it paid, for the payment
// (the order's id for an order with nothing to pay).
func invoice(ctx context.Context, tx *sqlstore.Tx, o shop.Order, paymentID string) error {
	return tx.IssueInvoice(ctx, o.StoreID, &shop.Invoice{Kind: shop.InvoiceKindInvoice, OrderID: o.ID, PaymentID: paymentID,
		Amount: o.TotalAmount, TaxAmount: o.TaxAmount, Taxes: o.Taxes})
}

// followRefunds moves an order to what its succeeded refunds make it: partially refunded, or
// refunded when everything paid is. A cancelled order stays cancelled: its refund is in the ledger.
func (s *Service) followRefunds(ctx context.Context, tx *sqlstore.Tx, actor shop.Principal, store shop.StoreID, orderID, note string) error {
	o, err := tx.OrderByID(ctx, store, orderID)
	if err != nil {
		return err
	}
	to := shop.OrderPartiallyRefunded
	if o.RefundedAmount >= o.PaidAmount {
		to = shop.OrderRefunded
	}
	if o.RefundedAmount == 0 || !o.Status.CanMove(to) {
		return nil
	}
	if err := tx.MoveOrder(ctx, store, &o, to, actor, note); err != nil && !errors.Is(err, sqlstore.ErrStatusChanged) {
		return err
	}
	return nil
}
