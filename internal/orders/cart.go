// Package orders runs the way from cart to delivered order: the customer's cart, checkout (stock,
// price snapshot and payment in one transaction) and the order state machine.
package orders

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"secureshop/internal/access"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// CartLine is a cart line priced from the catalogue as it is now.
type CartLine struct {
	ProductID string
	SKU       string
	Name      string
	UnitPrice int64
	Quantity  int
	LineTotal int64
	Available bool // the product is on sale and enough is in stock
	Stock     int
	// PreviousPrice is the unit price the customer accepted when it differs from today's: checkout
	// refuses the line until they accept the new one.
	PreviousPrice int64
}

// Cart is a customer's cart.
type Cart struct {
	Lines []CartLine
	Total int64
}

// MaxQuantity is the most of one product a cart line may hold.
const MaxQuantity = 99

// Cart returns the signed-in customer's cart.
func (s *Service) Cart(ctx context.Context, actor shop.Principal, store shop.StoreID) (Cart, error) {
	if err := access.CheckStore(actor, store, access.CartUse, "Store"); err != nil {
		return Cart{}, err
	}
	var lines []shop.CartLine
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { lines, err = tx.CartLines(ctx, store, actor.UserID); return })
	if err != nil {
		return Cart{}, err
	}
	return cartOf(lines), nil
}

// cartOf prices cart lines as the catalogue has them now — a customer's cart and a visitor's alike.
func cartOf(lines []shop.CartLine) Cart {
	var c Cart
	for _, l := range lines {
		cl := CartLine{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, UnitPrice: l.PriceAmount, Quantity: l.Quantity,
			LineTotal: l.Total(), Available: l.Available(), Stock: l.Stock}
		if l.PriceChanged() {
			cl.PreviousPrice = l.Accepted
		}
		c.Lines = append(c.Lines, cl)
		c.Total += cl.LineTotal
	}
	return c
}

// changeCart runs change, which reads the customer's cart, writes what it becomes and works out
// its new lines, and returns the cart — one transaction, which reads before it writes: on
// PostgreSQL the write then goes to the database with the COMMIT, in one round trip.
func (s *Service) changeCart(ctx context.Context, actor shop.Principal, store shop.StoreID, change func(tx *sqlstore.Tx) ([]shop.CartLine, error)) (Cart, error) {
	if err := access.CheckStore(actor, store, access.CartUse, "Store"); err != nil {
		return Cart{}, err
	}
	var lines []shop.CartLine
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
		lines, err = change(tx)
		return err
	})
	if err != nil {
		return Cart{}, err
	}
	return cartOf(lines), nil
}

// SetItem puts quantity of a product in the customer's cart (1 to 99, and no more than is in
// stock) and returns the cart.
func (s *Service) SetItem(ctx context.Context, actor shop.Principal, store shop.StoreID, productID string, quantity int) (Cart, error) {
	if err := quantityRange(quantity); err != nil { // told before the product is looked up
		return Cart{}, err
	}
	return s.changeCart(ctx, actor, store, func(tx *sqlstore.Tx) ([]shop.CartLine, error) {
		return setLine(ctx, tx, actor, store, productID, func(int) int { return quantity })
	})
}

// AddItem adds quantity of a product to what the customer's cart already holds and returns the cart.
func (s *Service) AddItem(ctx context.Context, actor shop.Principal, store shop.StoreID, productID string, quantity int) (Cart, error) {
	if err := quantityRange(quantity); err != nil { // what is added, not only the sum: adding -2 takes nothing away
		return Cart{}, err
	}
	return s.changeCart(ctx, actor, store, func(tx *sqlstore.Tx) ([]shop.CartLine, error) {
		return setLine(ctx, tx, actor, store, productID, func(have int) int { return have + quantity })
	})
}

// setLine reads the cart and the product (one statement), writes the quantity of it the cart is
// to hold — worked out from what it holds now — and returns the cart's new lines, in product
// order as CartLines reads them.
func setLine(ctx context.Context, tx *sqlstore.Tx, actor shop.Principal, store shop.StoreID, productID string, quantity func(have int) int) ([]shop.CartLine, error) {
	have, p, err := tx.CartAndProduct(ctx, store, actor.UserID, productID)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, l := range have {
		if l.ProductID == p.ProductID {
			n = l.Quantity
		}
	}
	if !shop.CartTakes(len(have), n > 0) {
		return nil, errCartFull
	}
	p.Quantity = quantity(n)
	if err := checkItem(p.Status, p.Stock, p.Quantity); err != nil {
		return nil, err
	}
	// Setting a line accepts its price as the cart shows it now.
	if err := tx.SetCartItem(ctx, store, actor.UserID, p.ProductID, p.Quantity, p.PriceAmount); err != nil {
		return nil, err
	}
	p.Accepted = p.PriceAmount
	lines := without(have, p.ProductID)
	i, _ := slices.BinarySearchFunc(lines, p.ProductID, func(l shop.CartLine, id string) int { return strings.Compare(l.ProductID, id) })
	return slices.Insert(lines, i, p), nil
}

// errCartFull refuses a product more in a cart that holds shop.MaxCartLines.
var errCartFull = shop.Invalid(shop.FieldError{Field: "cart", Message: fmt.Sprintf("holds %d products, as many as a cart can; remove one first", shop.MaxCartLines)})

// without returns the lines but the product's.
func without(lines []shop.CartLine, productID string) []shop.CartLine {
	return slices.DeleteFunc(slices.Clone(lines), func(l shop.CartLine) bool { return l.ProductID == productID })
}

// checkItem is the one rule for a cart line: a product on sale, 1 to 99 of it, no more than in stock.
func checkItem(status shop.ProductStatus, stock, quantity int) error {
	if err := quantityRange(quantity); err != nil {
		return err
	}
	if !status.ForSale() {
		return shop.NotFound("Product")
	}
	if quantity > stock {
		msg := "is more than we have: " + strconv.Itoa(stock) + " in stock"
		if stock == 0 {
			msg = "is more than we have: the product is out of stock"
		}
		return shop.Invalid(shop.FieldError{Field: "quantity", Message: msg})
	}
	return nil
}

func quantityRange(quantity int) error {
	if quantity < 1 || quantity > MaxQuantity {
		return shop.Invalid(shop.FieldError{Field: "quantity", Message: "must be from 1 to 99"})
	}
	return nil
}

// RemoveItem takes a product out of the customer's cart and returns the cart.
func (s *Service) RemoveItem(ctx context.Context, actor shop.Principal, store shop.StoreID, productID string) (Cart, error) {
	if err := access.CheckStore(actor, store, access.CartUse, "Store"); err != nil {
		return Cart{}, err
	}
	if !shop.ValidID(productID) {
		return Cart{}, shop.NotFound("Product")
	}
	return s.changeCart(ctx, actor, store, func(tx *sqlstore.Tx) ([]shop.CartLine, error) {
		have, err := tx.CartLines(ctx, store, actor.UserID)
		if err != nil {
			return nil, err
		}
		return without(have, productID), tx.RemoveCartItem(ctx, store, actor.UserID, productID)
	})
}
