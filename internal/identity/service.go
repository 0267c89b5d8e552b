// Package identity signs people in and keeps track of who they are: passwords, the one session
// registry shared by browsers and API clients, and access and refresh tokens.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/kv"
	"secureshop/internal/mail"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/vault"
)

// SessionStore is where sessions live: in this process, or in Redis when instances share them.
type SessionStore interface {
	Create(ctx context.Context, s shop.Session) error
	Get(ctx context.Context, id string) (shop.Session, error)
	ByToken(ctx context.Context, tokenHash string) (shop.Session, error)
	Touch(ctx context.Context, id string, at time.Time) error
	RotateRefresh(ctx context.Context, oldHash, newHash string) (shop.Session, error)
	Delete(ctx context.Context, id string) error
	DeleteUser(ctx context.Context, user shop.UserID) (int, error)
	ListUser(ctx context.Context, user shop.UserID) ([]shop.Session, error)
	ClearMFAEnroll(ctx context.Context, user shop.UserID) error
}

// Limits is where rate-limit windows and mailed codes live. (Account locks live in the database,
// so that they hold across restarts and the command line can lift them.)
type Limits interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error)
	// Release takes back an attempt Allow counted at at; Forget drops a window.
	Release(ctx context.Context, key string, at time.Time) error
	Forget(ctx context.Context, key string) error
	PutCode(ctx context.Context, key string, c kv.Code) error
	TakeCode(ctx context.Context, key, hash string, now time.Time, equal func(a, b string) bool) (bool, error)
	// Block, Blocked and Unblock keep a copy of account locks (see locked).
	Block(ctx context.Context, key string, until time.Time) error
	Blocked(ctx context.Context, key string, now time.Time) (time.Time, bool, error)
	Unblock(ctx context.Context, key string) error
}

// Mailer sends mail.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Config holds session lifetimes and the limits on guessing.
type Config struct {
	IdleTimeout     time.Duration // a session unused this long ends (default 30 minutes)
	AbsoluteTimeout time.Duration // a session ends this long after sign-in whatever its use (default 12 hours)
	AccessTTL       time.Duration // lifetime of an API access token (default and maximum 15 minutes)
	MaxSessions     int           // sessions per user; the oldest ends when a new one would pass it (default 10)

	AttemptsPerMinute   int           // sign-in, MFA, registration and reset attempts per account a minute (default 5)
	AttemptsPerIPMinute int           // the same per client address (default 5)
	LockAfter           int           // failures in a row that lock an account (default 10)
	LockFor             time.Duration // how long a lock lasts (default 15 minutes)
	BaseURL             string        // for links in mail, e.g. https://shop.example.com
	OnLockout           func()        // called when an account locks (metrics)
}

// Deps are what the identity service works with.
type Deps struct {
	DB        *sqlstore.DB
	Sessions  SessionStore
	Limits    Limits
	Hasher    *Hasher
	Signer    *Signer
	Vault     *vault.Vault
	Mailer    Mailer
	DeviceKey []byte           // signs device tokens (see devices.go); derived from the shop's secret
	Now       func() time.Time // nil for the wall clock
	Log       *slog.Logger
}

// Service is the identity service.
type Service struct {
	db        *sqlstore.DB
	sessions  SessionStore
	limits    Limits
	hasher    *Hasher
	signer    *Signer
	vault     *vault.Vault
	mailer    Mailer
	deviceKey []byte
	cfg       Config
	now       func() time.Time
	log       *slog.Logger

	work chan func(context.Context) // afterAnswer's queue, worked in order by one goroutine
	done chan struct{}
}

// New returns an identity service.
func New(d Deps, cfg Config) *Service {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = 12 * time.Hour
	}
	if cfg.AccessTTL <= 0 || cfg.AccessTTL > 15*time.Minute {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10
	}
	if cfg.AttemptsPerMinute <= 0 {
		cfg.AttemptsPerMinute = 5
	}
	if cfg.AttemptsPerIPMinute <= 0 {
		cfg.AttemptsPerIPMinute = 5
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = 10
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 15 * time.Minute
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{db: d.DB, sessions: d.Sessions, limits: d.Limits, hasher: d.Hasher, signer: d.Signer, vault: d.Vault,
		mailer: d.Mailer, deviceKey: d.DeviceKey, cfg: cfg, now: d.Now, log: d.Log,
		work: make(chan func(context.Context), 256), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for fn := range s.work {
			fn(context.Background())
		}
	}()
	return s
}

