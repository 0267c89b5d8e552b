package orders

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/mail"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Mailer sends mail: .eml files or SMTP.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Service runs carts, checkout, orders and their money: every charge and refund is a row of the
// payments ledger, recorded pending in a write transaction, asked of the payment provider after
// the commit, and settled in another (or by the provider's webhook) — nothing waits on the
// provider while the database's writer is held.
type Service struct {
	db       *sqlstore.DB
	provider payment.Provider
	queue    Queue
	mailer   Mailer
	visitors VisitorCarts
	baseURL  string
	guestKey []byte
	now      func() time.Time
	log      *slog.Logger
}

// Deps is what the service works with.
type Deps struct {
	DB       *sqlstore.DB
	Provider payment.Provider // the hosted payment provider
	Queue    Queue            // the job queue: the order mails, the provider's events (none: no mail)
	Mailer   Mailer           // how the order mails' jobs send them
	Visitors VisitorCarts
	BaseURL  string // the shop's public address: the provider sends customers back to it
	GuestKey []byte // the key guests' order links are made with
	Log      *slog.Logger
}

// New returns the orders service.
func New(d Deps) *Service {
	return &Service{db: d.DB, provider: d.Provider, queue: d.Queue, mailer: d.Mailer, visitors: d.Visitors, baseURL: strings.TrimSuffix(d.BaseURL, "/"),
		guestKey: d.GuestKey, now: time.Now, log: d.Log}
}

// Get returns one order. A customer sees only their own; anything else is not found.
func (s *Service) Get(ctx context.Context, actor shop.Principal, store shop.StoreID, id string) (shop.Order, error) {
	if err := s.checkRead(actor, store); err != nil {
		return shop.Order{}, err
	}
	o, err := s.read(ctx, store, id)
	if err != nil {
		return shop.Order{}, err
	}
	if !access.Can(actor.Role, access.OrdersReadAll) && o.CustomerID != actor.UserID {
		return shop.Order{}, shop.NotFound("Order")
	}
	return o, nil
}

// read reads an order as it is now.
func (s *Service) read(ctx context.Context, store shop.StoreID, id string) (shop.Order, error) {
	var o shop.Order
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { o, err = tx.OrderByID(ctx, store, id); return })
	return o, err
}

func (s *Service) checkRead(actor shop.Principal, store shop.StoreID) error {
	if err := access.CheckStore(actor, store, access.OrdersReadAll, "Order"); err == nil {
		return nil
	}
	return access.CheckStore(actor, store, access.OrdersReadOwn, "Order")
}

// List lists orders newest first: a customer's own, or every order for admins and clerks.
func (s *Service) List(ctx context.Context, actor shop.Principal, store shop.StoreID, f shop.OrderFilter) (shop.OrderPage, error) {
	if err := s.checkRead(actor, store); err != nil {
		return shop.OrderPage{}, err
	}
	if !access.Can(actor.Role, access.OrdersReadAll) {
		f.CustomerID = actor.UserID
	}
	if f.Status != "" && !f.Status.Known() {
		return shop.OrderPage{}, shop.Invalid(shop.FieldError{Field: "status", Message: "is not an order status"})
	}
	var page shop.OrderPage
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListOrders(ctx, store, f); return })
	return page, err
}

// Cancel cancels a customer's own order before it ships: the stock returns to the shelf and what
// was paid is refunded.
func (s *Service) Cancel(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, idem shop.Idempotency) (shop.Order, bool, error) {
	if err := access.CheckStore(actor, store, access.OrdersCancelOwn, "Order"); err != nil {
		return shop.Order{}, false, err
	}
	return s.move(ctx, actor, store, id, shop.OrderCancelled, "cancelled by the customer", true, nil, idem)
}

