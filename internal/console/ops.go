package console

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"secureshop/internal/shop"
)

// Money is an amount in minor units of a currency, written as the shop writes it.
type Money = shop.Money

// Product is a catalogue entry.
type Product struct {
	ID       string `json:"id"`
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Price    Money  `json:"price"`
	Stock    int    `json:"stock"`
	Category string `json:"category"`
}

// Cart is the customer's cart.
type Cart struct {
	Items []struct {
		ProductID string `json:"product_id"`
		Name      string `json:"name"`
		Quantity  int    `json:"quantity"`
		UnitPrice Money  `json:"unit_price"`
		LineTotal Money  `json:"line_total"`
		Available bool   `json:"available"`
	} `json:"items"`
	Total Money `json:"total"`
}

// Order is an order with its lines and history.
type Order struct {
	ID               string `json:"id"`
	Number           int64  `json:"number"`
	Status           string `json:"status"`
	Total            Money  `json:"total"`
	Tax              Money  `json:"tax"`
	PricesIncludeTax bool   `json:"prices_include_tax"`
	Shipping         *struct {
		Method         string `json:"method"`
		Price          Money  `json:"price"`
		Carrier        string `json:"carrier"`
		TrackingNumber string `json:"tracking_number"`
	} `json:"shipping"`
	ShippingAddress *shop.Address `json:"shipping_address"`
	Paid            Money         `json:"paid"`
	Refunded        Money         `json:"refunded"`
	RefundPending   Money         `json:"refund_pending"`
	Payment         struct {
		State       string  `json:"state"`
		RedirectURL *string `json:"redirect_url"`
	} `json:"payment"`
	Items []struct {
		ID         string `json:"id"`
		SKU        string `json:"sku"`
		Name       string `json:"name"`
		Quantity   int    `json:"quantity"`
		LineTotal  Money  `json:"line_total"`
		Returned   int    `json:"returned"`
		Returnable int    `json:"returnable"`
	} `json:"items"`
	History []struct {
		From string    `json:"from"`
		To   string    `json:"to"`
		Note string    `json:"note"`
		At   time.Time `json:"at"`
	} `json:"history"`
	CreatedAt time.Time `json:"created_at"`
}

// Store is a store of the platform.
type Store struct {
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
	ID       string `json:"id"`
}

// User is a member of the store.
type User struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Active bool   `json:"active"`
}

// Report is the sales report.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval string    `json:"interval"`
	Currency string    `json:"currency"`
	Buckets  []Bucket  `json:"buckets"`
	Total    Bucket    `json:"total"`
}

// Bucket is one period of the report.
type Bucket struct {
	Start   time.Time `json:"start"`
	Orders  int       `json:"orders"`
	Gross   Money     `json:"gross"`
	Refunds Money     `json:"refunds"`
	Net     Money     `json:"net"`
}

