package orders

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/mail"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Order statuses.
const (
	PendingPayment    = "pending_payment"
	Paid              = "paid"
	Processing        = "processing"
	Shipped           = "shipped"
	Delivered         = "delivered"
	Cancelled         = "cancelled"
	Refunded          = "refunded"
	PartiallyRefunded = "partially_refunded"
)

// transitions is the order state machine: every legal move, in one place.
var transitions = map[string][]string{
	PendingPayment:    {Paid, Cancelled},
	Paid:              {Processing, Shipped, Cancelled, Refunded, PartiallyRefunded},
	Processing:        {Shipped, Cancelled, Refunded, PartiallyRefunded},
	Shipped:           {Delivered, Refunded, PartiallyRefunded},
	Delivered:         {Refunded, PartiallyRefunded},
	PartiallyRefunded: {Processing, Shipped, Delivered, PartiallyRefunded, Refunded},
}

// CanMove reports whether an order may move from one status to another.
func CanMove(from, to string) bool {
	for _, t := range transitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// cancellable are the statuses a customer may still cancel from: nothing has left the shop.
func cancellable(status string) bool {
	return status == PendingPayment || status == Paid || status == Processing
}

// Mailer sends mail: .eml files or SMTP.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Service runs carts, checkout and orders.
type Service struct {
	db      *sqlstore.DB
	gateway payment.Gateway
	mailer  Mailer
	keyHash func(string) string // keyed hash of a checkout request, for Idempotency-Key replays
	now     func() time.Time
	log     *slog.Logger
}

// New returns the orders service.
func New(db *sqlstore.DB, gateway payment.Gateway, mailer Mailer, keyHash func(string) string, log *slog.Logger) *Service {
	return &Service{db: db, gateway: gateway, mailer: mailer, keyHash: keyHash, now: time.Now, log: log}
}

// Get returns one order. A customer sees only their own; anything else is not found.
func (s *Service) Get(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) (sqlstore.Order, error) {
	if err := s.checkRead(actor, store); err != nil {
		return sqlstore.Order{}, err
	}
	var o sqlstore.Order
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { o, err = tx.OrderByID(ctx, store, id); return })
	if err != nil {
		return sqlstore.Order{}, err
	}
	if !access.Can(actor.Role, access.OrdersReadAll) && o.CustomerID != actor.UserID {
		return sqlstore.Order{}, shop.NotFound("Order")
	}
	return o, nil
}

func (s *Service) checkRead(actor shop.Principal, store shop.StoreID) error {
	if err := access.CheckStore(actor, store, access.OrdersReadAll, "Order"); err == nil {
		return nil
	}
	return access.CheckStore(actor, store, access.OrdersReadOwn, "Order")
}

// List lists orders newest first: a customer's own, or every order for admins and clerks.
func (s *Service) List(ctx context.Context, actor shop.Principal, store shop.StoreID, f sqlstore.OrderFilter) (sqlstore.OrderPage, error) {
	if err := s.checkRead(actor, store); err != nil {
		return sqlstore.OrderPage{}, err
	}
	if !access.Can(actor.Role, access.OrdersReadAll) {
		f.CustomerID = actor.UserID
	}
	if f.Status != "" && !knownStatus(f.Status) {
		return sqlstore.OrderPage{}, shop.Invalid(shop.FieldError{Field: "status", Message: "is not an order status"})
	}
	var page sqlstore.OrderPage
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListOrders(ctx, store, f); return })
	return page, err
}

func knownStatus(s string) bool {
	_, ok := transitions[s]
	return ok || s == Cancelled || s == Refunded
}

// Cancel cancels a customer's own order before it ships: the stock returns to the shelf and the
// payment is returned.
func (s *Service) Cancel(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) (sqlstore.Order, error) {
	if err := access.CheckStore(actor, store, access.OrdersCancelOwn, "Order"); err != nil {
		return sqlstore.Order{}, err
	}
	return s.move(ctx, actor, store, id, Cancelled, "cancelled by the customer", true)
}

// SetStatus moves an order through fulfilment (admin, clerk). Refunds have their own path.
func (s *Service) SetStatus(ctx context.Context, actor shop.Principal, store shop.StoreID, id, to, note string) (sqlstore.Order, error) {
	if err := access.CheckStore(actor, store, access.OrdersUpdateStatus, "Order"); err != nil {
		return sqlstore.Order{}, err
	}
	switch to {
	case Processing, Shipped, Delivered, Cancelled:
	default:
		return sqlstore.Order{}, shop.Invalid(shop.FieldError{Field: "status", Message: "must be processing, shipped, delivered or cancelled"})
	}
	if !shop.ValidText(note, 500, true) {
		return sqlstore.Order{}, shop.Invalid(shop.FieldError{Field: "note", Message: "must be at most 500 characters"})
	}
	return s.move(ctx, actor, store, id, to, strings.TrimSpace(note), false)
}

// move is the one place an order changes status after checkout.
func (s *Service) move(ctx context.Context, actor shop.Principal, store shop.StoreID, id, to, note string, ownOnly bool) (sqlstore.Order, error) {
	var o sqlstore.Order
	err := s.db.Update(ctx, store, func(tx *sqlstore.Tx) error {
		var err error
		if o, err = tx.OrderByID(ctx, store, id); err != nil {
			return err
		}
		if ownOnly && o.CustomerID != actor.UserID {
			return shop.NotFound("Order")
		}
		if !CanMove(o.Status, to) || (ownOnly && !cancellable(o.Status)) {
			return shop.Errorf(shop.KindConflict, "An order that is %s cannot become %s.", strings.ReplaceAll(o.Status, "_", " "), strings.ReplaceAll(to, "_", " "))
		}
		if to == Cancelled {
			for _, l := range o.Lines {
				if _, err := tx.MoveStock(ctx, store, l.ProductID, l.Quantity, "order cancelled", string(actor.UserID), o.ID); err != nil {
					return err
				}
			}
			if o.PaymentRef != "" {
				if err := s.gateway.Refund(ctx, o.PaymentRef, o.TotalAmount-o.RefundedAmount); err != nil {
					return err
				}
			}
		}
		from := o.Status
		if err := tx.MoveOrder(ctx, store, &o, to, actor, note); err != nil {
			if errors.Is(err, sqlstore.ErrStatusChanged) {
				return shop.Errorf(shop.KindConflict, "The order changed meanwhile; reload it and try again.")
			}
			return err
		}
		if actor.Role == shop.RoleCustomer {
			return nil // the audit log records staff changes; the order's history records everyone's
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "order.status", TargetType: "order", TargetID: o.ID,
			Detail: map[string]string{"before": from, "after": to, "note": note}})
		return err
	})
	return o, err
}
