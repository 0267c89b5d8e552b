package orders_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/kv"
	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/payment/testpay"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// recorder is the shop's side of testpay (over HTTP, as the shop reaches it) counting what it was
// asked; before runs inside CreateSession.
type recorder struct {
	*testpay.Client
	mu       sync.Mutex
	sessions int
	refunds  int
	before   func(ctx context.Context)
}

func (r *recorder) CreateSession(ctx context.Context, req payment.SessionRequest) (payment.Session, error) {
	if r.before != nil {
		r.before(ctx)
	}
	r.mu.Lock()
	r.sessions++
	r.mu.Unlock()
	return r.Client.CreateSession(ctx, req)
}

func (r *recorder) RefundSession(ctx context.Context, req payment.SessionRefund) (payment.RefundState, error) {
	r.mu.Lock()
	r.refunds++
	r.mu.Unlock()
	return r.Client.RefundSession(ctx, req)
}

func (r *recorder) calls() (sessions, refunds int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions, r.refunds
}

type fixture struct {
	db       *sqlstore.DB
	st       shop.Store
	customer shop.Principal
	clerk    shop.Principal
	admin    shop.Principal
	product  string
	gw       *recorder       // the shop's side of the provider
	pay      *testpay.Server // the provider's own books
	events   chan payment.Event
	seen     []payment.Event // applied, not yet awaited
	svc      *orders.Service
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setUp makes a store, a product at 450 with stock units and a verified customer with quantity
// of it in the cart, and the orders service over testpay, whose webhooks the fixture applies as the
// shop's endpoint does (and passes on to f.events).
func setUp(t *testing.T, url string, stock, quantity int) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testenv.OpenDB(t, url, sqlstore.Options{})
	f := &fixture{db: db, st: shop.Store{Slug: "tea", Name: "Tea", Currency: "GBP"}, events: make(chan payment.Event, 256)}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := f.gw.ParseWebhook(body, r.Header)
		if err == nil {
			err = f.svc.ApplyEvent(r.Context(), ev)
		}
		if err != nil {
			t.Errorf("webhook: %v", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		f.events <- ev
	}))
	t.Cleanup(hook.Close)
	var client *testpay.Client
	f.pay, client = testenv.Testpay(t, hook.URL)
	f.gw = &recorder{Client: client}
	if err := db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &f.st) }); err != nil {
		t.Fatal(err)
	}
	u := shop.User{Email: "ann@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
	p := shop.Product{SKU: "EG-1", Name: "Earl Grey", PriceAmount: 450}
	err := db.Update(ctx, f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateUser(ctx, f.st.ID, &u); err != nil {
			return err
		}
		if err := tx.MarkEmailVerified(ctx, f.st.ID, u.ID); err != nil {
			return err
		}
		if err := tx.CreateProduct(ctx, f.st.ID, &p); err != nil {
			return err
		}
		if stock > 0 {
			if _, err := tx.MoveStock(ctx, f.st.ID, p.ID, stock, "opening stock", "", ""); err != nil {
				return err
			}
		}
		return tx.SetCartItem(ctx, f.st.ID, u.ID, p.ID, quantity, p.PriceAmount)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.customer = shop.Principal{UserID: u.ID, StoreID: f.st.ID, Role: shop.RoleCustomer}
	f.clerk = shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: f.st.ID, Role: shop.RoleClerk}
	f.admin = shop.Principal{UserID: shop.UserID(shop.NewID()), StoreID: f.st.ID, Role: shop.RoleAdmin}
	f.product = p.ID
	f.svc = orders.New(orders.Deps{DB: db, Provider: f.gw, Visitors: kv.NewMemoryCarts(0), BaseURL: "https://shop.example", Log: quiet})
	return f
}

