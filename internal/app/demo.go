package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"secureshop/internal/catalog"
	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
)

// DemoCredential is one demo account.
type DemoCredential struct {
	Role     shop.Role
	Email    string
	Password string
}

// SeedDemo creates the demo store, its admin, clerk and customer and a catalogue, once. The random
// passwords are written to out the one time they are made; they are stored only as hashes.
// It returns the credentials (nil when the demo store already existed).
func (a *App) SeedDemo(ctx context.Context, out io.Writer, baseURL string) ([]DemoCredential, error) {
	sys := shop.System()
	st, err := a.Stores.BySlug(ctx, "demo")
	if err == nil {
		_, _ = fmt.Fprintf(out, "Demo store: %s/s/%s/ (it already existed; its credentials were printed when it was made)\n", baseURL, st.Slug)
		return nil, nil
	}
	if shop.KindOf(err) != shop.KindNotFound {
		return nil, err
	}
	if st, err = a.Stores.Create(ctx, sys, tenancy.NewStore{Slug: "demo", Name: "Demo Provisions", Currency: "GBP"}); err != nil {
		return nil, err
	}
	var creds []DemoCredential
	for _, role := range shop.StoreRoles {
		c := DemoCredential{Role: role, Email: string(role) + "@demo.example", Password: rand.Text()}
		if _, err := a.Identity.CreateUser(ctx, sys, st.ID, identity.NewUser{Email: c.Email, Name: "Demo " + string(role),
			Role: role, Password: c.Password}); err != nil {
			return nil, err
		}
		creds = append(creds, c)
	}
	if _, err := a.Catalog.Import(ctx, sys, st.ID, DemoCatalog(a.Cfg.DemoProducts)); err != nil {
		return nil, err
	}
	if _, err := a.Orders.SetShipping(ctx, sys, st, DemoShipping()); err != nil {
		return nil, err
	}
	_, _ = fmt.Fprintf(out, "Demo store: %s/s/%s/\nDemo accounts (shown once; keep them):\n", baseURL, st.Slug)
	for _, c := range creds {
		_, _ = fmt.Fprintf(out, "  %-8s  %-22s  %s\n", c.Role, c.Email, c.Password)
	}
	return creds, nil
}

// DemoCatalog is a grocer's catalogue of n products (at least 48) in six categories; beyond the 48
// named ones, numbered editions fill it up (for benchmarks).
func DemoCatalog(n int) []catalog.Seed {
	groups := []struct {
		slug, name string
		base       int64
		grams      int           // what the lightest weighs packed
		class      shop.TaxClass // UK VAT: most food is zero-rated, kitchenware is not
		items      []string
	}{
		{"tea", "Tea", 450, 120, shop.TaxZero, []string{"Assam Breakfast", "Darjeeling First Flush", "Earl Grey", "Sencha", "Jasmine Pearls", "Lapsang Souchong", "Rooibos", "Peppermint"}},
		{"coffee", "Coffee", 799, 280, shop.TaxZero, []string{"Colombian Supremo", "Ethiopian Yirgacheffe", "Sumatra Mandheling", "Kenya AA", "House Espresso", "Decaf Swiss Water", "Guatemala Antigua", "Brazil Santos"}},
		{"bakery", "Bakery", 250, 300, shop.TaxZero, []string{"Sourdough Loaf", "Rye Bread", "Butter Croissant", "Cinnamon Bun", "Seeded Baguette", "Focaccia", "Oat Biscuits", "Shortbread"}},
		{"pantry", "Pantry", 399, 250, shop.TaxZero, []string{"Olive Oil", "Sea Salt Flakes", "Wildflower Honey", "Strawberry Jam", "Dark Chocolate", "Basmati Rice", "Dried Porcini", "Smoked Paprika"}},
		{"dairy", "Dairy", 320, 200, shop.TaxZero, []string{"Farmhouse Cheddar", "Stilton", "Salted Butter", "Greek Yoghurt", "Goat's Cheese", "Double Cream", "Brie", "Halloumi"}},
		{"kitchen", "Kitchen", 1299, 350, shop.TaxStandard, []string{"Tea Infuser", "Coffee Grinder", "Enamel Mug", "Linen Tea Towel", "Bread Knife", "Oak Board", "Cafetière", "Storage Tin"}},
	}
	var seeds []catalog.Seed
	for gi, g := range groups {
		sd := catalog.Seed{Category: shop.Category{Slug: g.slug, Name: g.name}}
		perGroup := max(8, (n+len(groups)-1)/len(groups))
		for i := range perGroup {
			name := g.items[i%len(g.items)]
			if i >= len(g.items) {
				name = fmt.Sprintf("%s No. %d", name, i/len(g.items)+1)
			}
			sd.Products = append(sd.Products, shop.Product{
				SKU:         fmt.Sprintf("%s-%04d", strings.ToUpper(g.slug[:3]), i+1),
				Name:        name,
				Description: fmt.Sprintf("%s from our %s range, chosen for everyday use.", name, strings.ToLower(g.name)),
				PriceAmount: g.base + int64((i*137+gi*61)%900),
				Stock:       5 + (i*7+gi*3)%40,
				WeightGrams: g.grams + (i*53)%400,
				TaxClass:    g.class,
			})
			if name == "Dark Chocolate" { // confectionery is standard-rated
				sd.Products[len(sd.Products)-1].TaxClass = shop.TaxStandard
			}
		}
		seeds = append(seeds, sd)
	}
	return seeds
}