// afterAnswer does fn after the request's answer, in the background and in order (a full queue
// runs fn in the caller instead: a backlog slows the shop rather than growing without end).
func (s *Service) afterAnswer(fn func(context.Context)) {
	select {
	case s.work <- fn:
	default:
		fn(context.Background())
	}
}

// Close waits for the work afterAnswer queued; the service takes none after it.
func (s *Service) Close() {
	close(s.work)
	<-s.done
}

// Hasher returns the password hasher, for commands that create users.
func (s *Service) Hasher() *Hasher { return s.hasher }

// Meta describes where a request comes from: the client's address and agent, and the device tokens
// it holds from earlier sign-ins (see devices.go).
type Meta struct {
	IP        string
	UserAgent string
	Devices   []string
}

// Tokens are what an API sign-in or refresh returns.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	// DeviceToken marks this client as one that signed in to the account: presented at its next
	// sign-ins, it keeps them from being locked out by failures from elsewhere.
	DeviceToken string `json:"device_token,omitempty"`
}

// Session kinds.
const (
	KindBrowser = "browser"
	KindAPI     = "api"
)

// record writes an audit entry in its own transaction. The audit log must not silently lose
// entries, so a failure is logged as an error.
func (s *Service) record(ctx context.Context, store shop.StoreID, r audit.Record) {
	_ = s.mustRecord(ctx, store, r)
}

// ErrAuditUnavailable refuses what must be audited when its record cannot be written.
var ErrAuditUnavailable = &shop.Error{Kind: shop.KindUnavailable, Code: shop.CodeAuditUnavailable,
	Message: "The shop cannot keep its records right now, so it cannot do this; try again in a moment."}

// mustRecord writes an audit entry and says whether it could: what may only happen audited (a
// sign-in) is refused when it cannot.
func (s *Service) mustRecord(ctx context.Context, store shop.StoreID, r audit.Record) error {
	err := s.db.Update(context.WithoutCancel(ctx), store, func(ctx context.Context, tx *sqlstore.Tx) error {
		_, err := tx.AppendAudit(ctx, r)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "action", r.Action, "err", err)
		return &shop.Error{Kind: ErrAuditUnavailable.Kind, Code: ErrAuditUnavailable.Code, Message: ErrAuditUnavailable.Message, Err: err}
	}
	return nil
}

func (s *Service) tokens(sess shop.Session, refresh string) (Tokens, error) {
	access, err := s.signer.Sign(sess.UserID, sess.StoreID, sess.Role, sess.ID, s.now(), s.cfg.AccessTTL)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL / time.Second)}, nil
}

// Refresh trades a refresh token for a new pair. The old refresh token dies; presenting a dead
// one again ends the whole session, since one of its two holders is not its owner.
func (s *Service) Refresh(ctx context.Context, refresh string, meta Meta) (Tokens, error) {
	next, nextHash := newToken()
	sess, err := s.sessions.RotateRefresh(ctx, HashToken(refresh), nextHash)
	if err != nil && !errors.Is(err, kv.ErrRefreshReuse) && !errors.Is(err, kv.ErrNotFound) {
		return Tokens{}, unavailable(err)
	}
	if errors.Is(err, kv.ErrRefreshReuse) {
		actor := principalOf(sess)
		actor.IP = meta.IP
		s.record(ctx, sess.StoreID, audit.Record{Actor: actor, Action: "auth.refresh.reuse",
			TargetType: "session", TargetID: sess.ID, Detail: map[string]string{"effect": "session revoked"}})
		return Tokens{}, shop.ErrUnauthenticated
	}
	if err != nil {
		return Tokens{}, shop.ErrUnauthenticated
	}
	if err := s.alive(ctx, sess); err != nil {
		return Tokens{}, err
	}
	_ = s.sessions.Touch(ctx, sess.ID, s.now().UTC())
	return s.tokens(sess, next)
}

// alive checks a session's idle and absolute limits, ending it when one has passed.
func (s *Service) alive(ctx context.Context, sess shop.Session) error {
	now := s.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) > s.cfg.IdleTimeout {
		_ = s.sessions.Delete(ctx, sess.ID)
		return shop.ErrUnauthenticated
	}
	return nil
}