func (f *fixture) stock(t *testing.T) (stock, ledger int) {
	t.Helper()
	ctx := context.Background()
	err := f.db.View(ctx, f.st.ID, func(tx *sqlstore.Tx) error {
		p, err := tx.ProductByID(ctx, f.st.ID, f.product)
		stock = p.Stock
		if err == nil {
			ledger, err = tx.LedgerSum(ctx, f.st.ID, f.product)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return stock, ledger
}

func (f *fixture) cart(t *testing.T) []shop.CartLine {
	t.Helper()
	var lines []shop.CartLine
	err := f.db.View(context.Background(), f.st.ID, func(tx *sqlstore.Tx) (err error) {
		lines, err = tx.CartLines(context.Background(), f.st.ID, f.customer.UserID)
		return
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func (f *fixture) order(t *testing.T, id string) shop.Order {
	t.Helper()
	o, err := f.svc.Get(context.Background(), f.admin, f.st.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// checkout checks the customer's cart out with a fresh key.
func (f *fixture) checkout(t *testing.T) (shop.Order, error) {
	t.Helper()
	o, _, err := f.svc.Checkout(context.Background(), f.customer, f.st, orders.CheckoutRequest{Idempotency: key(shop.NewID())})
	return o, err
}

// paid checks the cart out, pays on the provider's page with the card that pays, and returns the
// order once the provider's webhook marked it paid.
func (f *fixture) paid(t *testing.T) shop.Order {
	t.Helper()
	o, err := f.checkout(t)
	if err != nil {
		t.Fatal(err)
	}
	if status := payOn(t, o, "4242 4242 4242 4242"); status != http.StatusSeeOther {
		t.Fatalf("paying: %d", status)
	}
	f.await(t, payment.EventPaid, o.ID)
	return f.order(t, o.ID)
}

// await waits for the provider's webhook of kind about order to be applied. Webhooks come in any
// order: those it passes by are kept for the next await.
func (f *fixture) await(t *testing.T, kind payment.EventKind, order string) payment.Event {
	t.Helper()
	for i, ev := range f.seen {
		if ev.Kind == kind && ev.Session.OrderID == order {
			f.seen = append(f.seen[:i], f.seen[i+1:]...)
			return ev
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-f.events:
			if ev.Kind == kind && ev.Session.OrderID == order {
				return ev
			}
			f.seen = append(f.seen, ev)
		case <-timeout:
			t.Fatalf("no %s webhook for order %s", kind, order)
		}
	}
}

// payOn submits a card on the order's payment page, as the customer's browser does, and returns
// the page's status (303: paid, and sent back to the shop).
func payOn(t *testing.T, o shop.Order, number string) int {
	t.Helper()
	c, ok := o.Charge()
	if !ok || c.RedirectURL == "" {
		t.Fatalf("order %s has no payment page: %+v", o.ID, o.Payments)
	}
	return testenv.PayOnPage(t, c.RedirectURL, number)
}

func key(k string) shop.Idempotency { return shop.Idempotency{Key: k, Hash: "h-" + k} }

// TestCheckout_NotEnoughStockIsNeverSentToPay: a cart asking for more than the shelf holds is
// refused before the provider is asked for anything, and leaves the stock and the cart as they were.
func TestCheckout_NotEnoughStockIsNeverSentToPay(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 2, 3)
		if _, err := f.checkout(t); shop.KindOf(err) != shop.KindConflict || !strings.Contains(err.Error(), "Earl Grey") {
			t.Fatalf("checkout of 3 with 2 in stock: %v", err)
		}
		if s, r := f.gw.calls(); s != 0 || r != 0 || f.pay.Sessions() != 0 {
			t.Fatalf("sessions %d, refunds %d", s, r)
		}
		if n, l := f.stock(t); n != 2 || l != 2 {
			t.Fatalf("stock %d (ledger %d) after a refused checkout", n, l)
		}
		if len(f.cart(t)) != 1 {
			t.Fatal("the cart was lost")
		}
	})
}

// TestCheckout_ReservesThenThePaymentMarksItPaid: checkout takes the stock, writes the order
// pending payment until its deadline with its charge pending and the provider's page to pay on, and
// empties the cart; paying on that page, the provider's webhook marks the order paid, once, with
// the provider's reference in the ledger.
func TestCheckout_ReservesThenThePaymentMarksItPaid(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 3)
		before := time.Now()
		o, err := f.checkout(t)
		c, ok := o.Charge()
		if err != nil || o.Status != shop.OrderPendingPayment || o.TotalAmount != 1350 || o.PaidAmount != 0 || !ok ||
			c.State != shop.PaymentPending || c.Amount != 1350 || c.SessionID == "" || !strings.HasPrefix(c.RedirectURL, "http://127.0.0.1") {
			t.Fatalf("checkout: %+v %v", o, err)
		}
		if o.ReservedUntil == nil || o.ReservedUntil.Sub(before) < 14*time.Minute || o.ReservedUntil.Sub(before) > 16*time.Minute {
			t.Fatalf("reserved until %v, want 15 minutes from now", o.ReservedUntil)
		}
		if n, l := f.stock(t); n != 2 || l != 2 || len(f.cart(t)) != 0 {
			t.Fatalf("after checkout: stock %d ledger %d cart %v", n, l, f.cart(t))
		}
		if st := payOn(t, o, "4242424242424242"); st != http.StatusSeeOther {
			t.Fatalf("paying: %d", st)
		}
		ev := f.await(t, payment.EventPaid, o.ID)
		stored := f.order(t, o.ID)
		c, _ = stored.Charge()
		if stored.Status != shop.OrderPaid || c.State != shop.PaymentSucceeded || c.ProviderRef != ev.Session.PaymentRef || c.ProviderRef == "" ||
			stored.PaidAmount != 1350 || len(stored.Payments) != 1 {
			t.Fatalf("paid order: %+v", stored)
		}
		h := stored.History
		if len(h) != 2 || h[1].From != shop.OrderPendingPayment || h[1].To != shop.OrderPaid || h[1].Note != "payment "+c.ProviderRef {
			t.Fatalf("history: %+v", h)
		}
		// The same event again (the provider retries until acknowledged) changes nothing.
		if err := f.svc.ApplyEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if again := f.order(t, o.ID); len(again.Payments) != 1 || len(again.History) != 2 || again.PaidAmount != 1350 {
			t.Fatalf("after the event again: %+v", again)
		}
		if n, _ := f.stock(t); n != 2 {
			t.Fatalf("stock %d", n)
		}
	})
}

// TestCheckout_TheProviderIsCalledWithNoWriteTransactionOpen: while the provider answers, the
// database's writer is free — a write in another store goes through while the session is made. On
// SQLite, whose one writer serves every store, a call inside the write transaction would hold it
// (here: the write below would wait for the call, which waits for the write, until its deadline).
func TestCheckout_TheProviderIsCalledWithNoWriteTransactionOpen(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 1)
		other := shop.Store{Slug: "other", Name: "Other", Currency: "GBP"}
		if err := f.db.Update(context.Background(), "", func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &other) }); err != nil {
			t.Fatal(err)
		}
		var during error
		f.gw.before = func(ctx context.Context) {
			wctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			during = f.db.Update(wctx, other.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				return tx.CreateProduct(ctx, other.ID, &shop.Product{SKU: "X", Name: "X", PriceAmount: 1})
			})
		}
		if _, err := f.checkout(t); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			t.Fatalf("a write in another store while the session was made: %v", during)
		}
	})
}

