package orders_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/kv"
	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// recorder is a gateway that remembers what it charged and refunded; before runs inside Charge.
type recorder struct {
	*payment.Dummy
	mu       sync.Mutex
	charged  []string
	refunded []string
	before   func(ctx context.Context)
}

func newRecorder() *recorder { return &recorder{Dummy: payment.NewDummy()} }

func (r *recorder) Charge(ctx context.Context, c payment.Charge) (string, error) {
	if r.before != nil {
		r.before(ctx)
	}
	ref, err := r.Dummy.Charge(ctx, c)
	if err == nil {
		r.mu.Lock()
		r.charged = append(r.charged, ref)
		r.mu.Unlock()
	}
	return ref, err
}

func (r *recorder) Refund(ctx context.Context, rf payment.Refund) (string, error) {
	ref, err := r.Dummy.Refund(ctx, rf)
	if err == nil {
		r.mu.Lock()
		r.refunded = append(r.refunded, rf.PaymentRef)
		r.mu.Unlock()
	}
	return ref, err
}

func (r *recorder) calls() (charged, refunded int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.charged), len(r.refunded)
}

type fixture struct {
	db       *sqlstore.DB
	st       shop.Store
	customer shop.Principal
	clerk    shop.Principal
	admin    shop.Principal
	product  string
	gw       *recorder
	svc      *orders.Service
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setUp makes a store, a product at 450 with stock units and a verified customer with quantity
// of it in the cart, and the orders service over a recording gateway.
func setUp(t *testing.T, url string, stock, quantity int) fixture {
	t.Helper()
	ctx := context.Background()
	db := testenv.OpenDB(t, url, sqlstore.Options{})
	f := fixture{db: db, st: shop.Store{Slug: "tea", Name: "Tea", Currency: "GBP"}, gw: newRecorder()}
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
	f.svc = orders.New(db, f.gw, nil, kv.NewMemoryCarts(0), quiet)
	return f
}

func (f fixture) stock(t *testing.T) (stock, ledger int) {
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

func (f fixture) cart(t *testing.T) []shop.CartLine {
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

func (f fixture) order(t *testing.T, id string) shop.Order {
	t.Helper()
	o, err := f.svc.Get(context.Background(), f.admin, f.st.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// checkout pays for the customer's cart with a fresh key.
func (f fixture) checkout(t *testing.T, c payment.Card) (shop.Order, error) {
	t.Helper()
	o, _, err := f.svc.Checkout(context.Background(), f.customer, f.st, orders.CheckoutRequest{Card: c, Idempotency: key(shop.NewID())})
	return o, err
}

func key(k string) shop.Idempotency { return shop.Idempotency{Key: k, Hash: "h-" + k} }

var card = payment.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"}

// TestCheckout_NotEnoughStockIsNeverCharged: a cart asking for more than the shelf holds is
// refused before the card is touched, and leaves the stock and the cart as they were.
func TestCheckout_NotEnoughStockIsNeverCharged(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 2, 3)
		if _, err := f.checkout(t, card); shop.KindOf(err) != shop.KindConflict || !strings.Contains(err.Error(), "Earl Grey") {
			t.Fatalf("checkout of 3 with 2 in stock: %v", err)
		}
		if c, r := f.gw.calls(); c != 0 || r != 0 {
			t.Fatalf("charged %d, refunded %d", c, r)
		}
		if n, l := f.stock(t); n != 2 || l != 2 {
			t.Fatalf("stock %d (ledger %d) after a refused checkout", n, l)
		}
		if len(f.cart(t)) != 1 {
			t.Fatal("the cart was lost")
		}
	})
}

// TestCheckout_PaysInTheLedger: a paid order says so in its history and in the payments ledger,
// with the gateway's reference; the cart is empty and the stock taken.
func TestCheckout_PaysInTheLedger(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 3)
		o, err := f.checkout(t, card)
		if err != nil || o.Status != shop.OrderPaid || o.TotalAmount != 1350 || o.PaidAmount != 1350 {
			t.Fatalf("checkout: %+v %v", o, err)
		}
		stored := f.order(t, o.ID)
		c, ok := stored.Charge()
		if !ok || c.State != shop.PaymentSucceeded || c.ProviderRef != f.gw.charged[0] || c.Amount != 1350 || stored.PaidAmount != 1350 ||
			stored.CardLast4 != "4242" || len(stored.Lines) != 1 || stored.Lines[0].ID == "" {
			t.Fatalf("stored order: %+v", stored)
		}
		h := stored.History
		if len(h) != 2 || h[0].To != shop.OrderPendingPayment || h[1].From != shop.OrderPendingPayment || h[1].To != shop.OrderPaid ||
			h[1].Note != "payment "+f.gw.charged[0] || h[1].ActorID != string(f.customer.UserID) {
			t.Fatalf("history: %+v", h)
		}
		for _, e := range h[1:] {
			if !e.From.CanMove(e.To) {
				t.Errorf("checkout made the move %s → %s, which the state machine does not allow", e.From, e.To)
			}
		}
		if n, l := f.stock(t); n != 2 || l != 2 || len(f.cart(t)) != 0 {
			t.Fatalf("stock %d ledger %d cart %v", n, l, f.cart(t))
		}
	})
}