// Event is an audit log entry.
type Event struct {
	Seq        int64             `json:"seq"`
	OccurredAt time.Time         `json:"occurred_at"`
	ActorRole  string            `json:"actor_role"`
	ActorID    string            `json:"actor_id"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Detail     map[string]string `json:"detail"`
}

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
	first      int    // row number of the first item, when this is a later page
}

// Param kinds.
const (
	text     = iota // free text, required
	optional        // free text, may be empty
	number          // a whole number
	secret          // not echoed
	amount          // money, e.g. 12.50; empty when optional
	product         // a product: its number in the last listing, or its id
	order           // an order: its number in the last listing, or its id
	user            // a user: its number in the last listing, or its id
	method          // a delivery method: its number in the list shown, or its id
)

type param struct {
	name   string // the subcommand's flag
	prompt string
	kind   int
	def    string // shown and used when the answer is empty
}

// choices show, for the kinds that have them, what can be answered — before the question, from
// the answers so far.
var choices = map[int]func(ctx context.Context, c *Client, v map[string]string, w io.Writer) error{method: listMethods}

// askedWhen are the parameters asked only when the answers so far call for them: how a parcel
// left goes with "shipped" alone.
var askedWhen = map[string]func(v map[string]string) bool{
	"carrier":         func(v map[string]string) bool { return strings.TrimSpace(v["status"]) == "shipped" },
	"tracking_number": func(v map[string]string) bool { return strings.TrimSpace(v["status"]) == "shipped" },
}

// op is one thing a role can do, offered as a menu entry and as a subcommand.
type op struct {
	name   string
	title  string
	roles  string // the roles that may (anyone: "")
	params []param
	run    func(ctx context.Context, c *Client, v map[string]string) (any, error)
	show   func(w io.Writer, result any)
}

func (o op) allowed(role string) bool {
	if role == "operator" { // the platform has no catalogue: only what names operators
		return strings.Contains(" "+o.roles+" ", " operator ")
	}
	return o.roles == "" || strings.Contains(" "+o.roles+" ", " "+role+" ")
}

const staff = "admin clerk"

var ops = []op{
	{name: "products", title: "Browse products", params: []param{{"cursor", "", optional, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var l list[Product]
			err := c.do(ctx, "GET", c.storePath("/products?limit=20&cursor="+url.QueryEscape(v["cursor"])), nil, &l)
			return l, err
		}, show: showProducts},
	{name: "search", title: "Search products", params: []param{{"q", "Search for", text, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var l list[Product]
			err := c.do(ctx, "GET", c.storePath("/products?limit=20&q="+url.QueryEscape(v["q"])), nil, &l)
			return l, err
		}, show: showProducts},
	{name: "cart", title: "My cart", roles: "customer",
		run: func(ctx context.Context, c *Client, _ map[string]string) (any, error) {
			var cart Cart
			err := c.do(ctx, "GET", c.storePath("/cart"), nil, &cart)
			return cart, err
		}, show: showCart},
	{name: "add", title: "Add to cart", roles: "customer",
		params: []param{{"product", "Product (number or id)", product, ""}, {"quantity", "Quantity", number, "1"}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			q, _ := strconv.Atoi(v["quantity"])
			var cart Cart
			err := c.do(ctx, "PUT", c.storePath("/cart/items/"+url.PathEscape(v["product"])), map[string]int{"quantity": q}, &cart)
			return cart, err
		}, show: showCart},
	{name: "remove", title: "Remove from cart", roles: "customer", params: []param{{"product", "Product id", product, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var cart Cart
			err := c.do(ctx, "DELETE", c.storePath("/cart/items/"+url.PathEscape(v["product"])), nil, &cart)
			return cart, err
		}, show: showCart},
	{name: "checkout", title: "Check out", roles: "customer", params: []param{
		{"name", "Deliver to (full name)", text, ""}, {"line1", "Address", text, ""},
		{"line2", "Flat, floor, company (optional)", optional, ""}, {"city", "Town or city", text, ""},
		{"region", "County, state or province (optional)", optional, ""}, {"postcode", "Postcode", optional, ""},
		{"country", "Country (ISO code: GB, DE, US…)", text, "GB"},
		{"method", "Delivery method (its number)", method, "1"}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			body, err := destination(ctx, c, v)
			if err != nil {
				return nil, err
			}
			return checkout(ctx, c, body)
		}, show: showOrder},
	{name: "orders", title: "Orders", roles: "customer admin clerk", params: []param{{"status", "Status filter (empty for all)", optional, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var l list[Order]
			err := c.do(ctx, "GET", c.storePath("/orders?limit=50&status="+url.QueryEscape(v["status"])), nil, &l)
			return l, err
		}, show: showOrders},
	{name: "order", title: "Show an order", roles: "customer admin clerk", params: []param{{"order", "Order (number or id)", order, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var o Order
			err := c.do(ctx, "GET", c.storePath("/orders/"+url.PathEscape(v["order"])), nil, &o)
			return o, err
		}, show: showOrder},
	{name: "cancel", title: "Cancel an order", roles: "customer", params: []param{{"order", "Order (number or id)", order, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var o Order
			err := c.do(ctx, "POST", c.storePath("/orders/"+url.PathEscape(v["order"])+"/cancel"), nil, &o, "Idempotency-Key", newKey())
			return o, err
		}, show: showOrder},
	{name: "inventory", title: "Inventory", roles: staff,
		run:  func(ctx context.Context, c *Client, _ map[string]string) (any, error) { return allProducts(ctx, c, -1) },
		show: showProducts},
	{name: "low-stock", title: "Low stock", roles: staff, params: []param{{"threshold", "Show products with at most this many in stock", number, "5"}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			n, _ := strconv.Atoi(v["threshold"])
			return allProducts(ctx, c, n)
		}, show: showProducts},
	{name: "adjust", title: "Adjust stock", roles: staff,
		params: []param{{"product", "Product (number or id)", product, ""}, {"delta", "Change (e.g. 12 or -3)", number, ""}, {"reason", "Reason", text, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			d, _ := strconv.Atoi(v["delta"])
			var p Product
			err := c.do(ctx, "POST", c.storePath("/products/"+url.PathEscape(v["product"])+"/stock-adjustments"), map[string]any{"delta": d, "reason": v["reason"]}, &p,
				"Idempotency-Key", newKey())
			return p, err
		}, show: func(w io.Writer, r any) {
			p := r.(Product)
			_, _ = fmt.Fprintf(w, "%s now has %d in stock.\n", p.Name, p.Stock)
		}},
	{name: "move", title: "Move an order on", roles: staff,
		params: []param{{"order", "Order (number or id)", order, ""}, {"status", "New status (processing, shipped, delivered, cancelled)", text, ""},
			{"carrier", "Carrier (optional)", optional, ""}, {"tracking_number", "Tracking number (optional)", optional, ""}, {"note", "Note", optional, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var o Order
			body := map[string]string{"status": v["status"], "note": v["note"]}
			if strings.TrimSpace(v["status"]) == "shipped" {
				body["carrier"], body["tracking_number"] = strings.TrimSpace(v["carrier"]), strings.TrimSpace(v["tracking_number"])
			}
			err := c.do(ctx, "POST", c.storePath("/orders/"+url.PathEscape(v["order"])+"/status"), body, &o, "Idempotency-Key", newKey())
			return o, err
		}, show: showOrder},
	{name: "refund", title: "Refund an order", roles: "admin",
		params: []param{{"order", "Order (number or id)", order, ""}, {"amount", "Amount (e.g. 12.50; empty for the rest)", amount, ""},
			{"reason", "Reason", text, ""}, {"restock", "Back in stock: line and units, e.g. 1x2 for two of line 1, \"all\" for every unit not yet back, empty for none", optional, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var o Order // the order's currency and lines, to read the answers in
			if err := c.do(ctx, "GET", c.storePath("/orders/"+url.PathEscape(v["order"])), nil, &o); err != nil {
				return nil, err
			}
			body := map[string]any{"reason": v["reason"]}
			if v["amount"] != "" { // without one, the shop refunds what is left
				minor, ok := shop.ParseAmount(o.Total.Currency, v["amount"])
				if !ok {
					return nil, fmt.Errorf("%s is not an amount of %s", v["amount"], o.Total.Currency)
				}
				body["amount"] = Money{Amount: minor, Currency: o.Total.Currency}
			}
			restock, err := restockLines(o, v["restock"])
			if err != nil {
				return nil, err
			}
			body["restock"] = restock
			err = c.do(ctx, "POST", c.storePath("/orders/"+url.PathEscape(v["order"])+"/refunds"), body, &o, "Idempotency-Key", newKey())
			return o, err
		}, show: showOrder},
	{name: "stores", title: "Stores", roles: "operator",
		run: func(ctx context.Context, c *Client, _ map[string]string) (any, error) {
			var l list[Store]
			err := c.do(ctx, "GET", "/api/v1/platform/stores", nil, &l)
			return l, err
		}, show: showStores},
	{name: "store-create", title: "Create a store", roles: "operator",
		params: []param{{"slug", "Slug (e.g. acme)", text, ""}, {"name", "Name", text, ""}, {"currency", "Currency (ISO 4217)", text, "GBP"}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var st Store
			err := c.do(ctx, "POST", "/api/v1/platform/stores", map[string]string{"slug": v["slug"], "name": v["name"], "currency": v["currency"]}, &st)
			return st, err
		}, show: showStore},
	{name: "store-suspend", title: "Suspend a store", roles: "operator", params: []param{{"slug", "Slug", text, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var st Store
			err := c.do(ctx, "POST", "/api/v1/platform/stores/"+url.PathEscape(v["slug"])+"/suspend", nil, &st)
			return st, err
		}, show: showStore},
	{name: "store-resume", title: "Resume a store", roles: "operator", params: []param{{"slug", "Slug", text, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var st Store
			err := c.do(ctx, "POST", "/api/v1/platform/stores/"+url.PathEscape(v["slug"])+"/resume", nil, &st)
			return st, err
		}, show: showStore},
	{name: "users", title: "Users", roles: "admin",
		run: func(ctx context.Context, c *Client, _ map[string]string) (any, error) {
			var l list[User]
			err := c.do(ctx, "GET", c.storePath("/users?limit=100"), nil, &l)
			return l, err
		}, show: showUsers},
	{name: "user-create", title: "Create a user", roles: "admin",
		params: []param{{"new-email", "E-mail", text, ""}, {"name", "Name", optional, ""}, {"role", "Role (admin, clerk, customer)", text, ""}, {"password", "Password", secret, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var u User
			err := c.do(ctx, "POST", c.storePath("/users"), map[string]string{"email": v["new-email"], "name": v["name"], "role": v["role"], "password": v["password"]}, &u)
			return u, err
		}, show: showUser},
	{name: "user-role", title: "Change a user's role", roles: "admin",
		params: []param{{"user", "User (number or id)", user, ""}, {"role", "New role (admin, clerk, customer)", text, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var u User
			err := c.do(ctx, "PATCH", c.storePath("/users/"+url.PathEscape(v["user"])), map[string]string{"role": v["role"]}, &u)
			return u, err
		}, show: showUser},
	{name: "user-deactivate", title: "Deactivate a user", roles: "admin", params: []param{{"user", "User (number or id)", user, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var u User
			err := c.do(ctx, "PATCH", c.storePath("/users/"+url.PathEscape(v["user"])), map[string]bool{"active": false}, &u)
			return u, err
		}, show: showUser},
	{name: "user-activate", title: "Reactivate a user", roles: "admin", params: []param{{"user", "User (number or id)", user, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var u User
			err := c.do(ctx, "PATCH", c.storePath("/users/"+url.PathEscape(v["user"])), map[string]bool{"active": true}, &u)
			return u, err
		}, show: showUser},
	{name: "user-unlock", title: "Unlock a user", roles: "admin", params: []param{{"user", "User (number or id)", user, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			return done("Unlocked."), c.do(ctx, "POST", c.storePath("/users/"+url.PathEscape(v["user"])+"/unlock"), nil, nil)
		}, show: showDone},
	{name: "user-end-sessions", title: "End a user's sessions", roles: "admin", params: []param{{"user", "User (number or id)", user, ""}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			return done("Every session of that user has ended."), c.do(ctx, "POST", c.storePath("/users/"+url.PathEscape(v["user"])+"/revoke-sessions"), nil, nil)
		}, show: showDone},
	{name: "report", title: "Sales report", roles: "admin",
		params: []param{{"from", "From (YYYY-MM-DD, empty for 30 days ago)", optional, ""}, {"to", "To (YYYY-MM-DD, empty for now)", optional, ""}, {"interval", "Interval (day, week, month)", text, "day"}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			q := url.Values{"interval": {v["interval"]}}
			for _, k := range []string{"from", "to"} {
				if v[k] != "" {
					q.Set(k, v[k])
				}
			}
			var r Report
			err := c.do(ctx, "GET", c.storePath("/reports/sales?"+q.Encode()), nil, &r)
			return r, err
		}, show: showReport},
	{name: "audit", title: "Audit log", roles: "admin", params: []param{{"limit", "How many of the latest events", number, "20"}},
		run: func(ctx context.Context, c *Client, v map[string]string) (any, error) {
			var l list[Event]
			err := c.do(ctx, "GET", c.storePath("/audit-events?limit="+url.QueryEscape(v["limit"])), nil, &l)
			return l, err
		}, show: showEvents},
}

// checkoutAttempts is how often one checkout is sent when the shop does not answer; retryPause
// is the wait between attempts.
var (
	checkoutAttempts = 3
	retryPause       = time.Second
)

// checkout pays for the cart. One Idempotency-Key serves every attempt of the same checkout, so
// when an answer is lost on the way the retry gets the order that was made (the shop replays it)
// instead of paying twice. When no attempt is answered the order may or may not exist, and the
// error says so.
func checkout(ctx context.Context, c *Client, body any) (Order, error) {
	key := newKey()
	var o Order
	var err error
	for attempt := 1; attempt <= checkoutAttempts; attempt++ {
		err = c.do(ctx, "POST", c.storePath("/checkout"), body, &o, "Idempotency-Key", key)
		var u *Unreachable
		if !errors.As(err, &u) {
			return o, err
		}
		if attempt < checkoutAttempts {
			select {
			case <-ctx.Done():
				return o, ctx.Err()
			case <-time.After(retryPause):
			}
		}
	}
	return o, fmt.Errorf("%w\nThe shop did not answer the checkout, so the order may or may not have been made: look under Orders before you pay again", err)
}

// quote is what the cart costs sent to an address, with the delivery methods that take it there.
type quote struct {
	Ships   bool `json:"ships"`
	Options []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Price    Money  `json:"price"`
		Estimate string `json:"estimate"`
	} `json:"shipping_options"`
	Total Money `json:"total"`
}

func address(v map[string]string) map[string]string {
	a := map[string]string{}
	for _, f := range []string{"name", "line1", "line2", "city", "region", "postcode", "country"} {
		if s := strings.TrimSpace(v[f]); s != "" {
			a[f] = s
		}
	}
	if c, ok := a["country"]; ok {
		a["country"] = strings.ToUpper(c)
	}
	return a
}

// priced asks the shop what the cart costs sent to the address in v, by the method when one is
// named.
func priced(ctx context.Context, c *Client, v map[string]string, methodID string) (quote, error) {
	var q quote
	body := map[string]any{"shipping_address": address(v)}
	if methodID != "" {
		body["shipping_method_id"] = methodID
	}
	err := c.do(ctx, "POST", c.storePath("/checkout/quote"), body, &q)
	return q, err
}

// listMethods shows the delivery methods that take the cart to the address answered so far, with
// what each costs and the total it makes.
func listMethods(ctx context.Context, c *Client, v map[string]string, w io.Writer) error {
	q, err := priced(ctx, c, v, "")
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintln(w, "Delivery:")
	for i, o := range q.Options {
		withIt, err := priced(ctx, c, v, o.ID)
		if err != nil {
			return err
		}
		price := o.Price.String()
		if o.Price.Amount == 0 {
			price = "free"
		}
		_, _ = fmt.Fprintf(w, "  %d. %s (%s): %s, total %s\n", i+1, o.Name, o.Estimate, price, withIt.Total)
	}
	return nil
}

// destination is the checkout's body for the address and the method in v (a number from the
// list of methods, or an id), with the total the quote for it came to as the expected total: the
// customer is charged what they were shown.
func destination(ctx context.Context, c *Client, v map[string]string) (map[string]any, error) {
	q, err := priced(ctx, c, v, "")
	if err != nil {
		return nil, err
	}
	body := map[string]any{"shipping_address": address(v)}
	if !q.Ships {
		body = map[string]any{}
	} else {
		id := strings.TrimSpace(v["method"])
		if n, err := strconv.Atoi(id); err == nil {
			if n < 1 || n > len(q.Options) {
				return nil, fmt.Errorf("there is no delivery method %d; choose from 1 to %d", n, len(q.Options))
			}
			id = q.Options[n-1].ID
		}
		body["shipping_method_id"] = id
		if q, err = priced(ctx, c, v, id); err != nil {
			return nil, err
		}
	}
	body["expected_total"] = q.Total
	return body, nil
}

// allProducts lists the whole catalogue, page by page; with max ≥ 0 only products with at most
// max in stock.
func allProducts(ctx context.Context, c *Client, max int) (list[Product], error) {
	var out list[Product]
	cursor := ""
	for page := 0; page < 100; page++ {
		var l list[Product]
		if err := c.do(ctx, "GET", c.storePath("/products?limit=100&cursor="+url.QueryEscape(cursor)), nil, &l); err != nil {
			return out, err
		}
		for _, p := range l.Items {
			if max < 0 || p.Stock <= max {
				out.Items = append(out.Items, p)
			}
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	return out, nil
}

type done string

func showDone(w io.Writer, r any) { _, _ = fmt.Fprintln(w, string(r.(done))) }

func table(w io.Writer, head string, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, head)
	rows(tw)
	_ = tw.Flush()
}

func showProducts(w io.Writer, r any) {
	l := r.(list[Product])
	if len(l.Items) == 0 {
		_, _ = fmt.Fprintln(w, "No products.")
		return
	}
	table(w, "#\tNAME\tPRICE\tSTOCK\tID", func(tw io.Writer) {
		for i, p := range l.Items {
			_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", l.first+i+1, p.Name, p.Price, p.Stock, p.ID)
		}
	})
}

func showCart(w io.Writer, r any) {
	c := r.(Cart)
	if len(c.Items) == 0 {
		_, _ = fmt.Fprintln(w, "Your cart is empty.")
		return
	}
	table(w, "QTY\tNAME\tEACH\tLINE", func(tw io.Writer) {
		for _, it := range c.Items {
			note := ""
			if !it.Available {
				note = "  (no longer available)"
			}
			_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s%s\n", it.Quantity, it.Name, it.UnitPrice, it.LineTotal, note)
		}
	})
	_, _ = fmt.Fprintf(w, "Total: %s\n", c.Total)
}

func showOrders(w io.Writer, r any) {
	l := r.(list[Order])
	if len(l.Items) == 0 {
		_, _ = fmt.Fprintln(w, "No orders.")
		return
	}
	table(w, "#\tPLACED\tSTATUS\tTOTAL\tID", func(tw io.Writer) {
		for i, o := range l.Items {
			_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, o.CreatedAt.Local().Format("2006-01-02 15:04"), o.Status, o.Total, o.ID)
		}
	})
}

func showOrder(w io.Writer, r any) {
	o := r.(Order)
	_, _ = fmt.Fprintf(w, "Order #%d: %s, total %s", o.Number, o.Status, o.Total)
	if o.Tax.Amount != 0 {
		if o.PricesIncludeTax {
			_, _ = fmt.Fprintf(w, " including tax %s", o.Tax)
		} else {
			_, _ = fmt.Fprintf(w, " with tax %s", o.Tax)
		}
	}
	if o.Paid.Amount != 0 {
		_, _ = fmt.Fprintf(w, ", paid %s", o.Paid)
	}
	if o.Refunded.Amount != 0 {
		_, _ = fmt.Fprintf(w, ", refunded %s", o.Refunded)
	}
	if o.RefundPending.Amount != 0 {
		_, _ = fmt.Fprintf(w, ", refund pending %s", o.RefundPending)
	}
	_, _ = fmt.Fprintf(w, "\n  id %s\n", o.ID)
	if o.ShippingAddress != nil {
		_, _ = fmt.Fprintf(w, "  To %s\n", o.ShippingAddress.OneLine())
	}
	if s := o.Shipping; s != nil {
		_, _ = fmt.Fprintf(w, "  Delivery: %s, %s", s.Method, s.Price)
		if s.TrackingNumber != "" {
			_, _ = fmt.Fprintf(w, "; %s tracking number %s", s.Carrier, s.TrackingNumber)
		}
		_, _ = fmt.Fprintln(w)
	}
	if o.Payment.RedirectURL != nil {
		_, _ = fmt.Fprintf(w, "  Pay in your browser: %s\n", *o.Payment.RedirectURL)
	}
	for i, it := range o.Items {
		_, _ = fmt.Fprintf(w, "  %d. %d × %s  %s", i+1, it.Quantity, it.Name, it.LineTotal)
		if it.Returned > 0 {
			_, _ = fmt.Fprintf(w, "  (%d back in stock)", it.Returned)
		}
		_, _ = fmt.Fprintln(w)
	}
	for _, h := range o.History {
		_, _ = fmt.Fprintf(w, "  %s  %s → %s  %s\n", h.At.Local().Format("2006-01-02 15:04"), h.From, h.To, h.Note)
	}
}

func showUsers(w io.Writer, r any) {
	l := r.(list[User])
	table(w, "#\tEMAIL\tROLE\tACTIVE\tID", func(tw io.Writer) {
		for i, u := range l.Items {
			_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%v\t%s\n", i+1, u.Email, u.Role, u.Active, u.ID)
		}
	})
}

func showUser(w io.Writer, r any) {
	u := r.(User)
	state := "active"
	if !u.Active {
		state = "deactivated"
	}
	_, _ = fmt.Fprintf(w, "%s (%s): %s, %s\n", u.Email, u.ID, u.Role, state)
}

func showReport(w io.Writer, r any) {
	rep := r.(Report)
	_, _ = fmt.Fprintf(w, "Sales from %s to %s, by %s\n", rep.From.Format("2006-01-02"), rep.To.Format("2006-01-02"), rep.Interval)
	table(w, "PERIOD\tORDERS\tGROSS\tREFUNDS\tNET", func(tw io.Writer) {
		for _, b := range rep.Buckets {
			if b.Orders == 0 && b.Refunds.Amount == 0 {
				continue
			}
			_, _ = fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", b.Start.Format("2006-01-02"), b.Orders, b.Gross, b.Refunds, b.Net)
		}
		t := rep.Total
		_, _ = fmt.Fprintf(tw, "Total\t%d\t%s\t%s\t%s\n", t.Orders, t.Gross, t.Refunds, t.Net)
	})
}

func showEvents(w io.Writer, r any) {
	l := r.(list[Event])
	table(w, "SEQ\tWHEN\tWHO\tACTION\tTARGET", func(tw io.Writer) {
		for _, e := range l.Items {
			_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s %s\n", e.Seq, e.OccurredAt.Local().Format("2006-01-02 15:04:05"), e.ActorRole, e.Action, e.TargetType, e.TargetID)
		}
	})
}

// restockLines reads the answer to "back in stock": "all", or lines and units such as "1x2 3x1"
// (line numbers as showOrder numbers them), into the refund's restock list.
func restockLines(o Order, answer string) ([]map[string]any, error) {
	out := []map[string]any{}
	answer = strings.TrimSpace(strings.ToLower(answer))
	if answer == "" {
		return out, nil
	}
	if answer == "all" {
		for _, it := range o.Items {
			if it.Returnable > 0 {
				out = append(out, map[string]any{"line_id": it.ID, "quantity": it.Returnable})
			}
		}
		return out, nil
	}
	for _, part := range strings.FieldsFunc(answer, func(r rune) bool { return r == ' ' || r == ',' }) {
		line, units, ok := strings.Cut(part, "x")
		n, err1 := strconv.Atoi(line)
		q, err2 := strconv.Atoi(units)
		if !ok || err1 != nil || err2 != nil || n < 1 || n > len(o.Items) || q < 1 {
			return nil, fmt.Errorf("%q is not a line and units such as 1x2 (the order has %d lines)", part, len(o.Items))
		}
		out = append(out, map[string]any{"line_id": o.Items[n-1].ID, "quantity": q})
	}
	return out, nil
}

// newKey is a new Idempotency-Key: one for each request that moves money or stock, kept for its
// retries.
func newKey() string { return rand.Text() }

func showStores(w io.Writer, r any) {
	l := r.(list[Store])
	table(w, "SLUG\tNAME\tCURRENCY\tSTATUS", func(tw io.Writer) {
		for _, st := range l.Items {
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Slug, st.Name, st.Currency, st.Status)
		}
	})
}

func showStore(w io.Writer, r any) {
	st := r.(Store)
	_, _ = fmt.Fprintf(w, "Store %s (%s, %s) is %s.\n", st.Slug, st.Name, st.Currency, st.Status)
}
