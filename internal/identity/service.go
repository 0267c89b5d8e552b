// Package identity signs people in and keeps track of who they are: passwords, the one session
// registry shared by browsers and API clients, and access and refresh tokens.
package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/kv"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// SessionStore is where sessions live: in this process, or in Redis when instances share them.
type SessionStore interface {
	Create(ctx context.Context, s kv.Session) error
	Get(ctx context.Context, id string) (kv.Session, error)
	ByToken(ctx context.Context, tokenHash string) (kv.Session, error)
	Touch(ctx context.Context, id string, at time.Time) error
	RotateRefresh(ctx context.Context, oldHash, newHash string) (kv.Session, error)
	Delete(ctx context.Context, id string) error
	DeleteUser(ctx context.Context, user shop.UserID) (int, error)
	ListUser(ctx context.Context, user shop.UserID) ([]kv.Session, error)
	SetCart(ctx context.Context, id string, cart map[string]int) error
}

// Config holds session lifetimes.
type Config struct {
	IdleTimeout     time.Duration // a session unused this long ends (default 30 minutes)
	AbsoluteTimeout time.Duration // a session ends this long after sign-in whatever its use (default 12 hours)
	AccessTTL       time.Duration // lifetime of an API access token (default and maximum 15 minutes)
}

// Service is the identity service.
type Service struct {
	db       *sqlstore.DB
	sessions SessionStore
	hasher   *Hasher
	signer   *Signer
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
}

// New returns an identity service. now may be nil for the wall clock.
func New(db *sqlstore.DB, sessions SessionStore, hasher *Hasher, signer *Signer, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = 12 * time.Hour
	}
	if cfg.AccessTTL <= 0 || cfg.AccessTTL > 15*time.Minute {
		cfg.AccessTTL = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, sessions: sessions, hasher: hasher, signer: signer, cfg: cfg, now: now, log: log}
}

// Hasher returns the password hasher, for commands that create users.
func (s *Service) Hasher() *Hasher { return s.hasher }

// Meta describes where a request comes from.
type Meta struct {
	IP        string
	UserAgent string
}

// Tokens are what an API sign-in or refresh returns.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Session kinds.
const (
	KindBrowser = "browser"
	KindAPI     = "api"
	KindVisitor = "visitor" // a browser not signed in, holding a cart
)

// checkPassword signs a user of store (or a platform operator when store is nil) in by e-mail and
// password. Every failure — unknown e-mail, wrong password, deactivated account, suspended store —
// answers shop.ErrInvalidCredentials after the same amount of work, and is audited.
func (s *Service) checkPassword(ctx context.Context, store *shop.Store, email, password string, meta Meta) (shop.User, error) {
	var storeID shop.StoreID
	if store != nil {
		storeID = store.ID
	}
	var u shop.User
	err := s.db.View(ctx, storeID, func(tx *sqlstore.Tx) error {
		var err error
		if store != nil {
			u, err = tx.UserByEmail(ctx, storeID, email)
		} else {
			u, err = tx.OperatorByEmail(ctx, email)
		}
		return err
	})
	if err != nil && shop.KindOf(err) != shop.KindNotFound {
		return shop.User{}, err
	}
	if len(password) > 1024 {
		password = password[:1024] // bounded work; the policy allows at most 128 characters anyway
	}
	ok, rehash, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil && u.ID != "" {
		s.log.ErrorContext(ctx, "stored password hash unreadable", "user_id", u.ID, "err", err)
	}
	reason := ""
	switch {
	case u.ID == "":
		reason = "unknown e-mail"
	case !ok:
		reason = "wrong password"
	case !u.Active:
		reason = "account deactivated"
	case store != nil && store.Status != shop.StoreActive:
		reason = "store suspended"
	}
	actor := shop.Principal{UserID: u.ID, StoreID: storeID, Role: u.Role, Email: u.Email, IP: meta.IP}
	if reason != "" {
		s.record(ctx, storeID, audit.Record{Actor: actor, Action: "auth.login.failure", TargetType: "user",
			TargetID: string(u.ID), Detail: map[string]string{"email": sqlstore.NormalizeEmail(email), "reason": reason}})
		return shop.User{}, shop.ErrInvalidCredentials
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			err = s.db.Update(ctx, storeID, func(tx *sqlstore.Tx) error { return tx.SetPasswordHash(ctx, storeID, u.ID, h) })
			if err != nil {
				s.log.WarnContext(ctx, "password hash upgrade failed", "user_id", u.ID, "err", err)
			}
		}
	}
	return u, nil
}

// record writes an audit entry in its own transaction. The audit log must not silently lose
// entries, so a failure is logged as an error.
func (s *Service) record(ctx context.Context, store shop.StoreID, r audit.Record) {
	err := s.db.Update(context.WithoutCancel(ctx), store, func(tx *sqlstore.Tx) error {
		_, err := tx.AppendAudit(ctx, r)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "action", r.Action, "err", err)
	}
}

func (s *Service) newSession(u shop.User, kind string, meta Meta) kv.Session {
	now := s.now().UTC()
	return kv.Session{
		ID: shop.NewID(), UserID: u.ID, StoreID: u.StoreID, Role: u.Role, Email: u.Email, Kind: kind,
		IP: meta.IP, UserAgent: truncate(meta.UserAgent, 200), CSRFToken: rand.Text(),
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.AbsoluteTimeout),
	}
}