// TestUpdate_RefusesOutsideCallsInsideTheTransaction: the context a write transaction's function
// gets is marked, and the payment provider refuses it.
func TestUpdate_RefusesOutsideCallsInsideTheTransaction(t *testing.T) {
	f := setUp(t, testenv.SQLiteURL(t), 5, 1)
	var call, view error
	err := f.db.Update(context.Background(), f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		_, call = f.gw.Client.CreateSession(ctx, payment.SessionRequest{OrderID: shop.NewID(), Amount: 1, Currency: "GBP", IdempotencyKey: "x",
			SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/no"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.db.View(context.Background(), f.st.ID, func(*sqlstore.Tx) error {
		view = shop.OutsideWriteTransaction(context.Background())
		return nil
	})
	if !errors.Is(call, shop.ErrInWriteTransaction) || view != nil || f.pay.Sessions() != 0 {
		t.Fatalf("provider call inside Update: %v; outside: %v", call, view)
	}
}

// TestCheckout_DeclinedCardLeavesTheOrderPayableUntilItsDeadline: a declined card takes nothing
// and leaves the order pending, still payable on its page; unpaid at its deadline, the expiry job
// cancels it and its stock returns — once, however often the job runs.
func TestCheckout_DeclinedCardLeavesTheOrderPayableUntilItsDeadline(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 2)
		o, err := f.checkout(t)
		if err != nil {
			t.Fatal(err)
		}
		if st := payOn(t, o, testpay.DeclinedCard); st != http.StatusPaymentRequired {
			t.Fatalf("declined card: %d", st)
		}
		stored := f.order(t, o.ID)
		if stored.Status != shop.OrderPendingPayment || !stored.Payable(time.Now()) || stored.PaidAmount != 0 {
			t.Fatalf("after a decline: %+v", stored)
		}
		if n, _ := f.stock(t); n != 3 {
			t.Fatalf("stock %d while reserved", n)
		}
		// Before its deadline the job leaves it alone.
		if n, err := f.svc.ExpireReservations(context.Background()); err != nil || n != 0 {
			t.Fatalf("expired %d before the deadline: %v", n, err)
		}
		orders.SetClock(f.svc, func() time.Time { return time.Now().Add(16 * time.Minute) })
		for range 3 {
			if _, err := f.svc.ExpireReservations(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		stored = f.order(t, o.ID)
		c, _ := stored.Charge()
		if stored.Status != shop.OrderCancelled || c.State != shop.PaymentFailed || c.Failure != "expired" || stored.Lines[0].Returned != 2 {
			t.Fatalf("expired order: %+v", stored)
		}
		if n, l := f.stock(t); n != 5 || l != 5 {
			t.Fatalf("stock %d ledger %d after the expiry, want 5", n, l)
		}
		if _, err := f.svc.Pay(context.Background(), f.customer, f.st, o.ID); shop.KindOf(err) != shop.KindConflict {
			t.Fatalf("paying an expired order: %v", err)
		}
	})
}

