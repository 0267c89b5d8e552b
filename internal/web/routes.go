package web

import (
	"context"
	"net/http"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/shop"
)

// routeTable is every route the shop serves, in one place, with who may call it. A route without
// Auth or Perm is public. The permission-matrix tests walk this table.
func (s *Server) routeTable() []Route {
	return []Route{
		// Operations.
		{Method: "GET", Path: "/healthz", API: true, h: s.healthz},
		{Method: "GET", Path: "/readyz", API: true, h: s.readyz},
		{Method: "GET", Path: "/api/v1/openapi.json", API: true, h: s.openapi},

		// Authentication (API).
		{Method: "POST", Path: "/api/v1/stores/{store}/auth/login", API: true, h: s.apiLogin},
		{Method: "POST", Path: "/api/v1/platform/auth/login", API: true, h: s.apiLogin},
		{Method: "POST", Path: "/api/v1/stores/{store}/auth/mfa", API: true, h: s.apiMFA},
		{Method: "POST", Path: "/api/v1/platform/auth/mfa", API: true, h: s.apiMFA},
		{Method: "POST", Path: "/api/v1/stores/{store}/auth/register", API: true, h: s.apiRegister},
		{Method: "POST", Path: "/api/v1/stores/{store}/auth/verify-email", API: true, h: s.apiVerifyEmail},
		{Method: "POST", Path: "/api/v1/stores/{store}/auth/password/forgot", API: true, h: s.apiForgot},
		{Method: "POST", Path: "/api/v1/stores/{store}/auth/password/reset", API: true, h: s.apiReset},
		{Method: "POST", Path: "/api/v1/auth/refresh", API: true, h: s.apiRefresh},
		{Method: "POST", Path: "/api/v1/auth/logout", API: true, Auth: true, h: s.apiLogout},
		{Method: "GET", Path: "/api/v1/me", API: true, Auth: true, h: s.apiMe},
		{Method: "DELETE", Path: "/api/v1/me", API: true, Auth: true, h: s.apiDeleteAccount},
		{Method: "GET", Path: "/api/v1/me/export", API: true, Auth: true, h: s.apiExport},
		{Method: "POST", Path: "/api/v1/me/password", API: true, Auth: true, h: s.apiChangePassword},
		{Method: "GET", Path: "/api/v1/me/sessions", API: true, Auth: true, h: s.apiSessions},
		{Method: "DELETE", Path: "/api/v1/me/sessions/{id}", API: true, Auth: true, h: s.apiEndSession},
		{Method: "POST", Path: "/api/v1/me/sessions/revoke-others", API: true, Auth: true, h: s.apiEndOtherSessions},
		{Method: "POST", Path: "/api/v1/me/mfa/totp", API: true, Auth: true, h: s.apiEnrollTOTP},
		{Method: "POST", Path: "/api/v1/me/mfa/totp/confirm", API: true, Auth: true, h: s.apiConfirmTOTP},
		{Method: "DELETE", Path: "/api/v1/me/mfa/totp", API: true, Auth: true, h: s.apiDisableTOTP},

		// Catalogue (public).
		{Method: "GET", Path: "/api/v1/stores/{store}/products", API: true, h: s.apiProducts},
		{Method: "GET", Path: "/api/v1/stores/{store}/products/{id}", API: true, h: s.apiProduct},
		{Method: "GET", Path: "/api/v1/stores/{store}/categories", API: true, h: s.apiCategories},
		{Method: "POST", Path: "/api/v1/stores/{store}/products", API: true, Perm: access.CatalogWrite, h: s.apiCreateProduct},
		{Method: "GET", Path: "/api/v1/stores/{store}/products/export", API: true, Perm: access.CatalogWrite, h: s.apiExportCatalog},
		{Method: "POST", Path: "/api/v1/stores/{store}/products/import", API: true, Perm: access.CatalogWrite, h: s.apiImportCatalog},
		{Method: "PATCH", Path: "/api/v1/stores/{store}/products/{id}", API: true, Perm: access.CatalogWrite, h: s.apiUpdateProduct},
		{Method: "DELETE", Path: "/api/v1/stores/{store}/products/{id}", API: true, Perm: access.CatalogArchive, h: s.apiArchiveProduct},
		{Method: "POST", Path: "/api/v1/stores/{store}/products/{id}/stock-adjustments", API: true, Perm: access.InventoryAdjust, h: s.apiAdjustStock},
		{Method: "GET", Path: "/api/v1/stores/{store}/products/{id}/stock-adjustments", API: true, Perm: access.InventoryAdjust, h: s.apiLedger},

		// Cart, checkout and orders.
		{Method: "GET", Path: "/api/v1/stores/{store}/cart", API: true, Perm: access.CartUse, h: s.apiCart},
		{Method: "PUT", Path: "/api/v1/stores/{store}/cart/items/{product_id}", API: true, Perm: access.CartUse, h: s.apiSetCartItem},
		{Method: "DELETE", Path: "/api/v1/stores/{store}/cart/items/{product_id}", API: true, Perm: access.CartUse, h: s.apiRemoveCartItem},
		{Method: "POST", Path: "/api/v1/stores/{store}/checkout/quote", API: true, Perm: access.CartUse, h: s.apiQuote},
		{Method: "GET", Path: "/api/v1/stores/{store}/me/addresses", API: true, Perm: access.CartUse, h: s.apiAddresses},
		{Method: "POST", Path: "/api/v1/stores/{store}/me/addresses", API: true, Perm: access.CartUse, h: s.apiAddAddress},
		{Method: "DELETE", Path: "/api/v1/stores/{store}/me/addresses/{id}", API: true, Perm: access.CartUse, h: s.apiDeleteAddress},
		{Method: "POST", Path: "/api/v1/stores/{store}/checkout", API: true, Perm: access.CartUse, h: s.apiCheckout},
		{Method: "POST", Path: "/api/v1/stores/{store}/guest-checkout/quote", API: true, h: s.apiGuestQuote},
		{Method: "POST", Path: "/api/v1/stores/{store}/guest-checkout", API: true, h: s.apiGuestCheckout},
		{Method: "GET", Path: "/api/v1/stores/{store}/guest-orders/{token}", API: true, h: s.apiGuestOrder},
		{Method: "POST", Path: "/api/v1/stores/{store}/guest-orders/{token}/cancel", API: true, h: s.apiGuestCancel},
		{Method: "GET", Path: "/api/v1/stores/{store}/orders", API: true, Perm: access.OrdersRead, h: s.apiOrders},
		{Method: "GET", Path: "/api/v1/stores/{store}/orders/{id}", API: true, Perm: access.OrdersRead, h: s.apiOrder},
		{Method: "POST", Path: "/api/v1/stores/{store}/orders/{id}/pay", API: true, Perm: access.OrdersCancelOwn, h: s.apiPayOrder},
		{Method: "POST", Path: "/api/v1/stores/{store}/orders/{id}/cancel", API: true, Perm: access.OrdersCancelOwn, h: s.apiCancelOrder},
		{Method: "POST", Path: "/api/v1/stores/{store}/orders/{id}/status", API: true, Perm: access.OrdersUpdateStatus, h: s.apiOrderStatus},
		{Method: "POST", Path: "/api/v1/stores/{store}/orders/{id}/refunds", API: true, Perm: access.OrdersRefund, h: s.apiRefund},
		{Method: "GET", Path: "/api/v1/stores/{store}/orders/{id}/invoices/{invoice}/pdf", API: true, Perm: access.OrdersRead, h: s.pageInvoicePDF},
		{Method: "GET", Path: "/api/v1/stores/{store}/reports/sales", API: true, Perm: access.ReportsRead, h: s.apiSalesReport},

		// The payment provider's events (verified by their signature, not by a session).
		{Method: "POST", Path: "/api/v1/payments/webhooks/{provider}", API: true, h: s.apiPaymentWebhook},

		// Back office.
		{Method: "GET", Path: "/api/v1/stores/{store}/users", API: true, Perm: access.UsersRead, h: s.apiUsers},
		{Method: "POST", Path: "/api/v1/stores/{store}/users", API: true, Perm: access.UsersManage, h: s.apiCreateUser},
		{Method: "GET", Path: "/api/v1/stores/{store}/users/{id}", API: true, Perm: access.UsersRead, h: s.apiUser},
		{Method: "PATCH", Path: "/api/v1/stores/{store}/users/{id}", API: true, Perm: access.UsersManage, h: s.apiUpdateUser},
		{Method: "POST", Path: "/api/v1/stores/{store}/users/{id}/revoke-sessions", API: true, Perm: access.UsersManage, h: s.apiRevokeSessions},
		{Method: "POST", Path: "/api/v1/stores/{store}/users/{id}/unlock", API: true, Perm: access.UsersManage, h: s.apiUnlockUser},
		{Method: "POST", Path: "/api/v1/stores/{store}/users/{id}/reset-mfa", API: true, Perm: access.UsersManage, h: s.apiResetUserMFA},
		{Method: "GET", Path: "/api/v1/stores/{store}/settings", API: true, Perm: access.StoreSettings, h: s.apiSettings},
		{Method: "PATCH", Path: "/api/v1/stores/{store}/settings", API: true, Perm: access.StoreSettings, h: s.apiUpdateSettings},
		{Method: "GET", Path: "/api/v1/stores/{store}/settings/shipping", API: true, Perm: access.StoreSettings, h: s.apiShipping},
		{Method: "PUT", Path: "/api/v1/stores/{store}/settings/shipping", API: true, Perm: access.StoreSettings, h: s.apiSetShipping},
		{Method: "GET", Path: "/api/v1/stores/{store}/audit-events", API: true, Perm: access.AuditRead, h: s.apiAuditEvents},
		{Method: "GET", Path: "/api/v1/stores/{store}/jobs/failed", API: true, Perm: access.JobsManage, h: s.apiFailedJobs},
		{Method: "POST", Path: "/api/v1/stores/{store}/jobs/{id}/retry", API: true, Perm: access.JobsManage, h: s.apiRetryJob},

		// Platform.
		{Method: "GET", Path: "/api/v1/platform/stores", API: true, Perm: access.PlatformStores, h: s.apiStores},
		{Method: "POST", Path: "/api/v1/platform/stores", API: true, Perm: access.PlatformStores, h: s.apiCreateStore},
		{Method: "POST", Path: "/api/v1/platform/stores/{slug}/suspend", API: true, Perm: access.PlatformStores, h: s.apiSetStoreStatus},
		{Method: "POST", Path: "/api/v1/platform/stores/{slug}/resume", API: true, Perm: access.PlatformStores, h: s.apiSetStoreStatus},
		{Method: "GET", Path: "/api/v1/platform/jobs/failed", API: true, Perm: access.PlatformJobs, h: s.apiFailedJobs},
		{Method: "POST", Path: "/api/v1/platform/jobs/{id}/retry", API: true, Perm: access.PlatformJobs, h: s.apiRetryJob},

		// Pages.
		{Method: "GET", Path: "/{$}", h: s.pageHome},
		{Method: "GET", Path: "/problems/{slug}", h: s.pageProblem},
		{Method: "GET", Path: "/static/{file}", h: s.static},
		{Method: "GET", Path: "/s/{store}/{$}", h: s.pageStore},
		{Method: "GET", Path: "/s/{store}/products/{id}", h: s.pageProduct},
		{Method: "GET", Path: "/s/{store}/login", h: s.pageLogin},
		{Method: "POST", Path: "/s/{store}/login", h: s.pageLoginPost},
		{Method: "POST", Path: "/s/{store}/login/mfa", h: s.pageLoginMFA},
		{Method: "GET", Path: "/s/{store}/register", h: s.pageRegister},
		{Method: "POST", Path: "/s/{store}/register", h: s.pageRegisterPost},
		{Method: "GET", Path: "/s/{store}/verify", h: s.pageVerify},
		{Method: "POST", Path: "/s/{store}/verify", h: s.pageVerifyPost},
		{Method: "GET", Path: "/s/{store}/forgot", h: s.pageForgot},
		{Method: "POST", Path: "/s/{store}/forgot", h: s.pageForgotPost},
		{Method: "GET", Path: "/s/{store}/reset", h: s.pageReset},
		{Method: "POST", Path: "/s/{store}/reset", h: s.pageResetPost},
		{Method: "GET", Path: "/s/{store}/account", Perm: access.AccountSelf, h: s.pageAccount},
		{Method: "POST", Path: "/s/{store}/account/password", Perm: access.AccountSelf, h: s.pageAccountPassword},
		{Method: "POST", Path: "/s/{store}/account/mfa", Perm: access.AccountSelf, h: s.pageAccountMFA},
		{Method: "POST", Path: "/s/{store}/account/mfa/confirm", Perm: access.AccountSelf, h: s.pageAccountMFAConfirm},
		{Method: "POST", Path: "/s/{store}/account/mfa/disable", Perm: access.AccountSelf, h: s.pageAccountMFADisable},
		{Method: "POST", Path: "/s/{store}/account/sessions/{id}/end", Perm: access.AccountSelf, h: s.pageAccountEndSession},
		{Method: "POST", Path: "/s/{store}/account/sessions/end-others", Perm: access.AccountSelf, h: s.pageAccountEndOthers},
		{Method: "GET", Path: "/s/{store}/account/export", Perm: access.AccountSelf, h: s.pageAccountExport},
		{Method: "POST", Path: "/s/{store}/account/delete", Perm: access.AccountSelf, h: s.pageAccountDelete},
		{Method: "POST", Path: "/s/{store}/account/addresses/{id}/delete", Perm: access.CartUse, h: s.pageAccountDeleteAddress},
		{Method: "GET", Path: "/s/{store}/admin", Perm: access.OrdersReadAll, h: s.pageAdmin},
		{Method: "GET", Path: "/s/{store}/admin/products", Perm: access.CatalogWrite, h: s.pageAdminProducts},
		{Method: "POST", Path: "/s/{store}/admin/products", Perm: access.CatalogWrite, h: s.pageAdminProductCreate},
		{Method: "GET", Path: "/s/{store}/admin/products/export.csv", Perm: access.CatalogWrite, h: s.pageAdminExport},
		{Method: "POST", Path: "/s/{store}/admin/products/import", Perm: access.CatalogWrite, h: s.pageAdminImport},
		{Method: "GET", Path: "/s/{store}/admin/products/{id}", Perm: access.InventoryAdjust, h: s.pageAdminProduct},
		{Method: "POST", Path: "/s/{store}/admin/products/{id}", Perm: access.CatalogWrite, h: s.pageAdminProductUpdate},
		{Method: "POST", Path: "/s/{store}/admin/products/{id}/stock", Perm: access.InventoryAdjust, h: s.pageAdminStock},
		{Method: "POST", Path: "/s/{store}/admin/products/{id}/archive", Perm: access.CatalogArchive, h: s.pageAdminArchive},
		{Method: "GET", Path: "/s/{store}/admin/orders", Perm: access.OrdersReadAll, h: s.pageAdminOrders},
		{Method: "GET", Path: "/s/{store}/admin/orders.csv", Perm: access.OrdersReadAll, h: s.pageAdminOrdersCSV},
		{Method: "GET", Path: "/s/{store}/admin/orders/{id}", Perm: access.OrdersReadAll, h: s.pageAdminOrder},
		{Method: "GET", Path: "/s/{store}/admin/orders/{id}/packing-slip", Perm: access.OrdersReadAll, h: s.pagePackingSlip},
		{Method: "GET", Path: "/s/{store}/admin/fulfilment", Perm: access.OrdersUpdateStatus, h: s.pageAdminFulfilment},
		{Method: "GET", Path: "/s/{store}/admin/shipping", Perm: access.StoreSettings, h: s.pageAdminShipping},
		{Method: "POST", Path: "/s/{store}/admin/shipping", Perm: access.StoreSettings, h: s.pageAdminShippingPost},
		{Method: "POST", Path: "/s/{store}/admin/orders/{id}/status", Perm: access.OrdersUpdateStatus, h: s.pageAdminOrderStatus},
		{Method: "POST", Path: "/s/{store}/admin/orders/{id}/refund", Perm: access.OrdersRefund, h: s.pageAdminRefund},
		{Method: "GET", Path: "/s/{store}/admin/users", Perm: access.UsersRead, h: s.pageAdminUsers},
		{Method: "POST", Path: "/s/{store}/admin/users", Perm: access.UsersManage, h: s.pageAdminUserCreate},
		{Method: "POST", Path: "/s/{store}/admin/users/{id}", Perm: access.UsersManage, h: s.pageAdminUserAction},
		{Method: "GET", Path: "/s/{store}/admin/reports", Perm: access.ReportsRead, h: s.pageAdminReports},
		{Method: "GET", Path: "/s/{store}/admin/reports.csv", Perm: access.ReportsRead, h: s.pageAdminReportCSV},
		{Method: "GET", Path: "/s/{store}/admin/audit", Perm: access.AuditRead, h: s.pageAdminAudit},
		{Method: "GET", Path: "/s/{store}/admin/jobs", Perm: access.JobsManage, h: s.pageAdminJobs},
		{Method: "POST", Path: "/s/{store}/admin/jobs/{id}/retry", Perm: access.JobsManage, h: s.pageAdminJobRetry},
		{Method: "POST", Path: "/platform/stores", Perm: access.PlatformStores, h: s.pagePlatformCreate},
		{Method: "POST", Path: "/platform/stores/{slug}/status", Perm: access.PlatformStores, h: s.pagePlatformStatus},
		{Method: "POST", Path: "/platform/jobs/{id}/retry", Perm: access.PlatformJobs, h: s.pagePlatformJobRetry},
		{Method: "GET", Path: "/platform/login", h: s.pageLogin},
		{Method: "POST", Path: "/platform/login", h: s.pageLoginPost},
		{Method: "POST", Path: "/platform/login/mfa", h: s.pageLoginMFA},
		{Method: "GET", Path: "/platform/{$}", Perm: access.PlatformStores, h: s.pagePlatform},
		{Method: "GET", Path: "/platform/account", Perm: access.PlatformAccount, h: s.pageAccount},
		{Method: "POST", Path: "/platform/account/password", Perm: access.PlatformAccount, h: s.pageAccountPassword},
		{Method: "POST", Path: "/platform/account/mfa", Perm: access.PlatformAccount, h: s.pageAccountMFA},
		{Method: "POST", Path: "/platform/account/mfa/confirm", Perm: access.PlatformAccount, h: s.pageAccountMFAConfirm},
		{Method: "POST", Path: "/platform/account/sessions/{id}/end", Perm: access.PlatformAccount, h: s.pageAccountEndSession},
		{Method: "POST", Path: "/platform/account/sessions/end-others", Perm: access.PlatformAccount, h: s.pageAccountEndOthers},
		{Method: "POST", Path: "/logout", Auth: true, h: s.pageLogout},
		{Method: "GET", Path: "/s/{store}/cart", h: s.pageCart},
		{Method: "POST", Path: "/s/{store}/cart/items", h: s.pageCartAdd},
		{Method: "POST", Path: "/s/{store}/cart/items/{product_id}", h: s.pageCartSet},
		{Method: "GET", Path: "/s/{store}/checkout", Perm: access.CartUse, h: s.pageCheckout},
		{Method: "POST", Path: "/s/{store}/checkout", Perm: access.CartUse, h: s.pageCheckoutPost},
		{Method: "GET", Path: "/s/{store}/checkout/guest", h: s.pageCheckoutGuest},
		{Method: "POST", Path: "/s/{store}/checkout/guest", h: s.pageCheckoutGuestPost},
		{Method: "GET", Path: "/s/{store}/guest/orders/{token}", h: s.pageGuestOrder},
		{Method: "POST", Path: "/s/{store}/guest/orders/{token}/pay", h: s.pageGuestOrderPay},
		{Method: "POST", Path: "/s/{store}/guest/orders/{token}/cancel", h: s.pageGuestOrderCancel},
		{Method: "GET", Path: "/s/{store}/guest/orders/{token}/invoices/{invoice}", h: s.pageInvoice},
		{Method: "GET", Path: "/s/{store}/guest/orders/{token}/invoices/{invoice}/pdf", h: s.pageInvoicePDF},
		{Method: "GET", Path: "/s/{store}/orders", Perm: access.OrdersRead, h: s.pageOrders},
		{Method: "GET", Path: "/s/{store}/orders/{id}", Perm: access.OrdersRead, h: s.pageOrder},
		{Method: "GET", Path: "/s/{store}/orders/{id}/invoices/{invoice}", Perm: access.OrdersRead, h: s.pageInvoice},
		{Method: "GET", Path: "/s/{store}/orders/{id}/invoices/{invoice}/pdf", Perm: access.OrdersRead, h: s.pageInvoicePDF},
		{Method: "POST", Path: "/s/{store}/orders/{id}/pay", Perm: access.OrdersCancelOwn, h: s.pageOrderPay},
		{Method: "POST", Path: "/s/{store}/orders/{id}/cancel", Perm: access.OrdersCancelOwn, h: s.pageOrderCancel},
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		body := map[string]string{"status": "unavailable"}
		if e := shop.AsError(err); e != nil && e.Code == shop.CodeStorageFull {
			body["database"] = "unwritable"
		}
		return writeJSON(w, http.StatusServiceUnavailable, body)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