// DemoShipping is the demo store's shipping: a UK shop with prices including VAT (20 %, 5 %, 0 %)
// and shipping taxed at the standard rate, posting at home (free above £40), to the EU and to the
// rest of the world, where exports are zero-rated.
func DemoShipping() shop.Shipping {
	eu := []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL",
		"PL", "PT", "RO", "SK", "SI", "ES", "SE"}
	return shop.Shipping{PricesIncludeTax: true, ShippingTaxClass: shop.TaxStandard,
		Seller: shop.Seller{Name: "Demo Provisions Ltd", TaxID: "GB 123 4567 89",
			Address: &shop.Address{Name: "Demo Provisions Ltd", Line1: "1 Corn Street", City: "Bristol", Postcode: "BS1 1HT", Country: "GB"}},
		Zones: []shop.ShippingZone{
			{Name: "United Kingdom", Countries: []string{"GB"},
				TaxRates: []shop.TaxRate{{Class: shop.TaxStandard, Rate: 20000, Name: "VAT"}, {Class: shop.TaxReduced, Rate: 5000, Name: "VAT"},
					{Class: shop.TaxZero, Rate: 0, Name: "VAT"}},
				Methods: []shop.ShippingMethod{
					{Name: "Standard delivery", Price: 395, FreeAbove: 4000, MinDays: 2, MaxDays: 3},
					{Name: "Tracked next day", Price: 695, MinDays: 1, MaxDays: 1},
					{Name: "Courier, by weight", MinDays: 1, MaxDays: 2, Tiers: []shop.WeightTier{{UpToGrams: 2000, Price: 795}, {UpToGrams: 10000, Price: 1195},
						{UpToGrams: 30000, Price: 1895}}},
				}},
			{Name: "European Union", Countries: eu, Methods: []shop.ShippingMethod{
				{Name: "International standard", MinDays: 5, MaxDays: 8, Tiers: []shop.WeightTier{{UpToGrams: 2000, Price: 1250}, {UpToGrams: 5000, Price: 1950},
					{UpToGrams: 10000, Price: 2950}}},
				{Name: "International tracked", Price: 2495, MinDays: 3, MaxDays: 5},
			}},
			{Name: "Rest of the world", Countries: []string{shop.RestOfWorld}, Methods: []shop.ShippingMethod{
				{Name: "Airmail", MinDays: 7, MaxDays: 14, Tiers: []shop.WeightTier{{UpToGrams: 2000, Price: 1650}, {UpToGrams: 5000, Price: 2750}}},
			}},
		}}
}