// TestCheckout_APaymentAfterTheDeadlineIsRefunded: a customer who pays on a page left open after
// the order expired is refunded all of it, automatically; the ledger shows the charge and its
// refund, and the stock stays back on the shelf.
func TestCheckout_APaymentAfterTheDeadlineIsRefunded(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 1)
		o, err := f.checkout(t)
		if err != nil {
			t.Fatal(err)
		}
		orders.SetClock(f.svc, func() time.Time { return time.Now().Add(16 * time.Minute) })
		if n, err := f.svc.ExpireReservations(context.Background()); err != nil || n != 1 {
			t.Fatalf("expired %d: %v", n, err)
		}
		if st := payOn(t, o, "4242424242424242"); st != http.StatusSeeOther { // testpay's session lives an hour
			t.Fatalf("paying late: %d", st)
		}
		ev := f.await(t, payment.EventPaid, o.ID)
		f.await(t, payment.EventRefunded, o.ID)
		got := f.order(t, o.ID)
		if got.Status != shop.OrderCancelled || got.PaidAmount != 450 || got.RefundedAmount != 450 || got.RefundPending != 0 {
			t.Fatalf("late payment: %+v", got)
		}
		if refunded, _ := f.pay.Refunded(ev.Session.PaymentRef); refunded != 450 {
			t.Fatalf("the provider refunded %d", refunded)
		}
		if n, l := f.stock(t); n != 5 || l != 5 {
			t.Fatalf("stock %d ledger %d", n, l)
		}
	})
}

// TestCheckout_EventsOutOfOrderEndRight: a refund's event that comes before the payment's (the
// provider's retries crossed) records the payment first, then the refund; the payment's event,
// coming last, changes nothing.
func TestCheckout_EventsOutOfOrderEndRight(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		f := setUp(t, url, 5, 2)
		o, err := f.checkout(t)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := o.Charge()
		st := payment.SessionState{ID: c.SessionID, StoreID: string(f.st.ID), OrderID: o.ID, Status: payment.StatusPaid, Amount: 900, Currency: "GBP", PaymentRef: "pay_1"}
		refund := payment.Event{ID: "evt_refund", Kind: payment.EventRefunded, Session: st, RefundRef: "ref_1", Amount: 300}
		paid := payment.Event{ID: "evt_paid", Kind: payment.EventPaid, Session: st}
		for _, ev := range []payment.Event{refund, paid, refund, paid} {
			if err := f.svc.ApplyEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		got := f.order(t, o.ID)
		if got.Status != shop.OrderPartiallyRefunded || got.PaidAmount != 900 || got.RefundedAmount != 300 || len(got.Payments) != 2 {
			t.Fatalf("after the events out of order: %+v", got)
		}
	})
}

// TestCheckout_APaymentOfAnotherAmountIsNotTaken: an event saying the session was paid with another
// amount or currency than the order's charge (a provider's mistake, or a session that is not this
// order's) is refused — the provider is told to send it again, and someone must look — and the
// order stays unpaid.
func TestCheckout_APaymentOfAnotherAmountIsNotTaken(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 2)
		o, err := f.checkout(t)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := o.Charge()
		for i, st := range []payment.SessionState{
			{Amount: 1, Currency: "GBP"},
			{Amount: 900, Currency: "EUR"},
		} {
			st.ID, st.StoreID, st.OrderID, st.Status, st.PaymentRef = c.SessionID, string(f.st.ID), o.ID, payment.StatusPaid, "pay_x"
			if err := f.svc.ApplyEvent(context.Background(), payment.Event{ID: fmt.Sprint("evt_", i), Kind: payment.EventPaid, Session: st}); err == nil {
				t.Errorf("paid %d %s for an order of 900 GBP: accepted", st.Amount, st.Currency)
			}
		}
		if got := f.order(t, o.ID); got.Status != shop.OrderPendingPayment || got.PaidAmount != 0 {
			t.Fatalf("after payments of another amount: %+v", got)
		}
	})
}

