package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// reasonExpired is why an order whose reservation ran out unpaid was cancelled.
const reasonExpired = "not paid in time"

// reasonLate is why a payment that arrived for an order no longer waiting for it is refunded.
const reasonLate = "paid after the order was cancelled"

// ApplyEvent applies a verified webhook event of the provider, once: a session paid marks its order
// paid (or, when the order was cancelled meanwhile, refunds the payment); a session expired
// cancels its order and returns its stock; a refund settles the shop's pending refund, or records
// one made at the provider. Events may come twice, late and out of order: the event is recorded in
// the transaction that applies it, and each move is conditional on where the order stands. An
// event about no order of this shop is acknowledged and ignored.
func (s *Service) ApplyEvent(ctx context.Context, ev payment.Event) error {
	store, orderID := shop.StoreID(ev.Session.StoreID), ev.Session.OrderID
	if ev.Kind == payment.EventOther || !shop.ValidID(string(store)) || !shop.ValidID(orderID) || ev.ID == "" {
		return nil
	}
	var after afterwards
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		after = afterwards{}
		err := tx.RecordPaymentEvent(ctx, store, s.provider.Name(), ev.ID, string(ev.Kind), orderID)
		if err != nil {
			return err
		}
		o, err := tx.OrderForUpdate(ctx, store, orderID)
		if shop.KindOf(err) == shop.KindNotFound {
			s.log.WarnContext(ctx, "payment event for an order this shop does not have", "event", ev.ID, "order_id", orderID)
			return nil
		}
		if err != nil {
			return err
		}
		switch ev.Kind {
		case payment.EventPaid:
			after, err = s.applyPaid(ctx, tx, o, ev.Session)
		case payment.EventExpired:
			after, err = s.applyExpired(ctx, tx, o, ev.Session.ID)
		case payment.EventRefunded:
			after, err = s.applyRefunded(ctx, tx, o, ev)
		}
		if err != nil {
			return err
		}
		return s.queueMails(ctx, tx, store, after)
	})
	if errors.Is(err, shop.ErrDuplicate) {
		return nil // applied before
	}
	if err != nil {
		return err
	}
	s.finish(ctx, store, after)
	return nil
}

// afterwards is what applying a payment leaves to do: mails to send, written as jobs in its
// transaction (queueMails), and a refund to ask of the provider once it committed.
type afterwards struct {
	order     shop.Order
	refund    *shop.Payment
	chargeRef string
	mails     []notice
}

// finish asks the provider for the refund a committed payment change left pending. Its failure is
// logged: the refund stays pending for reconciliation, and the order is right either way.
func (s *Service) finish(ctx context.Context, store shop.StoreID, a afterwards) {
	ctx = context.WithoutCancel(ctx)
	if a.refund != nil {
		if err := s.refund(ctx, shop.System(), store, a.chargeRef, *a.refund); err != nil {
			s.log.ErrorContext(ctx, "refund not made", "order_id", a.refund.OrderID, "err", err)
		}
	}
}

