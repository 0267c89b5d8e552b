package orders

import (
	"context"
	"strconv"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Destination is where a checkout's goods go and how: the shipping address, the billing address
// (the shipping one when nil) and the chosen shipping method.
type Destination struct {
	ShippingAddress  *shop.Address
	BillingAddress   *shop.Address
	ShippingMethodID string
}

// Quote is what a cart costs sent to a destination: the methods that take it there, the one
// chosen, and the figures with it.
type Quote struct {
	Ships      bool // the store posts its goods: checkout needs an address and a method
	Zone       shop.ShippingZone
	Options    []shop.Option
	Each       []shop.Totals // the figures with each of Options
	Chosen     *shop.Option
	ItemsTotal int64 // the lines as the store prices them
	Grams      int
	Totals     shop.Totals
	Shipping   shop.Address // normalised
	Billing    shop.Address
	Inclusive  bool // the store's prices include tax
}

// ErrNothingShips: no method of the zone takes the cart (too heavy for every one).
func errNothingShips(country string) error {
	return &shop.Error{Kind: shop.KindConflict, Code: shop.CodeNothingShips,
		Message: "Nothing in this store's shipping methods takes this cart to " + shop.CountryName(country) + ": it is too heavy for all of them. Remove something, or ship it elsewhere.",
		Fields:  []shop.FieldError{{Field: "shipping_method_id", Message: "no method ships this cart to " + shop.CountryName(country)}}}
}

// price works out what lines cost sent to d under a store's shipping set-up. A store without
// zones posts nothing: no address is needed and none is charged for. With needMethod, a method
// must be chosen (checkout); without it the quote lists the methods (the checkout page before the
// customer chooses).
func price(sh shop.Shipping, lines []shop.CartLine, d Destination, needMethod bool) (Quote, error) {
	q := Quote{Ships: len(sh.Zones) > 0, Inclusive: sh.PricesIncludeTax}
	priced := make([]shop.PricedLine, len(lines))
	for i, l := range lines {
		priced[i] = shop.PricedLine{Amount: l.Total(), Class: l.TaxClass}
		q.ItemsTotal += l.Total()
		q.Grams += l.WeightGrams * l.Quantity
	}
	var fields []shop.FieldError
	if d.ShippingAddress != nil && !d.ShippingAddress.Empty() {
		q.Shipping = d.ShippingAddress.Normal()
		var allowed func(string) bool
		if q.Ships {
			allowed = sh.ShipsTo
		}
		fields = append(fields, q.Shipping.Check("shipping_address.", allowed, "is not a country this store ships to")...)
	} else if q.Ships {
		fields = append(fields, shop.FieldError{Field: "shipping_address", Message: "is required: where should we send your order?"})
	}
	q.Billing = q.Shipping
	if d.BillingAddress != nil && !d.BillingAddress.Empty() {
		q.Billing = d.BillingAddress.Normal()
		fields = append(fields, q.Billing.Check("billing_address.", nil, "")...)
	}
	if len(fields) > 0 {
		return q, shop.Invalid(fields...)
	}
	rule := shop.TaxRule{Inclusive: sh.PricesIncludeTax}
	var shipping int64
	if q.Ships {
		q.Zone, _ = sh.Zone(q.Shipping.Country)
		rule = sh.TaxRule(q.Zone)
		q.Options = q.Zone.Options(q.ItemsTotal, q.Grams)
		if len(q.Options) == 0 {
			return q, errNothingShips(q.Shipping.Country)
		}
		for i := range q.Options {
			if q.Options[i].Method.ID == d.ShippingMethodID {
				q.Chosen = &q.Options[i]
			}
			q.Each = append(q.Each, rule.Compute(priced, q.Options[i].Price))
		}
		switch {
		case q.Chosen != nil:
			shipping = q.Chosen.Price
		case d.ShippingMethodID != "":
			return q, shop.Invalid(shop.FieldError{Field: "shipping_method_id", Message: "is not a method that ships this cart to " + shop.CountryName(q.Shipping.Country)})
		case needMethod:
			return q, shop.Invalid(shop.FieldError{Field: "shipping_method_id", Message: "is required: choose how your order is sent"})
		}
	}
	q.Totals = rule.Compute(priced, shipping)
	return q, nil
}

// fill writes a quote's figures into a new order and its lines.
func (q Quote) fill(o *shop.Order) {
	o.PricesIncludeTax = q.Inclusive
	o.Subtotal, o.ShippingAmount, o.TaxAmount, o.TotalAmount = q.Totals.Subtotal, q.Totals.Shipping, q.Totals.Tax, q.Totals.Total
	o.ShippingAddress, o.BillingAddress = q.Shipping, q.Billing
	if q.Chosen != nil {
		o.ShippingMethod, o.ShippingPrice = q.Chosen.Method.Name, q.Chosen.Price
	}
	st := q.Totals.ShippingTax
	o.ShippingTax, o.ShippingTaxRate, o.ShippingTaxClass = st.Tax, st.Rate.Rate, st.Rate.Class
	for _, r := range q.Zone.TaxRates {
		if o.TaxName == "" {
			o.TaxName = r.Name
		}
	}
	for i := range o.Lines {
		t := q.Totals.Lines[i]
		o.Lines[i].TaxClass, o.Lines[i].TaxRate, o.Lines[i].TaxAmount, o.Lines[i].Net = t.Rate.Class, t.Rate.Rate, t.Tax, t.Net
	}
	o.Taxes = o.SumTaxes()
}

// Quote prices the customer's cart sent to d, on the read pool: the methods that take it there
// with their prices and, once one is chosen, the order's figures. Checkout prices it again in its
// transaction.
func (s *Service) Quote(ctx context.Context, actor shop.Principal, st shop.Store, d Destination) (Quote, []shop.CartLine, error) {
	if err := access.CheckStore(actor, st.ID, access.CartUse, "Store"); err != nil {
		return Quote{}, nil, err
	}
	var lines []shop.CartLine
	var sh shop.Shipping
	err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		var err error
		if lines, err = tx.CartLines(ctx, st.ID, actor.UserID); err != nil {
			return err
		}
		sh, err = tx.StoreShipping(ctx, st.ID)
		return err
	})
	if err != nil {
		return Quote{}, nil, err
	}
	if len(lines) == 0 {
		return Quote{}, nil, ErrCartEmpty
	}
	q, err := price(sh, lines, d, false)
	return q, lines, err
}

// Shipping returns a store's shipping and tax set-up, for anyone who may see its storefront.
func (s *Service) Shipping(ctx context.Context, st shop.Store) (shop.Shipping, error) {
	var sh shop.Shipping
	err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) error {
		var err error
		sh, err = tx.StoreShipping(ctx, st.ID)
		return err
	})
	return sh, err
}

// SetShipping replaces a store's shipping and tax set-up (admins: store.settings), checked whole
// first, with an audit entry. It answers with the set-up as stored, ids filled in.
func (s *Service) SetShipping(ctx context.Context, actor shop.Principal, st shop.Store, sh shop.Shipping) (shop.Shipping, error) {
	if err := access.CheckStore(actor, st.ID, access.StoreSettings, "Store"); err != nil {
		return shop.Shipping{}, err
	}
	if fields := sh.Check(); len(fields) > 0 {
		return shop.Shipping{}, shop.Invalid(fields...)
	}
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.SetStoreShipping(ctx, st.ID, sh); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "store.shipping", TargetType: "store", TargetID: string(st.ID),
			Detail: map[string]string{"zones": strconv.Itoa(len(sh.Zones)), "prices_include_tax": strconv.FormatBool(sh.PricesIncludeTax)}})
		return err
	})
	return sh, err
}