// TestCheckout_KeyIsRequiredAndReplays: checkout needs an Idempotency-Key; the same key and body
// answer the first order again, with the same page, made once; the same key with another body is
// refused.
func TestCheckout_KeyIsRequiredAndReplays(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 1)
		ctx := context.Background()
		if _, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{}); !errors.Is(err, shop.ErrKeyRequired) {
			t.Fatalf("checkout without a key: %v", err)
		}
		first, replayed, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Idempotency: key("k")})
		if err != nil || replayed {
			t.Fatal(err, replayed)
		}
		again, replayed, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Idempotency: key("k")})
		c1, _ := first.Charge()
		c2, _ := again.Charge()
		if err != nil || !replayed || again.ID != first.ID || c2.RedirectURL != c1.RedirectURL {
			t.Fatalf("retry: %+v replayed %v %v", again, replayed, err)
		}
		other := shop.Idempotency{Key: "k", Hash: "another body"}
		if _, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Idempotency: other}); !errors.Is(err, shop.ErrKeyReused) {
			t.Fatalf("the key with another body: %v", err)
		}
		if n := f.pay.Sessions(); n != 1 {
			t.Fatalf("%d sessions for one key", n)
		}
	})
}

// TestCheckout_ConcurrentRetriesReserveOnce: requests with the same key at the same moment make
// one order, one reservation and one payment session; every one of them answers with that order.
func TestCheckout_ConcurrentRetriesReserveOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 1)
		var wg sync.WaitGroup
		ids := make([]string, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				o, _, err := f.svc.Checkout(context.Background(), f.customer, f.st, orders.CheckoutRequest{Idempotency: key("same")})
				ids[i], errs[i] = o.ID, err
			}(i)
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("request %d: %s %v (first %s)", i, ids[i], errs[i], ids[0])
			}
		}
		if n := f.pay.Sessions(); n != 1 {
			t.Fatalf("%d sessions", n)
		}
		if n, _ := f.stock(t); n != 4 {
			t.Fatalf("stock %d, want 4", n)
		}
	})
}

// TestCheckout_ChangedPriceIsNeverChargedSilently: the price went up between cart and checkout.
// Checkout refuses with a conflict naming the line and its new price, and sends no one to pay; the
// customer then confirms the new total by checking out again (or by sending it as the expected
// total) and is asked for the new price.
func TestCheckout_ChangedPriceIsNeverChargedSilently(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 2)
		ctx := context.Background()
		setPrice := func(price int64) {
			t.Helper()
			if err := f.db.Update(ctx, f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
				p, err := tx.ProductByID(ctx, f.st.ID, f.product)
				if err != nil {
					return err
				}
				p.PriceAmount = price
				return tx.UpdateProduct(ctx, f.st.ID, &p)
			}); err != nil {
				t.Fatal(err)
			}
		}
		setPrice(700)
		_, err := f.checkout(t)
		e := shop.AsError(err)
		if e == nil || e.Kind != shop.KindConflict || e.Code != "price-changed" || !strings.Contains(e.Message, "Earl Grey now costs £7.00 (was £4.50)") ||
			!strings.Contains(e.Message, "£14.00") {
			t.Fatalf("checkout after a price change: %v", err)
		}
		if f.pay.Sessions() != 0 {
			t.Fatal("sent to pay a price the customer did not accept")
		}
		if n, _ := f.stock(t); n != 5 {
			t.Fatalf("stock %d after the refusal", n)
		}
		// A total the client says it showed, and which is not the total, is refused too.
		old := shop.M(900, "GBP")
		if _, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{ExpectedTotal: &old, Idempotency: key("e1")}); shop.KindOf(err) != shop.KindConflict {
			t.Fatalf("expected total of the old price: %v", err)
		}
		// Checking out again confirms the new price, which the cart now holds.
		o, err := f.checkout(t)
		if c, _ := o.Charge(); err != nil || o.TotalAmount != 1400 || c.Amount != 1400 {
			t.Fatalf("confirmed checkout: %+v %v", o, err)
		}
		// With the new total as the expected one, a second price change in between is accepted as shown.
		if err := f.db.Update(ctx, f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			return tx.SetCartItem(ctx, f.st.ID, f.customer.UserID, f.product, 1, 700)
		}); err != nil {
			t.Fatal(err)
		}
		setPrice(800)
		shown := shop.M(800, "GBP")
		if o, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{ExpectedTotal: &shown, Idempotency: key("e2")}); err != nil || o.TotalAmount != 800 {
			t.Fatalf("checkout with the total shown: %+v %v", o, err)
		}
	})
}

