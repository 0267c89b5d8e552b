package orders

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"sort"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// VisitorCarts is where visitors' carts live — in this process, or in Redis for many instances —
// each under the hash of its visitor's cookie token (see kv's visitors.go: small, capped, ending
// when unused).
type VisitorCarts interface {
	VisitorCart(ctx context.Context, id string, now time.Time) (map[string]int, error)
	SetVisitorCart(ctx context.Context, id string, cart map[string]int, now time.Time) error
	DropVisitorCart(ctx context.Context, id string) error
}

// visitorID is where a visitor's cart is kept: the hash of their token, never the token itself.
func visitorID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// visitorItems returns the items of a visitor's cart, nil when the token names none.
func (s *Service) visitorItems(ctx context.Context, token string) (map[string]int, error) {
	if token == "" || len(token) > 100 {
		return nil, nil
	}
	items, err := s.visitors.VisitorCart(ctx, visitorID(token), s.now())
	if err != nil {
		return nil, unavailable(err)
	}
	return items, nil
}

// unavailable is the answer when the store of visitors' carts (Redis) does not answer.
func unavailable(err error) error {
	return &shop.Error{Kind: shop.KindUnavailable, Message: "Carts are unavailable right now; try again in a moment.", Err: err}
}

// VisitorCart prices a visitor's cart in store from the catalogue; products gone from sale, or of
// another store, are left out.
func (s *Service) VisitorCart(ctx context.Context, store shop.StoreID, token string) (Cart, error) {
	items, err := s.visitorItems(ctx, token)
	if err != nil {
		return Cart{}, err
	}
	var lines []shop.CartLine
	err = s.db.View(ctx, store, func(tx *sqlstore.Tx) error {
		for id, q := range items {
			p, err := tx.ProductByID(ctx, store, id)
			if shop.KindOf(err) == shop.KindNotFound || (err == nil && !p.Status.ForSale()) {
				continue
			}
			if err != nil {
				return err
			}
			lines = append(lines, shop.CartLine{ProductID: p.ID, SKU: p.SKU, Name: p.Name, PriceAmount: p.PriceAmount,
				Quantity: q, Stock: p.Stock, Status: p.Status})
		}
		return nil
	})
	c := cartOf(lines) // priced as a customer's cart is
	sort.Slice(c.Lines, func(i, j int) bool { return c.Lines[i].Name < c.Lines[j].Name })
	return c, err
}

// ChangeVisitorCart puts quantity of a product in a visitor's cart (add: adds it to what the
// line holds), or takes the product out (remove), by the same rules as a customer's cart. It
// returns the token to keep in the visitor's cookie: a new one when token named no cart.
func (s *Service) ChangeVisitorCart(ctx context.Context, store shop.StoreID, token, productID string, quantity int, add, remove bool) (string, error) {
	items, err := s.visitorItems(ctx, token)
	if err != nil {
		return "", err
	}
	if items == nil {
		items = map[string]int{}
		token = rand.Text()
	}
	if remove {
		delete(items, productID)
	} else {
		if err := quantityRange(quantity); err != nil {
			return "", err
		}
		if _, held := items[productID]; !shop.CartTakes(len(items), held) {
			return "", errCartFull // before the product is looked up
		}
		if add {
			quantity += items[productID]
		}
		err := s.db.View(ctx, store, func(tx *sqlstore.Tx) error {
			p, err := tx.ProductByID(ctx, store, productID)
			if err != nil {
				return err
			}
			return checkItem(p.Status, p.Stock, quantity)
		})
		if err != nil {
			return "", err
		}
		items[productID] = quantity
	}
	if err := s.visitors.SetVisitorCart(ctx, visitorID(token), items, s.now()); err != nil {
		return "", unavailable(err)
	}
	return token, nil
}

// MergeVisitorCart adds a visitor's cart to the customer's at sign-in and forgets it. Quantities
// add up, capped at 99 and at the stock; products no longer on sale are dropped; each line is
// accepted at today's price. Staff signing in simply leave the visitor's cart behind.
func (s *Service) MergeVisitorCart(ctx context.Context, actor shop.Principal, store shop.StoreID, token string) error {
	items, err := s.visitorItems(ctx, token)
	if err != nil || len(items) == 0 {
		return err
	}
	defer func() { _ = s.visitors.DropVisitorCart(context.WithoutCancel(ctx), visitorID(token)) }()
	if access.CheckStore(actor, store, access.CartUse, "Store") != nil {
		return nil
	}
	return s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		have, err := tx.CartLines(ctx, store, actor.UserID)
		if err != nil {
			return err
		}
		current := map[string]int{}
		for _, l := range have {
			current[l.ProductID] = l.Quantity
		}
		lines := len(have)
		for _, id := range slices.Sorted(maps.Keys(items)) {
			q := items[id]
			if _, held := current[id]; !shop.CartTakes(lines, held) {
				continue // a full cart takes more of what it holds, nothing new
			}
			p, err := tx.ProductByID(ctx, store, id)
			if err != nil || !p.Status.ForSale() || q < 1 {
				continue
			}
			n := min(current[id]+q, MaxQuantity, p.Stock)
			if n < 1 {
				continue
			}
			if err := tx.SetCartItem(ctx, store, actor.UserID, id, n, p.PriceAmount); err != nil {
				return err
			}
			if _, held := current[id]; !held {
				lines++
			}
		}
		return nil
	})
}
