package orders

import (
	"context"

	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Queue is the durable job queue (package jobs).
type Queue interface {
	// InsertTx writes job in tx's transaction: it is done once tx commits, and never if it does not.
	InsertTx(ctx context.Context, tx *sqlstore.Tx, job shop.Job) error
	// Insert writes job on its own, for work that follows from no transaction of the shop's.
	Insert(ctx context.Context, job shop.Job) error
}

// The jobs of orders and payments. Their workers (package jobs) call the service's methods.

// MailJob sends one order mail (SendMail). It names the order, not the mail: the mail is written
// when it is sent, from the order as it is then.
type MailJob struct {
	Store  shop.StoreID `json:"store_id"`
	Order  string       `json:"order_id"`
	Mail   string       `json:"mail"`             // a mailKind
	Amount int64        `json:"amount,omitempty"` // the amount the mail is about (a refund), minor units
}

// Kind names the job's worker.
func (MailJob) Kind() string { return "order_mail" }

// JobStore is the store whose order the mail is about.
func (j MailJob) JobStore() shop.StoreID { return j.Store }

// EventJob applies one verified event of the payment provider (ApplyEvent).
type EventJob struct {
	Event payment.Event `json:"event"`
}

// Kind names the job's worker.
func (EventJob) Kind() string { return "payment_event" }

// JobStore is the store the event's payment is for.
func (j EventJob) JobStore() shop.StoreID { return shop.StoreID(j.Event.Session.StoreID) }

// ExpiryJob cancels the orders whose reservation ran out (ExpireReservations); periodic.
type ExpiryJob struct{}

// Kind names the job's worker.
func (ExpiryJob) Kind() string { return "expire_reservations" }

// ReconcileJob compares the payments still pending with the provider (Reconcile); periodic. It
// also asks again for the refunds the provider has not confirmed.
type ReconcileJob struct{}

// Kind names the job's worker.
func (ReconcileJob) Kind() string { return "reconcile_payments" }

// ReceiveEvent takes a verified event of the provider: written to the job queue, to be applied
// by whichever instance's worker takes it (and retried should that fail), so that the webhook is
// acknowledged as soon as the event is safe. Without a queue it is applied at once.
func (s *Service) ReceiveEvent(ctx context.Context, ev payment.Event) error {
	if s.queue == nil {
		return s.ApplyEvent(ctx, ev)
	}
	if ev.Kind == payment.EventOther || ev.ID == "" || !shop.ValidID(ev.Session.StoreID) || !shop.ValidID(ev.Session.OrderID) {
		return nil // nothing this shop applies: acknowledged, not kept
	}
	return s.queue.Insert(ctx, EventJob{Event: ev})
}

// queueMails writes the mails a payment change leaves to send, as jobs in its transaction.
func (s *Service) queueMails(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID, a afterwards) error {
	for _, n := range a.mails {
		if err := s.queueMail(ctx, tx, store, a.order.ID, n); err != nil {
			return err
		}
	}
	return nil
}

// queueMail writes one order mail as a job in the transaction of the change it tells of: sent once
// that commits, never for a change rolled back, and retried until the mail server takes it.
func (s *Service) queueMail(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID, orderID string, n notice) error {
	if s.queue == nil {
		return nil
	}
	return s.queue.InsertTx(ctx, tx, MailJob{Store: store, Order: orderID, Mail: string(n.kind), Amount: n.amount})
}
