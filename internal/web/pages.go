package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"secureshop/internal/identity"
	"secureshop/internal/invoice"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

//go:embed templates static
var assets embed.FS

// pageData is what every page template gets.
type pageData struct {
	Title      string
	Store      *shop.Store
	User       *shop.Principal
	CSRF       string
	Problem    *problem
	ProblemDoc *problemDoc
	Stores     []shop.Store
	Products   []productView
	Content    template.HTML // the page's content, already rendered (the storefront's, see pageStore)
	Categories []categoryView
	Product    *productView
	NextCursor string
	Login      loginForm
	Query      queryState
	Cart       *cartView
	Checkout   *checkoutState
	Refresh    int // seconds after which the page reloads itself (a payment being confirmed); 0 for never
	Orders     []orderView
	Order      *orderView
	Flash      string // a message for the visitor: what went wrong, or what just happened
	Alert      bool   // Flash says what went wrong
	Errors     []shop.FieldError
	Account    *accountState
	Admin      *adminState
	Form       formState
	Key        string // a new Idempotency-Key for the page's forms that move money or stock
	Sheet      *invoice.Sheet
	DocPath    string // the document's page, for its PDF link
	Back       string // where the document's page leads back to
	Print      bool   // a document to print: printed without the shop's header and footer
	OrderBase  string // the path of the order's page: the customer's, or a guest's link
	Guest      bool   // a guest looks at their order through its link
	GuestsIn   bool   // the store lets visitors check out without an account
}

// formState carries what a visitor typed (never a password or a card) and hidden tokens.
type formState struct {
	Email    string
	Name     string
	Token    string // a mailed link's token, carried in a hidden field
	MFAToken string
	Next     string
}

// accountState is what the account page shows.
type accountState struct {
	Base          string // the account page's path: the store's, or the platform's
	Me            meView
	MFAEnabled    bool
	Enrollment    *identity.Enrollment
	RecoveryCodes []string
	Sessions      []sessionView
	Customer      bool // a store's customer: the address book is theirs
	Addresses     []sqlstore.SavedAddress
}

// queryState is the catalogue's search, filter and sort, to keep them in links and forms.
type queryState struct {
	Text     string
	Category string
	Sort     string
}

type categoryView struct {
	Slug string
	Name string
}

type loginForm struct {
	Action string
	Email  string
	Error  string
	Next   string
	Guest  string // the guest checkout, offered when the visitor came from the checkout and the store takes guests
}

// staticFiles maps a content-hashed name (app-1a2b3c4d.css) to a file, so that static files can
// be cached for a year and still change with each release.
var staticFiles, staticNames = func() (map[string][]byte, map[string]string) {
	files, names := map[string][]byte{}, map[string]string{}
	entries, err := fs.ReadDir(assets, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := assets.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "-" + hex.EncodeToString(sum[:4]) + ext
		files[hashed], names[e.Name()] = b, hashed
	}
	return files, names
}()

var funcs = template.FuncMap{
	"asset":         func(name string) string { return "/static/" + staticNames[name] },
	"money":         shop.Money.String,
	"status":        shop.OrderStatus.Label,
	"decimal":       shop.Money.Decimal,
	"isCustomer":    func(p *shop.Principal) bool { return p != nil && p.Role == shop.RoleCustomer },
	"isStaff":       func(p *shop.Principal) bool { return p != nil && p.Role.Staff() },
	"list":          func(xs ...string) []string { return xs },
	"args":          func(xs ...any) []any { return xs },
	"inc":           func(i int) int { return i + 1 },
	"args2money":    shop.M,
	"orderStatuses": func() []shop.OrderStatus { return shop.OrderStatuses },
	"staffMoves":    func() []shop.OrderStatus { return shop.StaffMoves },
	"jobKind":       jobKind,
	"fieldError":    fieldError,
	"rate":          shop.FormatRate,
	"safeURL":       func(s string) template.URL { return template.URL(s) }, // #nosec G203 -- only for the QR code data: URL the server made itself
}

// parsePages parses every page with the layout once, at start-up; a missing or broken template
// stops the shop from starting rather than failing a request later.
func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"home", "store", "product", "login", "platform", "error", "cart", "checkout", "orders", "order",
		"mfa", "register", "message", "problem", "verify", "forgot", "reset", "account",
		"admin_dashboard", "admin_products", "admin_product", "admin_orders", "admin_order", "admin_users", "admin_reports", "admin_audit", "admin_jobs",
		"admin_fulfilment", "packing_slip", "invoice", "admin_shipping"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page with status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, d pageData) error {
	s.renderStatus(w, r, http.StatusOK, name, d)
	return nil
}

// renderStatus renders into a buffer first, so that a template error becomes a clean error page
// rather than half a page.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	info := infoOf(r)
	if d.Store == nil {
		d.Store = info.store
	}
	if info.principal.Authenticated() {
		p := info.principal
		d.User = &p
	}
	if d.Key == "" {
		d.Key = rand.Text()
	}
	if info.session != nil {
		d.CSRF = info.session.CSRFToken
	} else {
		d.CSRF = s.preSessionCSRF(w, r)
	}
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if err := s.pages[name].Execute(buf, &d); err != nil {
		s.log.ErrorContext(r.Context(), "render failed", "request_id", info.id, "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Internal error. Request id " + info.id + "\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// preSessionCSRF returns the visitor's pre-sign-in form token, setting its cookie if needed.
func (s *Server) preSessionCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCSRFCookie); err == nil && len(c.Value) >= 20 && len(c.Value) <= 64 {
		return c.Value
	}
	v := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: v, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	return v
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) error {
	b, ok := staticFiles[r.PathValue("file")]
	if !ok {
		return shop.NotFound("File")
	}
	switch path.Ext(r.PathValue("file")) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, err := w.Write(b)
	return err
}