// TestCheckout_TheGatewayIsCalledWithNoWriteTransactionOpen: while the gateway answers, the
// database's writer is free — a write in another store goes through during the charge. On SQLite,
// whose one writer serves every store, a charge inside the write transaction would hold it (here:
// the write below would wait for the charge, which waits for the write, until its deadline).
func TestCheckout_TheGatewayIsCalledWithNoWriteTransactionOpen(t *testing.T) {
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
		if _, err := f.checkout(t, card); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			t.Fatalf("a write in another store during the charge: %v", during)
		}
	})
}

// TestUpdate_RefusesOutsideCallsInsideTheTransaction: the context a write transaction's function
// gets is marked, and the gateway and mail refuse it.
func TestUpdate_RefusesOutsideCallsInsideTheTransaction(t *testing.T) {
	f := setUp(t, testenv.SQLiteURL(t), 5, 1)
	var charge, view error
	err := f.db.Update(context.Background(), f.st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		_, charge = payment.NewDummy().Charge(ctx, payment.Charge{Amount: 1, Currency: "GBP", Card: card})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.db.View(context.Background(), f.st.ID, func(*sqlstore.Tx) error {
		view = shop.OutsideWriteTransaction(context.Background())
		return nil
	})
	if !errors.Is(charge, shop.ErrInWriteTransaction) || view != nil {
		t.Fatalf("charge inside Update: %v; outside: %v", charge, view)
	}
}

// TestCheckout_DeclinedCardTakesNothing: a declined card leaves no money taken, the stock back on
// the shelf (the ledger shows it go and come back), the cart as it was, and the order cancelled
// with its failed payment in the ledger; the same key answers the decline again.
func TestCheckout_DeclinedCardTakesNothing(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 2)
		declined := card
		declined.Number = payment.DeclinedCard
		req := orders.CheckoutRequest{Card: declined, Idempotency: key("d1")}
		o, _, err := f.svc.Checkout(context.Background(), f.customer, f.st, req)
		if !errors.Is(err, payment.ErrDeclined) {
			t.Fatalf("declined card: %v", err)
		}
		if n, l := f.stock(t); n != 5 || l != 5 || len(f.cart(t)) != 1 {
			t.Fatalf("after a decline: stock %d ledger %d cart %v", n, l, f.cart(t))
		}
		stored := f.order(t, o.ID)
		c, _ := stored.Charge()
		if stored.Status != shop.OrderCancelled || c.State != shop.PaymentFailed || c.Failure != "declined" || stored.PaidAmount != 0 {
			t.Fatalf("declined order: %+v", stored)
		}
		if _, replayed, err := f.svc.Checkout(context.Background(), f.customer, f.st, req); !errors.Is(err, payment.ErrDeclined) || !replayed {
			t.Fatalf("the same key again: replayed %v, %v", replayed, err)
		}
		if ch, _ := f.gw.calls(); ch != 0 {
			t.Fatalf("%d charges", ch)
		}
		// Another card, another key: paid.
		if o, err := f.checkout(t, card); err != nil || o.Status != shop.OrderPaid {
			t.Fatalf("second card: %+v %v", o, err)
		}
	})
}

// TestCheckout_KeyIsRequiredAndReplays: checkout needs an Idempotency-Key; the same key and body
// answer the first order again and charge once; the same key with another body is refused.
func TestCheckout_KeyIsRequiredAndReplays(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 1)
		ctx := context.Background()
		if _, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card}); !errors.Is(err, shop.ErrKeyRequired) {
			t.Fatalf("checkout without a key: %v", err)
		}
		first, replayed, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card, Idempotency: key("k")})
		if err != nil || replayed {
			t.Fatal(err, replayed)
		}
		again, replayed, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card, Idempotency: key("k")})
		if err != nil || !replayed || again.ID != first.ID || again.Status != shop.OrderPaid {
			t.Fatalf("retry: %+v replayed %v %v", again, replayed, err)
		}
		other := shop.Idempotency{Key: "k", Hash: "another body"}
		if _, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card, Idempotency: other}); !errors.Is(err, shop.ErrKeyReused) {
			t.Fatalf("the key with another body: %v", err)
		}
		if c, _ := f.gw.calls(); c != 1 {
			t.Fatalf("%d charges for one key", c)
		}
	})
}

