// Package access holds the one table of what each role may do, and the one function that asks it.
// Everything not granted here is denied.
package access

import "secureshop/internal/shop"

// Permission is one thing a principal may be allowed to do.
type Permission string

// The permissions. Add a permission here, grant it below, and use it in the route table and in the
// service method that performs the action.
const (
	CatalogWrite       Permission = "catalog.write"     // create and edit products and categories
	CatalogArchive     Permission = "catalog.archive"   // archive products
	InventoryAdjust    Permission = "inventory.adjust"  // stock adjustments
	CartUse            Permission = "cart.use"          // own cart and checkout
	OrdersRead         Permission = "orders.read"       // the orders listing: own orders, or all with OrdersReadAll
	OrdersReadOwn      Permission = "orders.read-own"   // own orders
	OrdersCancelOwn    Permission = "orders.cancel-own" // cancel own orders before shipping
	OrdersReadAll      Permission = "orders.read-all"   // every order of the store
	OrdersUpdateStatus Permission = "orders.update-status"
	OrdersRefund       Permission = "orders.refund"
	UsersRead          Permission = "users.read"
	UsersManage        Permission = "users.manage"
	ReportsRead        Permission = "reports.read"
	AuditRead          Permission = "audit.read"
	StoreSettings      Permission = "store.settings" // the store's own rules, e.g. password composition
	JobsManage         Permission = "jobs.manage"    // the store's failed background jobs: list them, have them tried again
	AccountSelf        Permission = "account.self"   // own profile, password, MFA, sessions
	PlatformStores     Permission = "platform.stores"
	PlatformAccount    Permission = "platform.account" // an operator's own account, on the platform's pages
	PlatformJobs       Permission = "platform.jobs"    // every store's failed background jobs, with their errors
)

var grants = map[shop.Role]map[Permission]bool{
	shop.RoleAdmin: set(CatalogWrite, CatalogArchive, InventoryAdjust, OrdersRead, OrdersReadAll, OrdersUpdateStatus,
		OrdersRefund, UsersRead, UsersManage, ReportsRead, AuditRead, StoreSettings, JobsManage, AccountSelf),
	shop.RoleClerk:    set(CatalogWrite, InventoryAdjust, OrdersRead, OrdersReadAll, OrdersUpdateStatus, AccountSelf),
	shop.RoleCustomer: set(CartUse, OrdersRead, OrdersReadOwn, OrdersCancelOwn, AccountSelf),
	shop.RoleOperator: set(PlatformStores, PlatformJobs, PlatformAccount, AccountSelf),
}

func init() {
	// The command line may do everything except what needs a signed-in account.
	all := map[Permission]bool{}
	for _, g := range grants {
		for p := range g {
			all[p] = p != AccountSelf
		}
	}
	grants[shop.RoleSystem] = all
}

func set(ps ...Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return m
}

// Can reports whether role holds permission. Unknown roles and permissions are denied.
func Can(role shop.Role, p Permission) bool {
	return grants[role][p]
}

// Check returns shop.ErrUnauthenticated for an anonymous principal, shop.ErrForbidden when the
// principal's role lacks p, and nil when it is allowed.
func Check(p shop.Principal, perm Permission) error {
	if !p.Authenticated() {
		return shop.ErrUnauthenticated
	}
	if !Can(p.Role, perm) {
		return shop.ErrForbidden
	}
	return nil
}

// CheckStore is Check for an action inside store: a principal of another store (or an operator) gets
// NotFound, so that the other store's objects are never revealed to exist.
func CheckStore(p shop.Principal, store shop.StoreID, perm Permission, what string) error {
	if !p.Authenticated() {
		return shop.ErrUnauthenticated
	}
	if p.StoreID != store && p.Role != shop.RoleSystem {
		return shop.NotFound(what)
	}
	return Check(p, perm)
}