// applyPaid records a session's payment, in the transaction that holds the order: the pending
// charge succeeds and the order is paid. A payment for an order no longer waiting for it (cancelled,
// or its reservation ended) is recorded as the charge it is, with a refund of all of it, pending,
// for the caller to ask of the provider after the commit. A session already recorded as paid
// changes nothing.
func (s *Service) applyPaid(ctx context.Context, tx *sqlstore.Tx, o shop.Order, st payment.SessionState) (afterwards, error) {
	var intent *shop.Payment
	for i, p := range o.Payments {
		if p.Kind != shop.PaymentCharge || p.SessionID != st.ID {
			continue
		}
		if p.State == shop.PaymentSucceeded {
			return afterwards{}, nil // applied before
		}
		if intent == nil || p.State == shop.PaymentPending {
			intent = &o.Payments[i]
		}
	}
	if intent == nil {
		return afterwards{}, fmt.Errorf("payment of session %s for order %s: the order has no charge with that session", st.ID, o.ID)
	}
	if st.Amount != intent.Amount || !strings.EqualFold(st.Currency, intent.Currency) {
		return afterwards{}, fmt.Errorf("payment of session %s for order %s: %d %s paid, %d %s asked", st.ID, o.ID,
			st.Amount, st.Currency, intent.Amount, intent.Currency)
	}
	actor := shop.System()
	if intent.State == shop.PaymentPending && o.Status == shop.OrderPendingPayment {
		if err := tx.SettlePayment(ctx, o.StoreID, intent, shop.PaymentSucceeded, st.PaymentRef, ""); err != nil {
			return afterwards{}, err
		}
		if err := tx.MoveOrder(ctx, o.StoreID, &o, shop.OrderPaid, actor, "payment "+st.PaymentRef); err != nil {
			return afterwards{}, err
		}
		if err := invoice(ctx, tx, o, intent.ID); err != nil {
			return afterwards{}, err
		}
		o.PaidAmount += intent.Amount
		return afterwards{order: o, mails: []notice{{kind: mailPaid}}}, nil
	}
	// The money moved for an order that no longer waits for it: it is on record, and goes back.
	now := tx.Now()
	charge := shop.Payment{OrderID: o.ID, Kind: shop.PaymentCharge, State: shop.PaymentSucceeded, Amount: st.Amount, Currency: intent.Currency,
		Provider: s.provider.Name(), ProviderRef: st.PaymentRef, SessionID: st.ID, ActorID: string(actor.UserID), SettledAt: &now}
	if intent.State == shop.PaymentPending {
		if err := tx.SettlePayment(ctx, o.StoreID, intent, shop.PaymentFailed, "", "cancelled"); err != nil {
			return afterwards{}, err
		}
	}
	if err := tx.InsertPayment(ctx, o.StoreID, &charge); err != nil {
		return afterwards{}, err
	}
	refund := &shop.Payment{OrderID: o.ID, Kind: shop.PaymentRefund, Amount: charge.Amount, Currency: charge.Currency,
		Provider: s.provider.Name(), Reason: reasonLate, ActorID: string(actor.UserID)}
	if err := tx.InsertPayment(ctx, o.StoreID, refund); err != nil {
		return afterwards{}, err
	}
	return afterwards{order: o, refund: refund, chargeRef: st.PaymentRef, mails: []notice{{kind: mailLate, amount: charge.Amount}}}, nil
}

// applyExpired cancels an order whose payment session ended unpaid: its stock goes back, once (the
// cancellation is a conditional move out of pending_payment), and its charge fails as expired.
func (s *Service) applyExpired(ctx context.Context, tx *sqlstore.Tx, o shop.Order, sessionID string) (afterwards, error) {
	c, ok := o.Charge()
	if o.Status != shop.OrderPendingPayment || !ok || c.State != shop.PaymentPending || (sessionID != "" && c.SessionID != sessionID) {
		return afterwards{}, nil
	}
	if err := tx.MoveOrder(ctx, o.StoreID, &o, shop.OrderCancelled, shop.System(), reasonExpired); err != nil {
		if errors.Is(err, sqlstore.ErrStatusChanged) {
			return afterwards{}, nil
		}
		return afterwards{}, err
	}
	if _, err := s.cancelled(ctx, tx, shop.System(), o, reasonExpired, "expired"); err != nil {
		return afterwards{}, err
	}
	return afterwards{order: o, mails: []notice{{kind: mailExpired}}}, nil
}

