package orders

import (
	"context"
	"strconv"
	"strings"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Refund returns money on a paid order (admin): never more than was paid and not yet returned;
// a nil amount is all of that. The order becomes refunded when everything is returned,
// partially_refunded otherwise. With restock, the order's items go back on the shelf.
func (s *Service) Refund(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, amountOrRest *int64, reason string, restock bool) (sqlstore.Order, error) {
	if err := access.CheckStore(actor, store, access.OrdersRefund, "Order"); err != nil {
		return sqlstore.Order{}, err
	}
	reason = strings.TrimSpace(reason)
	var f []shop.FieldError
	if amountOrRest != nil && *amountOrRest <= 0 {
		f = append(f, shop.FieldError{Field: "amount", Message: "must be a positive amount in minor units"})
	}
	if reason == "" || !shop.ValidText(reason, 500, false) {
		f = append(f, shop.FieldError{Field: "reason", Message: "must say why, in 1 to 500 characters"})
	}
	if len(f) > 0 {
		return sqlstore.Order{}, shop.Invalid(f...)
	}
	var o sqlstore.Order
	err := s.db.Update(ctx, store, func(tx *sqlstore.Tx) error {
		var err error
		if o, err = tx.OrderByID(ctx, store, id); err != nil {
			return err
		}
		left := o.TotalAmount - o.RefundedAmount
		amount := left
		if amountOrRest != nil {
			amount = *amountOrRest
		}
		to := PartiallyRefunded
		if amount == left {
			to = Refunded
		}
		if !CanMove(o.Status, to) {
			return shop.Errorf(shop.KindConflict, "An order that is %s cannot be refunded.", strings.ReplaceAll(o.Status, "_", " "))
		}
		if amount > left {
			return shop.Invalid(shop.FieldError{Field: "amount", Message: "is more than was paid and not yet refunded (" + shop.Money{Amount: left, Currency: o.Currency}.String() + ")"})
		}
		if restock {
			for _, l := range o.Lines {
				if _, err := tx.MoveStock(ctx, store, l.ProductID, l.Quantity, "refund restock", string(actor.UserID), o.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.AddRefund(ctx, store, o.ID, amount, reason, restock, string(actor.UserID)); err != nil {
			return err
		}
		if err := s.gateway.Refund(ctx, o.PaymentRef, amount); err != nil {
			return err
		}
		from := o.Status
		if err := tx.MoveOrder(ctx, store, &o, to, actor, "refund "+shop.Money{Amount: amount, Currency: o.Currency}.String()+": "+reason); err != nil {
			return err
		}
		o.RefundedAmount += amount
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "order.refund", TargetType: "order", TargetID: o.ID,
			Detail: map[string]string{"amount": strconv.FormatInt(amount, 10), "refunded_before": strconv.FormatInt(o.RefundedAmount-amount, 10),
				"refunded_after": strconv.FormatInt(o.RefundedAmount, 10), "status_before": from, "status_after": to,
				"restock": strconv.FormatBool(restock), "reason": reason}})
		return err
	})
	return o, err
}
