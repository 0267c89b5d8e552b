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
		items      []string
	}{
		{"tea", "Tea", 450, []string{"Assam Breakfast", "Darjeeling First Flush", "Earl Grey", "Sencha", "Jasmine Pearls", "Lapsang Souchong", "Rooibos", "Peppermint"}},
		{"coffee", "Coffee", 799, []string{"Colombian Supremo", "Ethiopian Yirgacheffe", "Sumatra Mandheling", "Kenya AA", "House Espresso", "Decaf Swiss Water", "Guatemala Antigua", "Brazil Santos"}},
		{"bakery", "Bakery", 250, []string{"Sourdough Loaf", "Rye Bread", "Butter Croissant", "Cinnamon Bun", "Seeded Baguette", "Focaccia", "Oat Biscuits", "Shortbread"}},
		{"pantry", "Pantry", 399, []string{"Olive Oil", "Sea Salt Flakes", "Wildflower Honey", "Strawberry Jam", "Dark Chocolate", "Basmati Rice", "Dried Porcini", "Smoked Paprika"}},
		{"dairy", "Dairy", 320, []string{"Farmhouse Cheddar", "Stilton", "Salted Butter", "Greek Yoghurt", "Goat's Cheese", "Double Cream", "Brie", "Halloumi"}},
		{"kitchen", "Kitchen", 1299, []string{"Tea Infuser", "Coffee Grinder", "Enamel Mug", "Linen Tea Towel", "Bread Knife", "Oak Board", "Cafetière", "Storage Tin"}},
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
			})
		}
		seeds = append(seeds, sd)
	}
	return seeds
}