// applyRefunded settles a refund the provider made: the shop's own refund, pending (matched by the
// idempotency key it was asked with, or by the provider's reference), or one made at the provider,
// recorded as it is. A refund that comes before the payment it returns (events out of order)
// records the payment first (and what that leaves to do: the confirmation mail).
func (s *Service) applyRefunded(ctx context.Context, tx *sqlstore.Tx, o shop.Order, ev payment.Event) (afterwards, error) {
	var paid afterwards
	if c, ok := o.Charge(); ok && c.State == shop.PaymentPending && ev.Session.PaymentRef != "" {
		st := payment.SessionState{ID: c.SessionID, Status: payment.StatusPaid, Amount: c.Amount, Currency: c.Currency, PaymentRef: ev.Session.PaymentRef}
		var err error
		if paid, err = s.applyPaid(ctx, tx, o, st); err != nil {
			return paid, err
		}
		if o, err = tx.OrderForUpdate(ctx, o.StoreID, o.ID); err != nil {
			return paid, err
		}
	}
	n, err := s.refunded(ctx, tx, o, ev)
	if n != nil {
		paid.order, paid.mails = o, append(paid.mails, *n)
	}
	return paid, err
}

// refunded records a refund's event on an order whose payment is recorded, and returns the mail
// to send when a refund went through.
func (s *Service) refunded(ctx context.Context, tx *sqlstore.Tx, o shop.Order, ev payment.Event) (*notice, error) {
	actor := shop.System()
	for _, p := range o.Payments {
		if p.Kind != shop.PaymentRefund || (p.ID != ev.RefundKey && (p.ProviderRef == "" || p.ProviderRef != ev.RefundRef)) {
			continue
		}
		if p.State != shop.PaymentPending {
			return nil, nil // settled before
		}
		settled, err := s.settleRefund(ctx, tx, actor, o.StoreID, &p, shop.PaymentSucceeded, ev.RefundRef, "")
		if !settled || err != nil {
			return nil, err
		}
		return &notice{kind: mailRefunded, amount: p.Amount}, nil
	}
	// Made at the provider (its dashboard): on record as it is, never more than is left.
	if ev.Amount <= 0 || o.PaidAmount <= 0 {
		return nil, nil
	}
	amount := min(ev.Amount, o.PaidAmount-o.RefundedAmount)
	if amount <= 0 {
		return nil, nil
	}
	now := tx.Now()
	p := shop.Payment{OrderID: o.ID, Kind: shop.PaymentRefund, State: shop.PaymentSucceeded, Amount: amount, Currency: o.Currency,
		Provider: s.provider.Name(), ProviderRef: ev.RefundRef, Reason: "refunded at the payment provider", ActorID: string(actor.UserID), SettledAt: &now}
	if err := tx.InsertPayment(ctx, o.StoreID, &p); err != nil {
		return nil, err
	}
	return &notice{kind: mailRefunded, amount: amount}, s.followRefunds(ctx, tx, actor, o.StoreID, o.ID, "refund "+shop.M(amount, o.Currency).String()+" made at the payment provider")
}

// Refresh is the return page's question: for the customer's order still pending payment, it asks
// the provider where its session stands and applies the answer — the webhook may not have come yet.
func (s *Service) Refresh(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) (shop.Order, error) {
	o, err := s.Get(ctx, actor, store, id)
	if err != nil || o.Status != shop.OrderPendingPayment {
		return o, err
	}
	if err := s.sync(ctx, o); err != nil {
		s.log.WarnContext(ctx, "payment state not read from the provider", "order_id", o.ID, "err", err)
		return o, nil // the page says "pending" and asks again
	}
	return s.read(ctx, store, id)
}

// sync asks the provider where an order's pending charge stands and applies it: paid, or expired.
func (s *Service) sync(ctx context.Context, o shop.Order) error {
	c, ok := o.Charge()
	if !ok || c.State != shop.PaymentPending || c.SessionID == "" {
		return nil
	}
	st, err := s.provider.Session(ctx, c.SessionID)
	if err != nil {
		return err
	}
	if st.Status == payment.StatusOpen {
		return nil
	}
	var after afterwards
	err = s.db.Update(context.WithoutCancel(ctx), o.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		cur, err := tx.OrderForUpdate(ctx, o.StoreID, o.ID)
		if err != nil {
			return err
		}
		if st.Status == payment.StatusPaid {
			after, err = s.applyPaid(ctx, tx, cur, st)
		} else {
			after, err = s.applyExpired(ctx, tx, cur, st.ID)
		}
		if err != nil {
			return err
		}
		return s.queueMails(ctx, tx, o.StoreID, after)
	})
	if err == nil {
		s.finish(ctx, o.StoreID, after)
	}
	return err
}