// cancelRace is one round of a customer's cancellation racing a clerk's "shipped".
func cancelRace(t *testing.T, f *fixture, o shop.Order) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-start
		_, _, _ = f.svc.Cancel(ctx, f.customer, f.st.ID, o.ID, shop.Idempotency{})
	}()
	go func() {
		defer wg.Done()
		<-start
		_, _, _ = f.svc.SetStatus(ctx, f.clerk, f.st.ID, o.ID, shop.OrderShipped, "", shop.Idempotency{})
	}()
	close(start)
	wg.Wait()
	got := f.order(t, o.ID)
	ref := got.Payments[0].ProviderRef
	refundedAtGateway, _ := f.pay.Refunded(ref)
	switch got.Status {
	case shop.OrderShipped:
		if refundedAtGateway != 0 || got.RefundedAmount != 0 || len(got.Payments) != 1 {
			t.Fatalf("a shipped order was refunded: gateway %d, ledger %+v", refundedAtGateway, got.Payments)
		}
	case shop.OrderCancelled:
		if refundedAtGateway != o.TotalAmount || got.RefundedAmount != o.TotalAmount {
			t.Fatalf("a cancelled order: gateway refunded %d, ledger %d, want %d", refundedAtGateway, got.RefundedAmount, o.TotalAmount)
		}
	default:
		t.Fatalf("status %s after the race", got.Status)
	}
}

// TestCancel_RacingShippedRefundsOnlyACancelledOrder: a cancellation racing "shipped" (on
// PostgreSQL they run at once) refunds only if the order ends cancelled — the status changes first,
// and the gateway is asked after the commit.
func TestCancel_RacingShippedRefundsOnlyACancelledOrder(t *testing.T) {
	f := setUp(t, testenv.PostgresURL(t), 100, 1)
	for range 12 {
		o := f.paid(t)
		cancelRace(t, f, o)
		if err := f.db.Update(context.Background(), f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			return tx.SetCartItem(ctx, f.st.ID, f.customer.UserID, f.product, 1, 450)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n, l := f.stock(t); n != l {
		t.Fatalf("stock %d, ledger %d", n, l)
	}
}

// TestCancel_PaidOrderIsRefundedInTheLedger: cancelling a paid order returns its stock and its
// money, and the ledger and the order say so.
func TestCancel_PaidOrderIsRefundedInTheLedger(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 3)
		o := f.paid(t)
		got, _, err := f.svc.Cancel(context.Background(), f.customer, f.st.ID, o.ID, shop.Idempotency{})
		if err != nil || got.Status != shop.OrderCancelled || got.RefundedAmount != 1350 || got.Refundable() != 0 || got.Lines[0].Returned != 3 {
			t.Fatalf("cancelled: %+v %v", got, err)
		}
		if len(got.Payments) != 2 || got.Payments[1].Kind != shop.PaymentRefund || got.Payments[1].State != shop.PaymentSucceeded {
			t.Fatalf("payments: %+v", got.Payments)
		}
		if refunded, _ := f.pay.Refunded(got.Payments[0].ProviderRef); refunded != 1350 {
			t.Fatalf("the gateway refunded %d", refunded)
		}
		if n, l := f.stock(t); n != 5 || l != 5 {
			t.Fatalf("stock %d ledger %d", n, l)
		}
	})
}

// TestRefund_RestocksOnlyTheUnitsItNames: a refund puts back what it names of each line, never more
// than was sold less what came back before; restocking is independent of the amount.
func TestRefund_RestocksOnlyTheUnitsItNames(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		f := setUp(t, url, 10, 3)
		o := f.paid(t)
		line := o.Lines[0].ID
		refund := func(amount int64, qty int, k string) (shop.Order, error) {
			req := orders.RefundRequest{Amount: &shop.Money{Amount: amount, Currency: "GBP"}, Reason: "damaged", Idempotency: key(k)}
			if qty > 0 {
				req.Restock = []orders.Return{{LineID: line, Quantity: qty}}
			}
			got, _, err := f.svc.Refund(ctx, f.admin, f.st.ID, o.ID, req)
			return got, err
		}
		// £5 with one of the three back: one unit comes back, not three.
		got, err := refund(500, 1, "r1")
		if err != nil || got.Lines[0].Returned != 1 || got.RefundedAmount != 500 || got.Status != shop.OrderPartiallyRefunded {
			t.Fatalf("first refund: %+v %v", got, err)
		}
		if n, l := f.stock(t); n != 8 || l != 8 {
			t.Fatalf("stock %d (ledger %d) after one unit back, want 8", n, l)
		}
		// 1p refunds: two more units may come back, and no more.
		if _, err := refund(1, 2, "r2"); err != nil {
			t.Fatal(err)
		}
		for i, qty := range []int{1, 1, 1} {
			if _, err := refund(1, qty, fmt.Sprintf("r%d", 3+i)); shop.KindOf(err) != shop.KindInvalid {
				t.Fatalf("returning a unit of a line already all returned: %v", err)
			}
		}
		if n, l := f.stock(t); n != 10 || l != 10 {
			t.Fatalf("stock %d (ledger %d) after every unit came back, want 10 (no phantom stock)", n, l)
		}
		// Refunding the rest without restock: refunded, nothing more on the shelf.
		got, _, err = f.svc.Refund(ctx, f.admin, f.st.ID, o.ID, orders.RefundRequest{Reason: "the rest", Idempotency: key("r9")})
		if err != nil || got.Status != shop.OrderRefunded || got.RefundedAmount != 1350 || got.Refundable() != 0 {
			t.Fatalf("the rest: %+v %v", got, err)
		}
		if _, err := refund(1, 0, "r10"); shop.KindOf(err) != shop.KindConflict {
			t.Fatalf("a refund of a fully refunded order: %v", err)
		}
		if n, _ := f.stock(t); n != 10 {
			t.Fatalf("stock %d", n)
		}
	})
}

