package access

import (
	"testing"

	"secureshop/internal/shop"
)

func BenchmarkCheckStore(b *testing.B) {
	p := shop.Principal{UserID: "u", StoreID: "s", Role: shop.RoleClerk}
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckStore(p, "s", InventoryAdjust, "Product"); err != nil {
			b.Fatal(err)
		}
	}
}