// ExpireReservations cancels, in every store, the orders still unpaid at the end of their
// reservation, and returns how many: their stock goes back, once. Each is first checked with the
// provider: one paid whose webhook was lost is marked paid instead.
func (s *Service) ExpireReservations(ctx context.Context) (int, error) {
	var due []sqlstore.StoreOrder
	err := s.db.View(ctx, sqlstore.AllStores, func(tx *sqlstore.Tx) (err error) {
		due, err = tx.ExpiredReservations(ctx, s.now(), 200)
		return
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, d := range due {
		o, err := s.read(ctx, d.Store, d.OrderID)
		if err == nil {
			err = s.sync(ctx, o)
		}
		if err == nil {
			err = s.expire(ctx, d.Store, d.OrderID)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", d.OrderID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// expire cancels an order still pending payment past its reservation.
func (s *Service) expire(ctx context.Context, store shop.StoreID, id string) error {
	var after afterwards
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		o, err := tx.OrderForUpdate(ctx, store, id)
		if err != nil {
			return err
		}
		if !o.ReservationOver(s.now()) {
			return nil
		}
		if after, err = s.applyExpired(ctx, tx, o, ""); err != nil {
			return err
		}
		return s.queueMails(ctx, tx, store, after)
	})
	if err == nil {
		s.finish(ctx, store, after)
	}
	return err
}

// Reconciliation is what one pass of reconciliation looked at and repaired.
type Reconciliation struct {
	Orders  int // orders with a payment pending, asked about
	Repairs int // of them, orders whose payments moved (paid, expired, refund settled)
}

// Reconcile compares the payments still pending, recorded between since and a minute ago (what a
// request in flight may still settle itself), with the provider, and repairs what a lost webhook
// left behind: a charge paid or expired, a refund made. Asking again is safe: every request to the
// provider carries the payment's idempotency key.
func (s *Service) Reconcile(ctx context.Context, since time.Duration) (Reconciliation, error) {
	var due []sqlstore.StoreOrder
	now := s.now()
	err := s.db.View(ctx, sqlstore.AllStores, func(tx *sqlstore.Tx) (err error) {
		due, err = tx.PendingPayments(ctx, now.Add(-since), now.Add(-time.Minute), 500)
		return
	})
	if err != nil {
		return Reconciliation{}, err
	}
	var r Reconciliation
	var errs []error
	for _, d := range due {
		r.Orders++
		before, err := s.read(ctx, d.Store, d.OrderID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.sync(ctx, before); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", d.OrderID, err))
		}
		o, err := s.read(ctx, d.Store, d.OrderID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c, ok := o.Charge(); ok && c.State == shop.PaymentSucceeded {
			for _, p := range o.Payments {
				if p.Kind == shop.PaymentRefund && p.State == shop.PaymentPending && p.CreatedAt.Before(now.Add(-time.Minute)) {
					if err := s.refund(ctx, shop.System(), d.Store, c.ProviderRef, p); err != nil {
						errs = append(errs, fmt.Errorf("refund %s: %w", p.ID, err))
					}
				}
			}
		}
		if after, err := s.read(ctx, d.Store, d.OrderID); err == nil && changed(before, after) {
			r.Repairs++
		}
	}
	return r, errors.Join(errs...)
}

// changed reports whether an order's status or payments moved between two reads.
func changed(a, b shop.Order) bool {
	if a.Status != b.Status || len(a.Payments) != len(b.Payments) {
		return true
	}
	for i := range a.Payments {
		if a.Payments[i].State != b.Payments[i].State {
			return true
		}
	}
	return false
}