// TestRefund_HonoursIdempotencyKey: two refunds with one key refund once; the same key with another
// request is refused.
func TestRefund_HonoursIdempotencyKey(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		f := setUp(t, url, 10, 2)
		o := f.paid(t)
		req := orders.RefundRequest{Amount: &shop.Money{Amount: 100, Currency: "GBP"}, Reason: "late", Idempotency: key("once"),
			Restock: []orders.Return{{LineID: o.Lines[0].ID, Quantity: 1}}}
		for i := range 3 {
			got, replayed, err := f.svc.Refund(ctx, f.admin, f.st.ID, o.ID, req)
			if err != nil || replayed != (i > 0) || got.RefundedAmount != 100 || got.Lines[0].Returned != 1 {
				t.Fatalf("refund %d: %+v replayed %v %v", i, got, replayed, err)
			}
		}
		req.Idempotency.Hash = "another request"
		if _, _, err := f.svc.Refund(ctx, f.admin, f.st.ID, o.ID, req); !errors.Is(err, shop.ErrKeyReused) {
			t.Fatalf("the key with another request: %v", err)
		}
		if _, n := f.pay.Refunded(o.Payments[0].ProviderRef); n != 1 {
			t.Fatalf("%d refunds at the provider", n)
		}
	})
}

// TestRefund_ConcurrentRefundsNeverExceedWhatWasPaid: 20 refunds of one order at once, each of a
// sixth of it, with a unit back each: at most six go through, together no more than was paid, and
// no more units come back than were sold.
func TestRefund_ConcurrentRefundsNeverExceedWhatWasPaid(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		f := setUp(t, url, 10, 3) // 1350 paid
		o := f.paid(t)
		var wg sync.WaitGroup
		start := make(chan struct{})
		var mu sync.Mutex
		ok := 0
		for i := range 20 {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				_, _, err := f.svc.Refund(ctx, f.admin, f.st.ID, o.ID, orders.RefundRequest{Amount: &shop.Money{Amount: 225, Currency: "GBP"},
					Reason: "race", Idempotency: key(fmt.Sprint("c", i)), Restock: []orders.Return{{LineID: o.Lines[0].ID, Quantity: 1}}})
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}(i)
		}
		close(start)
		wg.Wait()
		got := f.order(t, o.ID)
		refunded, _ := f.pay.Refunded(got.Payments[0].ProviderRef)
		if got.RefundedAmount > got.PaidAmount || refunded > got.PaidAmount || got.RefundedAmount != refunded || got.Lines[0].Returned > 3 || ok > 3 {
			t.Fatalf("%d refunds went through: ledger %d, gateway %d, paid %d, returned %d", ok, got.RefundedAmount, refunded, got.PaidAmount, got.Lines[0].Returned)
		}
		if n, l := f.stock(t); n != l || n != 7+got.Lines[0].Returned {
			t.Fatalf("stock %d ledger %d returned %d", n, l, got.Lines[0].Returned)
		}
	})
}