// TestCheckout_ConcurrentRetriesPayOnce: requests with the same key at the same moment make one
// order and one charge; every one of them answers with that order.
func TestCheckout_ConcurrentRetriesPayOnce(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 5, 1)
		var wg sync.WaitGroup
		ids := make([]string, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				o, _, err := f.svc.Checkout(context.Background(), f.customer, f.st, orders.CheckoutRequest{Card: card, Idempotency: key("same")})
				ids[i], errs[i] = o.ID, err
			}(i)
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("request %d: %s %v (first %s)", i, ids[i], errs[i], ids[0])
			}
		}
		if c, _ := f.gw.calls(); c != 1 {
			t.Fatalf("%d charges", c)
		}
		if n, _ := f.stock(t); n != 4 {
			t.Fatalf("stock %d, want 4", n)
		}
	})
}

// TestCheckout_ChangedPriceIsNeverChargedSilently: the price went up between cart and checkout.
// Checkout refuses with a conflict naming the line and its new price, and charges nothing; the
// customer then confirms the new total by checking out again (or by sending it as the expected
// total) and pays the new price.
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
		_, err := f.checkout(t, card)
		e := shop.AsError(err)
		if e == nil || e.Kind != shop.KindConflict || e.Code != "price-changed" || !strings.Contains(e.Message, "Earl Grey now costs £7.00 (was £4.50)") ||
			!strings.Contains(e.Message, "£14.00") {
			t.Fatalf("checkout after a price change: %v", err)
		}
		if c, _ := f.gw.calls(); c != 0 {
			t.Fatal("charged at a price the customer did not accept")
		}
		if n, _ := f.stock(t); n != 5 {
			t.Fatalf("stock %d after the refusal", n)
		}
		// A total the client says it showed, and which is not the total, is refused too.
		old := shop.M(900, "GBP")
		if _, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card, ExpectedTotal: &old, Idempotency: key("e1")}); shop.KindOf(err) != shop.KindConflict {
			t.Fatalf("expected total of the old price: %v", err)
		}
		// Checking out again confirms the new price, which the cart now holds.
		o, err := f.checkout(t, card)
		if err != nil || o.TotalAmount != 1400 || o.PaidAmount != 1400 {
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
		if o, _, err := f.svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card, ExpectedTotal: &shown, Idempotency: key("e2")}); err != nil || o.TotalAmount != 800 {
			t.Fatalf("checkout with the total shown: %+v %v", o, err)
		}
	})
}

// cancelRace is one round of a customer's cancellation racing a clerk's "shipped".
func cancelRace(t *testing.T, f fixture, o shop.Order) {
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
	refundedAtGateway, _ := f.gw.Refunded(ref)
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
		o, err := f.checkout(t, card)
		if err != nil {
			t.Fatal(err)
		}
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
		o, err := f.checkout(t, card)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := f.svc.Cancel(context.Background(), f.customer, f.st.ID, o.ID, shop.Idempotency{})
		if err != nil || got.Status != shop.OrderCancelled || got.RefundedAmount != 1350 || got.Refundable() != 0 || got.Lines[0].Returned != 3 {
			t.Fatalf("cancelled: %+v %v", got, err)
		}
		if len(got.Payments) != 2 || got.Payments[1].Kind != shop.PaymentRefund || got.Payments[1].State != shop.PaymentSucceeded {
			t.Fatalf("payments: %+v", got.Payments)
		}
		if refunded, _ := f.gw.Refunded(got.Payments[0].ProviderRef); refunded != 1350 {
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
		o, err := f.checkout(t, card)
		if err != nil {
			t.Fatal(err)
		}
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
		o, err := f.checkout(t, card)
		if err != nil {
			t.Fatal(err)
		}
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
		if _, n := f.gw.calls(); n != 1 {
			t.Fatalf("%d refunds at the gateway", n)
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
		o, err := f.checkout(t, card)
		if err != nil {
			t.Fatal(err)
		}
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
		refunded, _ := f.gw.Refunded(got.Payments[0].ProviderRef)
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