// AuthenticateBearer checks an API access token and the session it is bound to. A token whose
// session was ended (logout, revocation) stops working at once, whatever its own expiry.
func (s *Service) AuthenticateBearer(ctx context.Context, token string, meta Meta) (shop.Principal, error) {
	c, err := s.signer.Verify(token, s.now())
	if err != nil {
		return shop.Principal{}, shop.ErrUnauthenticated
	}
	sess, err := s.sessions.Get(ctx, c.SessionID)
	if err != nil {
		return shop.Principal{}, lookupErr(err)
	}
	if sess.Kind != KindAPI || string(sess.UserID) != c.Subject {
		return shop.Principal{}, shop.ErrUnauthenticated
	}
	if err := s.alive(ctx, sess); err != nil {
		return shop.Principal{}, err
	}
	_ = s.sessions.Touch(ctx, sess.ID, s.now().UTC())
	p := principalOf(sess)
	p.IP = meta.IP
	return p, nil
}

// AuthenticateCookie checks a browser session cookie's token.
func (s *Service) AuthenticateCookie(ctx context.Context, token string, meta Meta) (shop.Principal, shop.Session, error) {
	if token == "" || len(token) > 100 {
		return shop.Principal{}, shop.Session{}, shop.ErrUnauthenticated
	}
	sess, err := s.sessions.ByToken(ctx, HashToken(token))
	if err != nil {
		return shop.Principal{}, shop.Session{}, lookupErr(err)
	}
	if sess.Kind != KindBrowser {
		return shop.Principal{}, shop.Session{}, shop.ErrUnauthenticated
	}
	if err := s.alive(ctx, sess); err != nil {
		return shop.Principal{}, shop.Session{}, err
	}
	_ = s.sessions.Touch(ctx, sess.ID, s.now().UTC())
	p := principalOf(sess)
	p.IP = meta.IP
	return p, sess, nil
}

// Logout ends the principal's session, for browser and API alike.
func (s *Service) Logout(ctx context.Context, p shop.Principal) error {
	if p.SessionID == "" {
		return shop.ErrUnauthenticated
	}
	if err := s.sessions.Delete(ctx, p.SessionID); err != nil {
		return unavailable(fmt.Errorf("end session: %w", err))
	}
	s.record(ctx, p.StoreID, audit.Record{Actor: p, Action: "auth.logout", TargetType: "session", TargetID: p.SessionID})
	return nil
}

// EndUserSessions ends every session of a user (deactivation, revocation by an admin).
func (s *Service) EndUserSessions(ctx context.Context, user shop.UserID) (int, error) {
	return s.sessions.DeleteUser(ctx, user)
}

func principalOf(sess shop.Session) shop.Principal {
	return shop.Principal{UserID: sess.UserID, StoreID: sess.StoreID, Role: sess.Role, Email: sess.Email,
		SessionID: sess.ID, IP: sess.IP, MFAEnrollRequired: sess.MFAEnroll}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Me returns the signed-in user and their store (nil for operators).
func (s *Service) Me(ctx context.Context, p shop.Principal) (shop.User, *shop.Store, error) {
	if !p.Authenticated() {
		return shop.User{}, nil, shop.ErrUnauthenticated
	}
	var u shop.User
	var st *shop.Store
	err := s.db.View(ctx, p.StoreID, func(tx *sqlstore.Tx) error {
		var err error
		if p.StoreID == "" {
			u, err = tx.OperatorByID(ctx, p.UserID)
			return err
		}
		if u, err = tx.UserByID(ctx, p.StoreID, p.UserID); err != nil {
			return err
		}
		store, err := tx.StoreByID(ctx, p.StoreID)
		st = &store
		return err
	})
	return u, st, err
}

// StoreOf returns the store of a signed-in store member.
func (s *Service) StoreOf(ctx context.Context, p shop.Principal) (shop.Store, error) {
	var st shop.Store
	err := s.db.View(ctx, p.StoreID, func(tx *sqlstore.Tx) (err error) { st, err = tx.StoreByID(ctx, p.StoreID); return })
	return st, err
}

// unavailable is the answer when the shared store (Redis) does not answer: sign-in fails closed,
// with a clear 503, and works again by itself when the store is back.
func unavailable(err error) error {
	return &shop.Error{Kind: shop.KindUnavailable, Message: "Sign-in is unavailable right now; try again in a moment.", Err: err}
}

// lookupErr tells a missing session (401) from a store that does not answer (503).
func lookupErr(err error) error {
	if errors.Is(err, kv.ErrNotFound) {
		return shop.ErrUnauthenticated
	}
	return unavailable(err)
}
