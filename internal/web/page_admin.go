package web

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/catalog"
	"secureshop/internal/identity"
	"secureshop/internal/jobs"
	"secureshop/internal/orders"
	"secureshop/internal/reports"
	"secureshop/internal/shop"
)

// adminState is what the back-office pages show; each page fills its part.
type adminState struct {
	Dashboard *reports.Dashboard
	Chart     template.HTML // server-rendered SVG
	Report    *reports.Sales
	Products  []productView
	Product   *productView
	Ledger    []shop.LedgerEntry
	Orders    []orderView
	Order     *orderView
	Users     []userView
	Events    []audit.Event
	Jobs      []jobs.Failed
	Import    *catalog.ImportReport
	Shipping  *shippingAdmin
	Filter    map[string]string
	Can       map[string]bool
	// A refused form shown again: what was typed in it, by field name, and the message for each
	// field that was wrong, shown beside it.
	Form  map[string]string
	Wrong map[string]string
}

func (s *Server) admin(r *http.Request, a *adminState) pageData {
	p := infoOf(r).principal
	a.Can = map[string]bool{}
	for _, perm := range []access.Permission{access.ReportsRead, access.CatalogWrite, access.CatalogArchive, access.InventoryAdjust,
		access.OrdersReadAll, access.OrdersUpdateStatus, access.OrdersRefund, access.UsersRead, access.UsersManage, access.AuditRead, access.JobsManage,
		access.StoreSettings} {
		a.Can[string(perm)] = access.Can(p.Role, perm)
	}
	if a.Filter == nil {
		a.Filter = map[string]string{}
	}
	return pageData{Title: "Back office", Admin: a}
}

// back returns to the page the form came from, within the back office.
func back(w http.ResponseWriter, r *http.Request, path string) error {
	// #nosec G710 -- a path inside this store's back office, built from the store's slug and our own constants
	http.Redirect(w, r, "/s/"+infoOf(r).store.Slug+"/admin"+path, http.StatusSeeOther)
	return nil
}

// formError is err when a back-office form can answer it in place (the person can put it right);
// nil for what the ordinary error pages answer: a fault, a page not found, a session that ended.
func formError(err error) *shop.Error {
	e := shop.AsError(err)
	if e == nil || e.Kind == shop.KindInternal || e.Kind == shop.KindNotFound || e.Kind == shop.KindUnauthenticated {
		return nil
	}
	return e
}

// adminFail shows a form's error on a plain message page with the right status.
func (s *Server) adminFail(w http.ResponseWriter, r *http.Request, err error) error {
	e := formError(err)
	if e == nil {
		return err
	}
	status, _, _ := statusOf(err)
	s.renderStatus(w, r, status, "message", pageData{Title: "That did not work", Flash: e.Message, Alert: true, Errors: e.Fields})
	return nil
}

func (s *Server) pageAdmin(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	a := &adminState{}
	if access.Can(info.principal.Role, access.ReportsRead) {
		d, err := s.reports.Dashboard(r.Context(), info.principal, *info.store)
		if err != nil {
			return err
		}
		a.Dashboard = &d
		a.Chart = barChart(d.Last30)
		for _, o := range d.Latest {
			a.Orders = append(a.Orders, viewOrder(o))
		}
	}
	return s.render(w, r, "admin_dashboard", s.admin(r, a))
}

