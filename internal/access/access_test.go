package access

import (
	"testing"

	"secureshop/internal/shop"
)

func TestCan_DeniesByDefault(t *testing.T) {
	cases := []struct {
		role shop.Role
		perm Permission
		want bool
	}{
		{shop.RoleAdmin, UsersManage, true},
		{shop.RoleClerk, UsersManage, false},
		{shop.RoleCustomer, UsersManage, false},
		{shop.RoleClerk, InventoryAdjust, true},
		{shop.RoleCustomer, InventoryAdjust, false},
		{shop.RoleCustomer, CartUse, true},
		{shop.RoleAdmin, CartUse, false},
		{shop.RoleOperator, OrdersReadAll, false},
		{shop.RoleOperator, PlatformStores, true},
		{shop.RoleAdmin, PlatformStores, false},
		{shop.Role("root"), AccountSelf, false},
		{shop.RoleAdmin, Permission("made.up"), false},
	}
	for _, c := range cases {
		if got := Can(c.role, c.perm); got != c.want {
			t.Errorf("Can(%s, %s) = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
}

func TestCheckStore_OtherStoreIsNotFound(t *testing.T) {
	admin := shop.Principal{UserID: "u1", StoreID: "a", Role: shop.RoleAdmin}
	if err := CheckStore(admin, "b", UsersRead, "User"); shop.KindOf(err) != shop.KindNotFound {
		t.Fatalf("other store: got %v, want not-found", err)
	}
	if err := CheckStore(admin, "a", UsersRead, "User"); err != nil {
		t.Fatalf("own store: %v", err)
	}
	clerk := shop.Principal{UserID: "u2", StoreID: "a", Role: shop.RoleClerk}
	if err := CheckStore(clerk, "a", UsersRead, "User"); shop.KindOf(err) != shop.KindForbidden {
		t.Fatalf("clerk: got %v, want forbidden", err)
	}
	if err := CheckStore(shop.Principal{}, "a", UsersRead, "User"); shop.KindOf(err) != shop.KindUnauthenticated {
		t.Fatalf("anonymous: got %v, want unauthenticated", err)
	}
}