// Advance moves an order on as staff do (SetStatus), shipped with how it left when ship is given
// (Ship); how it left goes with "shipped" only.
func (s *Service) Advance(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, to shop.OrderStatus, note string, ship *Shipment, idem shop.Idempotency) (shop.Order, bool, error) {
	switch {
	case to == shop.OrderShipped:
		if ship == nil {
			ship = &Shipment{}
		}
		return s.Ship(ctx, actor, store, id, *ship, note, idem)
	case ship != nil && (ship.Carrier != "" || ship.TrackingNumber != ""):
		if err := access.CheckStore(actor, store, access.OrdersUpdateStatus, "Order"); err != nil {
			return shop.Order{}, false, err
		}
		return shop.Order{}, false, shop.Invalid(shop.FieldError{Field: "carrier", Message: "a carrier and a tracking number go with status shipped only"})
	}
	return s.SetStatus(ctx, actor, store, id, to, note, idem)
}

// Shipment is how an order left: the carrier and its tracking number, each optional.
type Shipment struct {
	Carrier        string
	TrackingNumber string
}

var trackingRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./-]{0,59}$`)

// Ship marks an order shipped (admin, clerk) with how it left: the customer's shipped mail
// carries the carrier and the tracking number.
func (s *Service) Ship(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, sh Shipment, note string, idem shop.Idempotency) (shop.Order, bool, error) {
	if err := access.CheckStore(actor, store, access.OrdersUpdateStatus, "Order"); err != nil {
		return shop.Order{}, false, err
	}
	sh.Carrier, sh.TrackingNumber = strings.TrimSpace(sh.Carrier), strings.TrimSpace(sh.TrackingNumber)
	var fields []shop.FieldError
	if !shop.ValidText(sh.Carrier, 60, false) {
		fields = append(fields, shop.FieldError{Field: "carrier", Message: "must be at most 60 characters"})
	}
	if sh.TrackingNumber != "" && !trackingRE.MatchString(sh.TrackingNumber) {
		fields = append(fields, shop.FieldError{Field: "tracking_number", Message: "must be letters and digits (up to 60), as the carrier gave it"})
	}
	if !shop.ValidText(note, 500, true) {
		fields = append(fields, shop.FieldError{Field: "note", Message: "must be at most 500 characters"})
	}
	if len(fields) > 0 {
		return shop.Order{}, false, shop.Invalid(fields...)
	}
	return s.move(ctx, actor, store, id, shop.OrderShipped, strings.TrimSpace(note), false, &sh, idem)
}

// SetStatus moves an order through fulfilment (admin, clerk), or cancels it. Refunds have their
// own path.
func (s *Service) SetStatus(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, to shop.OrderStatus, note string, idem shop.Idempotency) (shop.Order, bool, error) {
	if err := access.CheckStore(actor, store, access.OrdersUpdateStatus, "Order"); err != nil {
		return shop.Order{}, false, err
	}
	if !slices.Contains(shop.StaffMoves, to) {
		return shop.Order{}, false, shop.Invalid(shop.FieldError{Field: "status", Message: "must be processing, shipped, delivered or cancelled"})
	}
	if !shop.ValidText(note, 500, true) {
		return shop.Order{}, false, shop.Invalid(shop.FieldError{Field: "note", Message: "must be at most 500 characters"})
	}
	return s.move(ctx, actor, store, id, to, strings.TrimSpace(note), false, nil, idem)
}

// move is the one place an order changes status after checkout. The status changes first, with a
// conditional update, in the same transaction that returns a cancelled order's stock and records
// its refund as pending; the gateway is asked only after that commit, so a cancellation that loses
// a race (to "shipped", say) refunds nothing.
func (s *Service) move(ctx context.Context, actor shop.Principal, store shop.StoreID, id string, to shop.OrderStatus, note string, ownOnly bool, ship *Shipment, idem shop.Idempotency) (shop.Order, bool, error) {
	if err := idem.Check(false); err != nil {
		return shop.Order{}, false, err
	}
	var refund *shop.Payment
	var chargeRef, replay string
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if replay, err = tx.ReplayedKey(ctx, store, actor.UserID, idem); err != nil || replay != "" {
			return err
		}
		o, err := tx.OrderForUpdate(ctx, store, id)
		if err != nil {
			return err
		}
		if ownOnly && o.CustomerID != actor.UserID {
			return shop.NotFound("Order")
		}
		if !o.Status.CanMove(to) || (ownOnly && !o.Cancellable()) {
			return shop.Errorf(shop.KindConflict, "An order that is %s cannot become %s.", o.Status.Label(), to.Label())
		}
		from := o.Status
		if err := tx.MoveOrder(ctx, store, &o, to, actor, note); err != nil {
			if errors.Is(err, sqlstore.ErrStatusChanged) {
				return shop.Errorf(shop.KindConflict, "The order changed meanwhile; reload it and try again.")
			}
			return err
		}
		if ship != nil && (ship.Carrier != "" || ship.TrackingNumber != "") {
			if err := tx.SetTracking(ctx, store, o.ID, ship.Carrier, ship.TrackingNumber); err != nil {
				return err
			}
		}
		n := notice{kind: mailShipped}
		if to == shop.OrderCancelled {
			n = notice{kind: mailCancelled, amount: o.PaidAmount}
			if refund, err = s.cancelled(ctx, tx, actor, o, "order cancelled", "cancelled"); err != nil {
				return err
			}
			if c, ok := o.Charge(); ok {
				chargeRef = c.ProviderRef
			}
		}
		if to == shop.OrderShipped || to == shop.OrderCancelled {
			if err := s.queueMail(ctx, tx, store, o.ID, n); err != nil {
				return err
			}
		}
		if err := tx.SaveKey(ctx, store, actor.UserID, idem, o.ID); err != nil {
			return err
		}
		if actor.Role == shop.RoleCustomer {
			return nil // the audit log records staff changes; the order's history records everyone's
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "order.status", TargetType: "order", TargetID: o.ID,
			Detail: shipDetail(map[string]string{"before": string(from), "after": string(to), "note": note}, ship)})
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
	if refund != nil {
		if err := s.refund(ctx, actor, store, chargeRef, *refund); err != nil {
			s.log.ErrorContext(ctx, "refund of a cancelled order not made", "order_id", id, "err", err)
		}
	}
	o, err := s.read(ctx, store, id)
	return o, false, err
}

// cancelled does what cancelling o means, in the transaction that cancelled it: every unit not yet
// returned goes back on the shelf, a charge still waiting for its payment fails (should it be paid
// after all, that payment is refunded when it arrives), and what was paid and not yet refunded is
// recorded as a pending refund, returned for the caller to ask of the provider after the commit.
// failure is the ledger's short code for the charge that fails: expired, or cancelled.
func (s *Service) cancelled(ctx context.Context, tx *sqlstore.Tx, actor shop.Principal, o shop.Order, reason, failure string) (*shop.Payment, error) {
	for _, p := range o.Payments {
		if p.Kind == shop.PaymentCharge && p.State == shop.PaymentPending {
			if err := tx.SettlePayment(ctx, o.StoreID, &p, shop.PaymentFailed, "", failure); err != nil && !errors.Is(err, sqlstore.ErrSettled) {
				return nil, err
			}
		}
	}
	for _, l := range o.Lines {
		if n := l.Returnable(); n > 0 {
			if err := tx.ReturnLine(ctx, o.StoreID, o.ID, l, n, reason, string(actor.UserID)); err != nil {
				return nil, err
			}
		}
	}
	left := o.Refundable()
	if left <= 0 {
		return nil, nil
	}
	p := &shop.Payment{OrderID: o.ID, Kind: shop.PaymentRefund, Amount: left, Currency: o.Currency,
		Provider: s.provider.Name(), Reason: reason, ActorID: string(actor.UserID)}
	return p, tx.InsertPayment(ctx, o.StoreID, p)
}

// shipDetail adds how an order left to an audit entry's detail.
func shipDetail(d map[string]string, ship *Shipment) map[string]string {
	if ship != nil {
		d["carrier"], d["tracking_number"] = ship.Carrier, ship.TrackingNumber
	}
	return d
}