// Adding to the cart adds: a quantity below one is refused, even where the sum would be allowed,
// and leaves the cart as it was; adding one more of what it holds sums. The same for a visitor.
func TestCart_AddTakesNothingAway(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 10, 3)
		ctx := context.Background()
		for _, q := range []int{-2, 0} {
			if _, err := f.svc.AddItem(ctx, f.customer, f.st.ID, f.product, q); shop.KindOf(err) != shop.KindInvalid {
				t.Errorf("adding %d: %v, want invalid", q, err)
			}
		}
		c, err := f.svc.Cart(ctx, f.customer, f.st.ID)
		if err != nil || len(c.Lines) != 1 || c.Lines[0].Quantity != 3 {
			t.Fatalf("cart after refused adds: %+v, %v; want 3", c, err)
		}
		if c, err = f.svc.AddItem(ctx, f.customer, f.st.ID, f.product, 1); err != nil || len(c.Lines) != 1 || c.Lines[0].Quantity != 4 {
			t.Fatalf("adding 1 to 3: %+v, %v; want 4", c, err)
		}
		// A visitor's cart, by the same rules: a new visitor gets a token, and adding adds.
		token, err := f.svc.ChangeVisitorCart(ctx, f.st.ID, "", f.product, 3, true, false)
		if err != nil || token == "" {
			t.Fatalf("a visitor's first line: %q, %v", token, err)
		}
		for _, c := range []struct {
			quantity int
			add      bool
			want     int // 0: refused, and the line stays as it was
		}{{-2, true, 0}, {0, true, 0}, {1, true, 4}, {6, true, 10}, {1, true, 0}, {5, false, 5}, {11, false, 0}, {-1, false, 0}} {
			next, err := f.svc.ChangeVisitorCart(ctx, f.st.ID, token, f.product, c.quantity, c.add, false)
			vc, _ := f.svc.VisitorCart(ctx, f.st.ID, token)
			if (c.want == 0) != (shop.KindOf(err) == shop.KindInvalid) || (c.want != 0 && (err != nil || next != token || vc.Lines[0].Quantity != c.want)) {
				t.Errorf("visitor %+v: %v, cart %+v", c, err, vc)
			}
		}
		if _, err := f.svc.ChangeVisitorCart(ctx, f.st.ID, token, f.product, 0, false, true); err != nil {
			t.Fatal(err)
		}
		if vc, _ := f.svc.VisitorCart(ctx, f.st.ID, token); len(vc.Lines) != 0 {
			t.Fatalf("removed line still there: %+v", vc)
		}
	})
}

// A cart holds shop.MaxCartLines products, a customer's as a visitor's: one more is refused with
// a message at the cart, and what it holds stays; more of a product it holds is still taken.
func TestCart_HoldsAtMostMaxCartLines(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 10, 1) // the cart holds one product already
		ctx := context.Background()
		ids := []string{}
		err := f.db.Update(ctx, f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
			for i := range shop.MaxCartLines {
				p := shop.Product{SKU: fmt.Sprintf("P-%d", i), Name: fmt.Sprintf("Tea %d", i), PriceAmount: 100}
				if err := tx.CreateProduct(ctx, f.st.ID, &p); err != nil {
					return err
				}
				if _, err := tx.MoveStock(ctx, f.st.ID, p.ID, 5, "opening stock", "", ""); err != nil {
					return err
				}
				ids = append(ids, p.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		token := ""
		for i, id := range ids {
			_, err := f.svc.SetItem(ctx, f.customer, f.st.ID, id, 1)
			if full := i == len(ids)-1; full != (shop.KindOf(err) == shop.KindInvalid) {
				t.Fatalf("customer's product %d of %d: %v", i+2, len(ids)+1, err)
			}
			next, err := f.svc.ChangeVisitorCart(ctx, f.st.ID, token, id, 1, false, false)
			if full := i == len(ids); full != (shop.KindOf(err) == shop.KindInvalid) {
				t.Fatalf("visitor's product %d of %d: %v", i+1, len(ids), err)
			}
			token = next
		}
		if _, err := f.svc.ChangeVisitorCart(ctx, f.st.ID, token, f.product, 1, false, false); shop.KindOf(err) != shop.KindInvalid {
			t.Fatalf("a visitor's product %d: %v", len(ids)+1, err)
		}
		if n := len(f.cart(t)); n != shop.MaxCartLines {
			t.Fatalf("the customer's cart holds %d lines, want %d", n, shop.MaxCartLines)
		}
		// Signing in with a full visitor's cart into a full cart adds nothing new to it.
		if err := f.svc.MergeVisitorCart(ctx, f.customer, f.st.ID, token); err != nil {
			t.Fatal(err)
		}
		if n := len(f.cart(t)); n != shop.MaxCartLines {
			t.Fatalf("after merging a visitor's cart the customer's holds %d lines, want %d", n, shop.MaxCartLines)
		}
		if _, err := f.svc.AddItem(ctx, f.customer, f.st.ID, f.product, 1); err != nil {
			t.Fatalf("more of a product a full cart holds: %v", err)
		}
	})
}
