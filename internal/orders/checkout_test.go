package orders_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"secureshop/internal/orders"
	"secureshop/internal/payment"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// recorder is a gateway that remembers what it charged and refunded; before runs inside Charge.
type recorder struct {
	payment.Dummy
	mu       sync.Mutex
	charged  []string
	refunded []string
	before   func()
}

func (r *recorder) Charge(ctx context.Context, c payment.Charge) (string, error) {
	if r.before != nil {
		r.before()
	}
	ref, err := r.Dummy.Charge(ctx, c)
	if err == nil {
		r.mu.Lock()
		r.charged = append(r.charged, ref)
		r.mu.Unlock()
	}
	return ref, err
}

func (r *recorder) Refund(ctx context.Context, ref string, amount int64) error {
	r.mu.Lock()
	r.refunded = append(r.refunded, ref)
	r.mu.Unlock()
	return r.Dummy.Refund(ctx, ref, amount)
}

type fixture struct {
	db       *sqlstore.DB
	st       shop.Store
	customer shop.Principal
	product  string
}

// setUp makes a store, a product with stock units and a verified customer with quantity of it in the cart.
func setUp(t *testing.T, url string, stock, quantity int) fixture {
	t.Helper()
	ctx := context.Background()
	db := testenv.OpenDB(t, url, sqlstore.Options{})
	f := fixture{db: db, st: shop.Store{Slug: "tea", Name: "Tea", Currency: "GBP"}}
	if err := db.Update(ctx, "", func(tx *sqlstore.Tx) error { return tx.CreateStore(ctx, &f.st) }); err != nil {
		t.Fatal(err)
	}
	u := shop.User{Email: "ann@example.com", Role: shop.RoleCustomer, PasswordHash: "x", Active: true}
	p := sqlstore.Product{SKU: "EG-1", Name: "Earl Grey", PriceAmount: 450, Stock: stock}
	err := db.Update(ctx, f.st.ID, func(tx *sqlstore.Tx) error {
		if err := tx.CreateUser(ctx, f.st.ID, &u); err != nil {
			return err
		}
		if err := tx.MarkEmailVerified(ctx, f.st.ID, u.ID); err != nil {
			return err
		}
		if err := tx.CreateProduct(ctx, f.st.ID, &p); err != nil {
			return err
		}
		return tx.SetCartItem(ctx, f.st.ID, u.ID, p.ID, quantity)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.customer = shop.Principal{UserID: u.ID, StoreID: f.st.ID, Role: shop.RoleCustomer}
	f.product = p.ID
	return f
}

func (f fixture) stock(t *testing.T) int {
	t.Helper()
	var n int
	err := f.db.View(context.Background(), f.st.ID, func(tx *sqlstore.Tx) error {
		p, err := tx.ProductByID(context.Background(), f.st.ID, f.product)
		n = p.Stock
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var card = payment.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"}

// TestCheckout_NotEnoughStockIsNeverCharged: a cart asking for more than the shelf holds is
// refused before the card is touched, and leaves the stock and the cart as they were.
func TestCheckout_NotEnoughStockIsNeverCharged(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 2, 3)
		gw := &recorder{}
		svc := orders.New(f.db, gw, nil, func(s string) string { return s }, slog.New(slog.NewTextHandler(io.Discard, nil)))
		_, _, err := svc.Checkout(context.Background(), f.customer, f.st, orders.CheckoutRequest{Card: card})
		if shop.KindOf(err) != shop.KindConflict {
			t.Fatalf("checkout of 3 with 2 in stock: %v", err)
		}
		if len(gw.charged) != 0 || len(gw.refunded) != 0 {
			t.Fatalf("charged %v, refunded %v", gw.charged, gw.refunded)
		}
		if n := f.stock(t); n != 2 {
			t.Fatalf("stock %d after a refused checkout", n)
		}
		// The cart is intact: with enough stock the same cart goes through, charged once.
		if err := f.db.Update(context.Background(), f.st.ID, func(tx *sqlstore.Tx) error {
			_, err := tx.MoveStock(context.Background(), f.st.ID, f.product, 1, "delivery", "", "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A second line, so that the order has several.
		ctx := context.Background()
		mug := sqlstore.Product{SKU: "MUG", Name: "Mug", PriceAmount: 800, Stock: 5}
		if err := f.db.Update(ctx, f.st.ID, func(tx *sqlstore.Tx) error {
			if err := tx.CreateProduct(ctx, f.st.ID, &mug); err != nil {
				return err
			}
			return tx.SetCartItem(ctx, f.st.ID, f.customer.UserID, mug.ID, 2)
		}); err != nil {
			t.Fatal(err)
		}
		o, _, err := svc.Checkout(ctx, f.customer, f.st, orders.CheckoutRequest{Card: card})
		if err != nil || o.Status != orders.Paid || o.TotalAmount != 1350+1600 {
			t.Fatalf("checkout with stock: %+v %v", o, err)
		}
		if len(gw.charged) != 1 || len(gw.refunded) != 0 || f.stock(t) != 0 {
			t.Fatalf("charged %v, refunded %v, stock %d", gw.charged, gw.refunded, f.stock(t))
		}
		// What was written reads back: both lines, and the history from pending payment to paid.
		var stored sqlstore.Order
		if err := f.db.View(ctx, f.st.ID, func(tx *sqlstore.Tx) error {
			var err error
			stored, err = tx.OrderByID(ctx, f.st.ID, o.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if stored.Status != orders.Paid || stored.PaymentRef != gw.charged[0] || stored.CardLast4 != "4242" || len(stored.Lines) != 2 {
			t.Fatalf("stored order: %+v", stored)
		}
		h := stored.History
		if len(h) != 2 || h[0].From != "" || h[0].To != orders.PendingPayment || h[1].From != orders.PendingPayment ||
			h[1].To != orders.Paid || h[1].Note != "payment "+gw.charged[0] || h[1].ActorID != string(f.customer.UserID) {
			t.Fatalf("history: %+v", h)
		}
		// Checkout writes its moves itself; they must be ones the state machine allows.
		for _, e := range h[1:] {
			if !orders.CanMove(e.From, e.To) {
				t.Errorf("checkout made the move %s → %s, which the order state machine does not allow", e.From, e.To)
			}
		}
	})
}

// TestCheckout_StockTakenWhileChargingIsRefunded: on PostgreSQL another buyer can take the last
// units between the cart's stock check and the stock update (SQLite has one writer, so there the
// check is final). The charge is then refunded and no order is left.
func TestCheckout_StockTakenWhileChargingIsRefunded(t *testing.T) {
	f := setUp(t, testenv.PostgresURL(t), 1, 1)
	gw := &recorder{}
	gw.before = func() {
		gw.before = nil
		err := f.db.Update(context.Background(), f.st.ID, func(tx *sqlstore.Tx) error {
			_, err := tx.MoveStock(context.Background(), f.st.ID, f.product, -1, "sold elsewhere", "", "")
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	svc := orders.New(f.db, gw, nil, func(s string) string { return s }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, _, err := svc.Checkout(context.Background(), f.customer, f.st, orders.CheckoutRequest{Card: card})
	if shop.KindOf(err) != shop.KindConflict || !strings.Contains(err.Error(), "Earl Grey") {
		t.Fatalf("checkout after the last unit went: %v, want a conflict naming the product", err)
	}
	if len(gw.charged) != 1 || len(gw.refunded) != 1 || gw.refunded[0] != gw.charged[0] {
		t.Fatalf("charged %v, refunded %v", gw.charged, gw.refunded)
	}
	var n, cart int
	err = f.db.View(context.Background(), f.st.ID, func(tx *sqlstore.Tx) error {
		page, err := tx.ListOrders(context.Background(), f.st.ID, sqlstore.OrderFilter{Limit: 10})
		n = len(page.Orders)
		if err != nil {
			return err
		}
		lines, err := tx.CartLines(context.Background(), f.st.ID, f.customer.UserID)
		cart = len(lines)
		return err
	})
	if err != nil || n != 0 || f.stock(t) != 0 || cart != 1 {
		t.Fatalf("orders %d (%v), stock %d, cart lines %d; want 0, 0, 1", n, err, f.stock(t), cart)
	}
}

// Adding to the cart adds: a quantity below one is refused, even where the sum would be allowed,
// and leaves the cart as it was; adding one more of what it holds sums. The same for a visitor.
func TestCart_AddTakesNothingAway(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		f := setUp(t, url, 10, 3)
		svc := orders.New(f.db, &recorder{}, nil, func(s string) string { return s }, slog.New(slog.NewTextHandler(io.Discard, nil)))
		ctx := context.Background()
		for _, q := range []int{-2, 0} {
			if _, err := svc.AddItem(ctx, f.customer, f.st.ID, f.product, q); shop.KindOf(err) != shop.KindInvalid {
				t.Errorf("adding %d: %v, want invalid", q, err)
			}
		}
		c, err := svc.Cart(ctx, f.customer, f.st.ID)
		if err != nil || len(c.Lines) != 1 || c.Lines[0].Quantity != 3 {
			t.Fatalf("cart after refused adds: %+v, %v; want 3", c, err)
		}
		if c, err = svc.AddItem(ctx, f.customer, f.st.ID, f.product, 1); err != nil || len(c.Lines) != 1 || c.Lines[0].Quantity != 4 {
			t.Fatalf("adding 1 to 3: %+v, %v; want 4", c, err)
		}
		// A visitor's cart, kept in their session, by the same rules.
		for _, c := range []struct {
			quantity int
			add      bool
			want     int // 0: refused
		}{{-2, true, 0}, {0, true, 0}, {1, true, 4}, {7, true, 10}, {8, true, 0}, {5, false, 5}, {11, false, 0}, {-1, false, 0}} {
			got, err := svc.VisitorLine(ctx, f.st.ID, f.product, 3, c.quantity, c.add)
			if (c.want == 0) != (shop.KindOf(err) == shop.KindInvalid) || (c.want != 0 && (err != nil || got != c.want)) {
				t.Errorf("visitor with 3, %+v: %d, %v", c, got, err)
			}
		}
	})
}