// LoginAPI signs in over the API and returns a token pair bound to a new session.
func (s *Service) LoginAPI(ctx context.Context, store *shop.Store, email, password string, meta Meta) (Tokens, error) {
	u, err := s.checkPassword(ctx, store, email, password, meta)
	if err != nil {
		return Tokens{}, err
	}
	sess := s.newSession(u, KindAPI, meta)
	refresh, refreshHash := newToken()
	sess.RefreshHash = refreshHash
	if err := s.sessions.Create(ctx, sess); err != nil {
		return Tokens{}, err
	}
	s.record(ctx, u.StoreID, audit.Record{Actor: principalOf(sess), Action: "auth.login.success", TargetType: "session",
		TargetID: sess.ID, Detail: map[string]string{"kind": KindAPI}})
	return s.tokens(sess, refresh)
}

// LoginBrowser signs in from a browser and returns the new cookie token. A fresh token is made at
// every sign-in, so a token planted before sign-in is worthless after it.
func (s *Service) LoginBrowser(ctx context.Context, store *shop.Store, email, password string, meta Meta) (string, kv.Session, error) {
	u, err := s.checkPassword(ctx, store, email, password, meta)
	if err != nil {
		return "", kv.Session{}, err
	}
	sess := s.newSession(u, KindBrowser, meta)
	token, hash := newToken()
	sess.TokenHash = hash
	if err := s.sessions.Create(ctx, sess); err != nil {
		return "", kv.Session{}, err
	}
	s.record(ctx, u.StoreID, audit.Record{Actor: principalOf(sess), Action: "auth.login.success", TargetType: "session",
		TargetID: sess.ID, Detail: map[string]string{"kind": KindBrowser}})
	return token, sess, nil
}

func (s *Service) tokens(sess kv.Session, refresh string) (Tokens, error) {
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
func (s *Service) alive(ctx context.Context, sess kv.Session) error {
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
	if err != nil || sess.Kind != KindAPI || string(sess.UserID) != c.Subject {
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
func (s *Service) AuthenticateCookie(ctx context.Context, token string, meta Meta) (shop.Principal, kv.Session, error) {
	if token == "" || len(token) > 100 {
		return shop.Principal{}, kv.Session{}, shop.ErrUnauthenticated
	}
	sess, err := s.sessions.ByToken(ctx, HashToken(token))
	if err != nil || sess.Kind != KindBrowser {
		return shop.Principal{}, kv.Session{}, shop.ErrUnauthenticated
	}
	if err := s.alive(ctx, sess); err != nil {
		return shop.Principal{}, kv.Session{}, err
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
		return fmt.Errorf("end session: %w", err)
	}
	s.record(ctx, p.StoreID, audit.Record{Actor: p, Action: "auth.logout", TargetType: "session", TargetID: p.SessionID})
	return nil
}

// EndUserSessions ends every session of a user (deactivation, revocation by an admin).
func (s *Service) EndUserSessions(ctx context.Context, user shop.UserID) (int, error) {
	return s.sessions.DeleteUser(ctx, user)
}

func principalOf(sess kv.Session) shop.Principal {
	return shop.Principal{UserID: sess.UserID, StoreID: sess.StoreID, Role: sess.Role, Email: sess.Email,
		SessionID: sess.ID, IP: sess.IP}
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

// VisitorCart returns the cart of a visitor's session token, empty when there is none.
func (s *Service) VisitorCart(ctx context.Context, token string) map[string]int {
	sess, err := s.visitor(ctx, token)
	if err != nil {
		return nil
	}
	return sess.Cart
}

func (s *Service) visitor(ctx context.Context, token string) (kv.Session, error) {
	if token == "" || len(token) > 100 {
		return kv.Session{}, kv.ErrNotFound
	}
	sess, err := s.sessions.ByToken(ctx, HashToken(token))
	if err != nil || sess.Kind != KindVisitor {
		return kv.Session{}, kv.ErrNotFound
	}
	if err := s.alive(ctx, sess); err != nil {
		return kv.Session{}, kv.ErrNotFound
	}
	_ = s.sessions.Touch(ctx, sess.ID, s.now().UTC())
	return sess, nil
}

// SetVisitorCart stores a visitor's cart in their session, starting one when token names none.
// It returns the token to keep in the visitor's cookie (a new one when a session was started).
func (s *Service) SetVisitorCart(ctx context.Context, token string, cart map[string]int, meta Meta) (string, error) {
	if sess, err := s.visitor(ctx, token); err == nil {
		return token, s.sessions.SetCart(ctx, sess.ID, cart)
	}
	if len(cart) > 100 {
		return "", shop.Invalid(shop.FieldError{Field: "cart", Message: "holds too many products"})
	}
	sess := s.newSession(shop.User{}, KindVisitor, meta)
	token, sess.TokenHash = newToken()
	sess.Cart = cart
	return token, s.sessions.Create(ctx, sess)
}

// EndVisitor ends a visitor's session, after its cart moved into a customer's.
func (s *Service) EndVisitor(ctx context.Context, token string) {
	if sess, err := s.visitor(ctx, token); err == nil {
		_ = s.sessions.Delete(ctx, sess.ID)
	}
}
