package shop

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// StoreID identifies a store (tenant). Tenant-owned repository methods take one as a required argument.
type StoreID string

// UserID identifies a user, in a store or on the platform.
type UserID string

// NewID returns a new opaque, time-ordered identifier (UUIDv7).
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s is an identifier as NewID makes them: a UUID in its canonical form
// (lower case, with hyphens). Checking it before a query keeps malformed ids away from
// PostgreSQL's uuid parser (which would answer with an error), and makes both databases treat the
// same id alike: SQLite compares ids as text, PostgreSQL as UUIDs, which would find "ABC…" where
// SQLite does not.
func ValidID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// Role is a user's role inside one store, or the platform operator role above all stores.
type Role string

// The roles. RoleOperator belongs to no store.
const (
	RoleAdmin    Role = "admin"
	RoleClerk    Role = "clerk"
	RoleCustomer Role = "customer"
	RoleOperator Role = "operator"
	// RoleSystem is the command line acting on the operator's own machine. No session ever holds it:
	// the database refuses it as a user's role.
	RoleSystem Role = "system"
)

// System is the principal of the command line (store and user administration from a shell).
func System() Principal { return Principal{UserID: "system", Role: RoleSystem, IP: "local"} }

// StoreRoles are the roles a store member can have, highest first.
var StoreRoles = []Role{RoleAdmin, RoleClerk, RoleCustomer}

// Rank orders store roles: a higher rank may grant lower or equal roles.
func (r Role) Rank() int {
	switch r {
	case RoleSystem:
		return 4
	case RoleAdmin:
		return 3
	case RoleClerk:
		return 2
	case RoleCustomer:
		return 1
	}
	return 0
}

// Staff reports whether r is a store's staff: its admins and clerks.
func (r Role) Staff() bool { return r == RoleAdmin || r == RoleClerk }

// NeedsMFA reports whether accounts of role must sign in with a second factor: staff and platform
// operators.
func (r Role) NeedsMFA() bool { return r.Staff() || r == RoleOperator }

// ValidStoreRole reports whether r is a role a store member can hold.
func (r Role) ValidStoreRole() bool { return r.Rank() > 0 && r.Rank() < 4 }

// Principal is who is acting: the signed-in user, their store and role, and the session they use.
// The zero Principal is an anonymous visitor.
type Principal struct {
	UserID    UserID
	StoreID   StoreID // empty for platform operators
	Role      Role
	Email     string
	SessionID string
	IP        string
	// MFAEnrollRequired is set for staff signed in without a second factor: until they enrol,
	// only their own account is open to them.
	MFAEnrollRequired bool
}

// Authenticated reports whether the principal is a signed-in user.
func (p Principal) Authenticated() bool { return p.UserID != "" }

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`)

// ValidSlug reports whether s is a valid store slug.
func ValidSlug(s string) bool { return slugRE.MatchString(s) }

// StoreStatus is whether a store trades.
type StoreStatus string

// Store statuses.
const (
	StoreActive    StoreStatus = "active"
	StoreSuspended StoreStatus = "suspended"
)

// Store is a tenant.
type Store struct {
	ID        StoreID     `json:"id"`
	Slug      string      `json:"slug"`
	Name      string      `json:"name"`
	Currency  string      `json:"currency"`
	Status    StoreStatus `json:"status"`
	CreatedAt time.Time   `json:"created_at"`
}

// User is a member of a store, or a platform operator (StoreID empty).
type User struct {
	ID              UserID
	StoreID         StoreID
	Email           string
	Name            string
	Role            Role
	PasswordHash    string
	Active          bool
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Session is one signed-in device: a browser (cookie) or an API client (tokens). Tokens are kept only
// as hashes.
type Session struct {
	ID          string
	UserID      UserID
	StoreID     StoreID
	Role        Role
	Email       string
	Kind        string // "browser" or "api"
	IP          string
	UserAgent   string
	CSRFToken   string // per-session form token (browser)
	TokenHash   string // hash of the browser cookie token
	RefreshHash string // hash of the current refresh token (API)
	CreatedAt   time.Time
	LastSeen    time.Time
	ExpiresAt   time.Time // absolute end, whatever the activity
	MFAEnroll   bool      // staff signed in without a second factor: only enrolment is open to them
	Pending     string    // for a sign-in waiting for its second factor: the kind of session it will become
}

// NormalizeEmail is the one form in which e-mail addresses are stored and compared.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateEmail checks the shape of an e-mail address and returns its normal form; a refusal
// names field.
func ValidateEmail(field, email string) (string, *FieldError) {
	e := NormalizeEmail(email)
	a, err := mail.ParseAddress(e)
	if e == "" || len(e) > 254 || err != nil || a.Address != e || a.Name != "" || strings.HasSuffix(e, ".invalid") || strings.HasSuffix(e, "@invalid") {
		return "", &FieldError{Field: field, Message: "must be a valid e-mail address"}
	}
	return e, nil
}

// UserPage is one page of a user listing.
type UserPage struct {
	Users      []User
	NextCursor string
}

// ValidText checks a free-text field from a user: valid UTF-8, at most max characters, and no
// control characters — except newlines and tabs when multiline.
func ValidText(s string, max int, multiline bool) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return false
		}
	}
	return true
}