// barChart draws net sales per period as an SVG bar chart, with a title and a text alternative.
func barChart(rep reports.Sales) template.HTML {
	const w, h, pad = 720, 200, 24
	var max int64 = 1
	for _, b := range rep.Buckets {
		if b.Gross.Amount > max {
			max = b.Gross.Amount
		}
	}
	n := len(rep.Buckets)
	if n == 0 {
		return ""
	}
	bw := float64(w-2*pad) / float64(n)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title"><title id="chart-title">Sales per %s, %s to %s: gross %s, refunds %s, net %s</title>`,
		w, h, rep.Interval, rep.From.Format("2 Jan"), rep.To.AddDate(0, 0, -1).Format("2 Jan"),
		rep.Total.Gross, rep.Total.Refunds, rep.Total.Net)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, pad, h-pad, w-pad, h-pad)
	for i, b := range rep.Buckets {
		x := float64(pad) + float64(i)*bw
		gh := float64(h-2*pad) * float64(b.Gross.Amount) / float64(max)
		rh := float64(h-2*pad) * float64(b.Refunds.Amount) / float64(max)
		fmt.Fprintf(&sb, `<rect class="gross" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s gross</title></rect>`,
			x+1, float64(h-pad)-gh, bw-2, gh, b.Start.Format("2 Jan"), b.Gross)
		if b.Refunds.Amount > 0 {
			fmt.Fprintf(&sb, `<rect class="refund" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s refunded</title></rect>`,
				x+1, float64(h-pad)-rh, bw-2, rh, b.Start.Format("2 Jan"), b.Refunds)
		}
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="label">%s</text><text x="%d" y="%d" class="label" text-anchor="end">%s</text></svg>`,
		pad, h-6, rep.From.Format("2 Jan"), w-pad, h-6, rep.To.AddDate(0, 0, -1).Format("2 Jan"))
	return template.HTML(sb.String()) // #nosec G203 -- built here from numbers and dates only; no user text
}

func (s *Server) pageAdminProducts(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	q, err := catalogQuery(r)
	if err != nil {
		return err
	}
	q.Limit = 100
	page, err := s.catalog.Products(r.Context(), info.store.ID, q)
	if err != nil {
		return err
	}
	a := &adminState{Products: viewProducts(page.Products, info.store.Currency), Filter: map[string]string{"q": q.Text}}
	return s.render(w, r, "admin_products", s.admin(r, a))
}

func (s *Server) pageAdminProductCreate(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	in, err := productForm(r, true)
	if err != nil {
		return s.adminFail(w, r, err)
	}
	p, err := s.catalog.CreateProduct(r.Context(), info.principal, *info.store, in)
	if err != nil {
		return s.adminFail(w, r, err)
	}
	return back(w, r, "/products/"+p.ID)
}

// productForm reads the product form; the price is typed as a decimal amount (12.50).
func productForm(r *http.Request, creating bool) (catalog.ProductInput, error) {
	str := func(name string) *string {
		if !creating && r.PostFormValue(name) == "" {
			return nil
		}
		v := r.PostFormValue(name)
		return &v
	}
	in := catalog.ProductInput{SKU: str("sku"), Name: str("name"), Description: str("description"), Category: str("category")}
	if v := strings.TrimSpace(r.PostFormValue("price")); v != "" || creating {
		minor, ok := shop.ParseAmount(infoOf(r).store.Currency, v)
		if !ok {
			return in, shop.Invalid(shop.FieldError{Field: "price", Message: "must be an amount such as " + shop.M(1250, infoOf(r).store.Currency).Decimal()})
		}
		in.Price = &shop.Money{Amount: minor}
	}
	if v := strings.TrimSpace(r.PostFormValue("weight_grams")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return in, shop.Invalid(shop.FieldError{Field: "weight_grams", Message: "must be a whole number of grams"})
		}
		in.WeightGrams = &n
	}
	if v := shop.TaxClass(r.PostFormValue("tax_class")); v != "" {
		in.TaxClass = &v
	}
	if creating {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("stock")))
		if err != nil {
			return in, shop.Invalid(shop.FieldError{Field: "stock", Message: "must be a whole number"})
		}
		in.Stock = &n
	}
	return in, nil
}

func (s *Server) pageAdminProduct(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	p, ledger, err := s.catalog.Ledger(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewProduct(p, info.store.Currency)
	return s.render(w, r, "admin_product", s.admin(r, &adminState{Product: &v, Ledger: ledger}))
}

func (s *Server) pageAdminProductUpdate(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	in, err := productForm(r, false)
	if err != nil {
		return s.adminFail(w, r, err)
	}
	if _, err := s.catalog.UpdateProduct(r.Context(), info.principal, *info.store, r.PathValue("id"), in); err != nil {
		return s.adminFail(w, r, err)
	}
	return back(w, r, "/products/"+r.PathValue("id"))
}

func (s *Server) pageAdminStock(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	delta, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("delta")))
	if err != nil {
		return s.adminFail(w, r, shop.Invalid(shop.FieldError{Field: "delta", Message: "must be a whole number, negative to take stock away"}))
	}
	if _, _, err := s.catalog.AdjustStock(r.Context(), info.principal, info.store.ID, r.PathValue("id"), delta, r.PostFormValue("reason"),
		s.idempotency(r, formBody(r))); err != nil {
		return s.adminFail(w, r, err)
	}
	return back(w, r, "/products/"+r.PathValue("id"))
}

func (s *Server) pageAdminArchive(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.catalog.ArchiveProduct(r.Context(), info.principal, info.store.ID, r.PathValue("id")); err != nil {
		return s.adminFail(w, r, err)
	}
	return back(w, r, "/products")
}

func (s *Server) pageAdminOrders(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	status := shop.OrderStatus(r.URL.Query().Get("status"))
	page, err := s.orders.List(r.Context(), info.principal, info.store.ID, shop.OrderFilter{Status: status, Cursor: cursor, Limit: limit})
	if err != nil {
		return err
	}
	a := &adminState{Filter: map[string]string{"status": string(status), "next": page.NextCursor}}
	for _, o := range page.Orders {
		a.Orders = append(a.Orders, viewOrder(o))
	}
	return s.render(w, r, "admin_orders", s.admin(r, a))
}

func (s *Server) pageAdminOrder(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	o, err := s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewOrder(o)
	return s.render(w, r, "admin_order", s.admin(r, &adminState{Order: &v}))
}

func (s *Server) pageAdminOrderStatus(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	ship := &orders.Shipment{Carrier: r.PostFormValue("carrier"), TrackingNumber: r.PostFormValue("tracking_number")}
	_, _, err := s.orders.Advance(r.Context(), info.principal, info.store.ID, r.PathValue("id"), shop.OrderStatus(r.PostFormValue("status")),
		r.PostFormValue("note"), ship, s.idempotency(r, formBody(r)))
	if e := formError(err); e != nil && r.PostFormValue("from") == "fulfilment" {
		return s.fulfilmentAgain(w, r, e)
	}
	if err != nil {
		return s.adminFail(w, r, err)
	}
	if r.PostFormValue("from") == "fulfilment" {
		return back(w, r, "/fulfilment")
	}
	return back(w, r, "/orders/"+r.PathValue("id"))
}

// pageAdminRefund refunds from the order page: an amount (empty for everything not yet refunded),
// a reason, and for each line how many come back to the shelf (fields restock-LINE_ID).
func (s *Server) pageAdminRefund(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	req := orders.RefundRequest{Reason: r.PostFormValue("reason"), Idempotency: s.idempotency(r, formBody(r))}
	if v := strings.TrimSpace(r.PostFormValue("amount")); v != "" {
		a, ok := shop.ParseAmount(info.store.Currency, v)
		if !ok {
			return s.refundAgain(w, r, req, shop.Invalid(shop.FieldError{Field: "amount", Message: "must be an amount such as " + shop.M(1250, info.store.Currency).Decimal()}))
		}
		req.Amount = &shop.Money{Amount: a, Currency: info.store.Currency}
	}
	for name, vs := range r.PostForm {
		line, ok := strings.CutPrefix(name, "restock-")
		if !ok || len(vs) != 1 || strings.TrimSpace(vs[0]) == "" || strings.TrimSpace(vs[0]) == "0" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil || n < 0 {
			return s.refundAgain(w, r, req, shop.Invalid(shop.FieldError{Field: name, Message: "must be a whole number of units"}))
		}
		req.Restock = append(req.Restock, orders.Return{LineID: line, Quantity: n})
	}
	if _, _, err := s.orders.Refund(r.Context(), info.principal, info.store.ID, r.PathValue("id"), req); err != nil {
		return s.refundAgain(w, r, req, err)
	}
	return back(w, r, "/orders/"+r.PathValue("id"))
}

// refundAgain answers a refused refund with the order's page again: the form keeps what was
// typed, each wrong field has its message beside it, and the refusal is said at the top.
func (s *Server) refundAgain(w http.ResponseWriter, r *http.Request, req orders.RefundRequest, err error) error {
	e := formError(err)
	if e == nil {
		return err
	}
	info := infoOf(r)
	o, gerr := s.orders.Get(r.Context(), info.principal, info.store.ID, r.PathValue("id"))
	if gerr != nil {
		return s.adminFail(w, r, err)
	}
	v := viewOrder(o)
	a := &adminState{Order: &v, Form: map[string]string{}, Wrong: map[string]string{}}
	for name, vs := range r.PostForm {
		if name != "csrf" && name != idempotencyField && len(vs) == 1 {
			a.Form[name] = vs[0]
		}
	}
	for _, f := range e.Fields {
		a.Wrong[refundFormField(f.Field, req)] = f.Message
	}
	status, _, _ := statusOf(err)
	d := s.admin(r, a)
	d.Flash, d.Alert = "Nothing was refunded: "+e.Message, true
	if e.Kind == shop.KindInvalid && len(e.Fields) > 0 {
		d.Flash = "Nothing was refunded: see the fields marked below."
	}
	s.renderStatus(w, r, status, "admin_order", d)
	return nil
}

// refundFormField names the form's field for a field of a refused refund request:
// "amount.amount" is the amount, "restock[i].quantity" the line's restock field.
func refundFormField(field string, req orders.RefundRequest) string {
	if strings.HasPrefix(field, "amount") {
		return "amount"
	}
	var i int
	if _, err := fmt.Sscanf(field, "restock[%d]", &i); err == nil && i >= 0 && i < len(req.Restock) {
		return "restock-" + req.Restock[i].LineID
	}
	return field
}

func (s *Server) pageAdminUsers(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	page, err := s.id.ListUsers(r.Context(), info.principal, info.store.ID, r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	a := &adminState{Filter: map[string]string{"next": page.NextCursor}}
	for _, u := range page.Users {
		a.Users = append(a.Users, viewUser(u))
	}
	return s.render(w, r, "admin_users", s.admin(r, a))
}

func (s *Server) pageAdminUserCreate(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	_, err := s.id.CreateUser(r.Context(), info.principal, info.store.ID, identity.NewUser{Email: r.PostFormValue("email"),
		Name: r.PostFormValue("name"), Role: shop.Role(r.PostFormValue("role")), Password: r.PostFormValue("password")})
	if err != nil {
		return s.adminFail(w, r, err)
	}
	return back(w, r, "/users")
}

// pageAdminUserAction changes a user: role, deactivate, activate, unlock, reset-mfa, end-sessions.
func (s *Server) pageAdminUserAction(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	id := shop.UserID(r.PathValue("id"))
	ctx, p, st := r.Context(), info.principal, info.store.ID
	var err error
	switch r.PostFormValue("action") {
	case "role":
		role := shop.Role(r.PostFormValue("role"))
		_, err = s.id.UpdateUser(ctx, p, st, id, identity.UserPatch{Role: &role})
	case "deactivate", "activate":
		active := r.PostFormValue("action") == "activate"
		_, err = s.id.UpdateUser(ctx, p, st, id, identity.UserPatch{Active: &active})
	case "unlock":
		err = s.id.UnlockUser(ctx, p, st, id)
	case "reset-mfa":
		err = s.id.ResetUserMFA(ctx, p, st, id)
	case "end-sessions":
		_, err = s.id.RevokeSessions(ctx, p, st, id)
	default:
		err = shop.Invalid(shop.FieldError{Field: "action", Message: "is not something this page does"})
	}
	if err != nil {
		return s.adminFail(w, r, err)
	}
	return back(w, r, "/users")
}

func (s *Server) pageAdminReports(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.salesReport(r)
	if err != nil {
		return err
	}
	a := &adminState{Report: &rep, Chart: barChart(rep), Filter: map[string]string{
		"from": rep.From.Format("2006-01-02"), "to": rep.To.Format("2006-01-02"), "interval": rep.Interval}}
	return s.render(w, r, "admin_reports", s.admin(r, a))
}

func (s *Server) pageAdminReportCSV(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.salesReport(r)
	if err != nil {
		return err
	}
	return writeReportCSV(w, rep, r.URL.Query().Get("report"))
}

// pageAdminAudit shows the audit log, filtered by actor, action and day, 200 entries at a time.
func (s *Server) pageAdminAudit(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	q := r.URL.Query()
	f := map[string]string{"actor": q.Get("actor"), "action": q.Get("action"), "date": q.Get("date")}
	var day time.Time
	if f["date"] != "" {
		var err error
		if day, err = time.Parse("2006-01-02", f["date"]); err != nil {
			return shop.Invalid(shop.FieldError{Field: "date", Message: "must be a date such as 2026-11-23"})
		}
	}
	var before int64
	a := &adminState{Filter: f}
	for pages := 0; pages < 20 && len(a.Events) < 200; pages++ {
		page, err := s.audit.List(r.Context(), info.principal, info.store.ID, before, 100)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if (f["actor"] == "" || e.ActorID == f["actor"]) && (f["action"] == "" || strings.HasPrefix(e.Action, f["action"])) &&
				(f["date"] == "" || e.OccurredAt.UTC().Format("2006-01-02") == day.Format("2006-01-02")) {
				a.Events = append(a.Events, e)
			}
		}
		if before = page.NextCursor; before == 0 {
			break
		}
	}
	return s.render(w, r, "admin_audit", s.admin(r, a))
}

func (s *Server) pageAdminExport(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="catalogue-`+info.store.Slug+`.csv"`)
	return s.catalog.ExportCSV(r.Context(), info.principal, *info.store, w)
}

// pageAdminImport takes an uploaded CSV; with "dry run" ticked it only reports what it would do.
func (s *Server) pageAdminImport(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	f, _, err := r.FormFile("file")
	if err != nil {
		return s.adminFail(w, r, shop.Invalid(shop.FieldError{Field: "file", Message: "choose a CSV file to import"}))
	}
	defer func() { _ = f.Close() }()
	file, err := io.ReadAll(f) // the upload was read whole by FormFile; this reads its copy
	if err != nil {
		return err
	}
	rep, err := s.catalog.ImportCSV(r.Context(), info.principal, *info.store, file, r.FormValue("dry_run") == "on")
	if err != nil {
		return s.adminFail(w, r, err)
	}
	page, err := s.catalog.Products(r.Context(), info.store.ID, catalog.Query{Limit: 100})
	if err != nil {
		return err
	}
	return s.render(w, r, "admin_products", s.admin(r, &adminState{Import: &rep, Products: viewProducts(page.Products, info.store.Currency)}))
}
