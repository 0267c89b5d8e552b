package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"secureshop/internal/audit"
	"secureshop/internal/kv"
	"secureshop/internal/mail"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// ErrThrottled is the answer to too many attempts, or to attempts on a locked account. It says the
// same whether or not the account exists.
func errThrottled(retry time.Duration) error {
	return &shop.Error{Kind: shop.KindRateLimited, Message: "Too many attempts. Wait a while and try again.", RetryAfter: retry}
}

// acctKey names an account for limits: the store and the normalised e-mail, so that unknown
// addresses are limited exactly like known ones.
func acctKey(store shop.StoreID, email string) string {
	return "acct:" + string(store) + ":" + shop.NormalizeEmail(email)
}

// guard applies the per-address and per-account limits of an action whose every request counts
// (registration, password reset mail). Refused attempts are audited, once a minute per refused
// address or account (see recordRefusal).
func (s *Service) guard(ctx context.Context, action string, store shop.StoreID, account string, meta Meta) error {
	_, err := s.attempt(ctx, action, store, source{account: account}, meta)
	return err
}

// attempt counts an attempt of action against its limits — per address for an unknown source, and
// per account (or, for a known device, per device) — while it runs, and returns done, to be called
// with whether it succeeded: a success is taken back, so that only failures count. A typo and a
// second try, or colleagues signing in behind one office address, do not run into the limits; a
// flood of guesses does, as each guess counts from the moment it arrives until it fails.
func (s *Service) attempt(ctx context.Context, action string, store shop.StoreID, src source, meta Meta) (done func(succeeded bool), err error) {
	now := s.now()
	var counted []string
	done = func(succeeded bool) {
		if !succeeded {
			return
		}
		for _, k := range counted {
			if err := s.limits.Release(ctx, k, now); err != nil {
				s.log.WarnContext(ctx, "taking back a counted attempt failed", "err", err)
			}
		}
	}
	refused := src.key()
	ok, retry := true, time.Duration(0)
	if src.device == "" {
		refused = "ip:" + meta.IP
		if ok, retry, err = s.limits.Allow(ctx, action+":"+refused, s.cfg.AttemptsPerIPMinute, time.Minute, now); err != nil {
			return nil, unavailable(err)
		}
		if ok {
			counted = append(counted, action+":"+refused)
			refused = src.key()
		}
	}
	if ok {
		if ok, retry, err = s.limits.Allow(ctx, action+":"+src.key(), s.cfg.AttemptsPerMinute, time.Minute, now); err != nil {
			done(true)
			return nil, unavailable(err)
		}
		if ok {
			counted = append(counted, action+":"+src.key())
		}
	}
	if !ok {
		done(true)
		s.recordRefusal(ctx, store, action+":"+refused, audit.Record{Actor: shop.Principal{IP: meta.IP}, Action: "auth.throttled",
			TargetType: "account", Detail: map[string]string{"action": action, "account": src.account}})
		return nil, errThrottled(retry)
	}
	return done, nil
}

// recordRefusal records a refused attempt — at most once a minute for the same key (the address
// or account that was refused). A flood of refused attempts then costs no write each, and cannot
// grow the audit log at the attacker's pace; the entry says that repeats are left out.
func (s *Service) recordRefusal(ctx context.Context, store shop.StoreID, key string, r audit.Record) {
	if first, _, err := s.limits.Allow(ctx, "audit:"+r.Action+":"+key, 1, time.Minute, s.now()); err == nil && !first {
		return
	}
	detail := map[string]string{"repeats": "not logged for a minute"}
	for k, v := range r.Detail {
		detail[k] = v
	}
	r.Detail = detail
	s.record(ctx, store, r)
}

// locked refuses work on a locked account, correct password or not. The lock is kept in the
// database; a copy in the shared limits (Redis, or this process) is read first, so that a flood of
// attempts on a locked account — the usual shape of a guessing attack — costs no database read
// each. The copy is written when an account locks (failed) and removed before a lock is lifted
// (clearFailures); where it is missing — a restart of the in-process limits — the database answers.
func (s *Service) locked(ctx context.Context, store shop.StoreID, src source, email string, meta Meta) error {
	if src.device != "" { // a known device answers for itself: the account's lock is against the others
		return s.deviceLocked(ctx, store, src, meta)
	}
	now := s.now()
	until, ok, err := s.limits.Blocked(ctx, acctKey(store, email), now)
	if err != nil {
		return unavailable(err)
	}
	if !ok {
		var at *time.Time
		if err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { at, err = tx.LockedUntil(ctx, store, email, now); return }); err != nil {
			return err
		}
		if at == nil {
			return nil
		}
		until = *at
	}
	s.recordRefusal(ctx, store, acctKey(store, email), audit.Record{Actor: shop.Principal{IP: meta.IP},
		Action: "auth.locked-attempt", TargetType: "account", Detail: map[string]string{"account": shop.NormalizeEmail(email)}})
	return errThrottled(until.Sub(now))
}

// failed counts a failure in a row on an account from an unknown source, or on a known device;
// the LockAfter-th locks the account against unknown sources (or that device) and tells its owner.
func (s *Service) failed(ctx context.Context, store shop.StoreID, src source, email string, u shop.User, meta Meta) {
	if src.device != "" {
		s.deviceFailed(ctx, store, src, email, u, meta)
		return
	}
	until := s.now().Add(s.cfg.LockFor)
	var n int
	var locked bool
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
		n, locked, err = tx.RecordFailure(ctx, store, email, s.cfg.LockAfter, until)
		return
	})
	if err != nil {
		s.log.ErrorContext(ctx, "recording a failed attempt failed", "err", err)
		return
	}
	if !locked {
		return
	}
	if err := s.limits.Block(ctx, acctKey(store, email), until); err != nil {
		s.log.ErrorContext(ctx, "copying an account lock to the limits failed; the database still holds it", "err", err)
	}
	if s.cfg.OnLockout != nil {
		s.cfg.OnLockout()
	}
	s.record(ctx, store, audit.Record{Actor: shop.Principal{IP: meta.IP}, Action: "auth.lockout", TargetType: "user",
		TargetID: string(u.ID), Detail: map[string]string{"account": shop.NormalizeEmail(email), "failures": strconv.Itoa(n), "until": until.UTC().Format(time.RFC3339)}})
	if u.ID != "" {
		s.send(ctx, u.Email, "Your account is locked for a while",
			fmt.Sprintf("There were %d failed attempts to sign in to your account, so it is locked until %s UTC.\n\n"+
				"If that was not you, change your password when the lock ends. An administrator can also unlock it.\n",
				n, until.UTC().Format("15:04 on 2 Jan 2006")))
	}
}

// cleared ends the run of failures of the source that just succeeded: a known device's own, or —
// from an unknown source — the account's (and its lock; see clearFailures). A known device's
// success leaves the account's lock against the others in place.
func (s *Service) cleared(ctx context.Context, store shop.StoreID, src source, email string) error {
	if src.device != "" {
		if err := s.limits.Forget(ctx, "fail:"+src.key()); err != nil {
			return unavailable(err)
		}
		return nil
	}
	return s.clearFailures(ctx, store, email)
}

// clearFailures ends an account's run of failures (and any lock). The copy of the lock goes
// first: should the database then fail, the lock is still there and the next attempt reads it.
func (s *Service) clearFailures(ctx context.Context, store shop.StoreID, email string) error {
	if err := s.limits.Unblock(ctx, acctKey(store, email)); err != nil {
		return unavailable(err)
	}
	return s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.ClearFailures(ctx, store, email) })
}

// checkPassword checks e-mail and password for a user of store (or a platform operator when store
// is nil). Every failure — unknown e-mail, wrong password, deactivated account, suspended store —
// answers shop.ErrInvalidCredentials after the same amount of work, and is audited.
func (s *Service) checkPassword(ctx context.Context, store *shop.Store, email, password string, meta Meta) (shop.User, source, error) {
	var storeID shop.StoreID
	if store != nil {
		storeID = store.ID
	}
	src := s.sourceOf(storeID, email, meta)
	done, err := s.attempt(ctx, "login", storeID, src, meta)
	if err != nil {
		return shop.User{}, src, err
	}
	ok := false
	defer func() { done(ok) }()
	if err := s.locked(ctx, storeID, src, email, meta); err != nil {
		return shop.User{}, src, err
	}
	var u shop.User
	err = s.db.View(ctx, storeID, func(tx *sqlstore.Tx) error {
		var err error
		if store != nil {
			u, err = tx.UserByEmail(ctx, storeID, email)
		} else {
			u, err = tx.OperatorByEmail(ctx, email)
		}
		return err
	})
	if err != nil && shop.KindOf(err) != shop.KindNotFound {
		return shop.User{}, src, err
	}
	match, rehash, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil && u.ID != "" {
		s.log.ErrorContext(ctx, "stored password hash unreadable", "user_id", u.ID, "err", err)
	}
	reason := ""
	switch {
	case u.ID == "":
		reason = "unknown e-mail"
	case !match:
		reason = "wrong password"
	case !u.Active:
		reason = "account deactivated"
	case store != nil && store.Status != shop.StoreActive:
		reason = "store suspended"
	}
	actor := shop.Principal{UserID: u.ID, StoreID: storeID, Role: u.Role, Email: u.Email, IP: meta.IP}
	if reason != "" {
		s.record(ctx, storeID, audit.Record{Actor: actor, Action: "auth.login.failure", TargetType: "user",
			TargetID: string(u.ID), Detail: map[string]string{"email": shop.NormalizeEmail(email), "reason": reason}})
		if reason == "unknown e-mail" || reason == "wrong password" {
			s.failed(ctx, storeID, src, email, u, meta)
		}
		return shop.User{}, src, shop.ErrInvalidCredentials
	}
	ok = true
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			err = s.db.Update(ctx, storeID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.SetPasswordHash(ctx, storeID, u.ID, h) })
			if err != nil {
				s.log.WarnContext(ctx, "password hash upgrade failed", "user_id", u.ID, "err", err)
			}
		}
	}
	return u, src, nil
}

// Login is the outcome of a sign-in: a session, or a challenge for the second factor.
type Login struct {
	Session     shop.Session
	CookieToken string  // browser sessions
	Tokens      *Tokens // API sessions
	Challenge   *Challenge
	DeviceToken string   // for the client to keep, and present at its next sign-ins
	Devices     []string // all the device tokens a browser is to keep: this one first, and its others'
}

// Challenge asks for a second factor before a session is made.
type Challenge struct {
	Token   string   `json:"mfa_token"`
	Methods []string `json:"methods"`
}

// MFA methods.
const (
	MethodTOTP     = "totp"
	MethodEmail    = "email"
	MethodRecovery = "recovery_code"
)

// Login checks e-mail and password and either starts a session of kind (KindAPI or KindBrowser)
// or, for a user with a second factor, returns a challenge to answer with CompleteMFA.
func (s *Service) Login(ctx context.Context, store *shop.Store, email, password, kind string, meta Meta) (Login, error) {
	u, src, err := s.checkPassword(ctx, store, email, password, meta)
	if err != nil {
		return Login{}, err
	}
	enrolled, err := s.mfaEnrolled(ctx, u.ID)
	if err != nil {
		return Login{}, err
	}
	if enrolled {
		token, hash := newToken()
		pending := s.newSession(u, "mfa", meta)
		pending.TokenHash, pending.Pending = hash, kind
		pending.ExpiresAt = pending.CreatedAt.Add(5 * time.Minute)
		if err := s.sessions.Create(ctx, pending); err != nil {
			return Login{}, unavailable(err)
		}
		return Login{Challenge: &Challenge{Token: token, Methods: []string{MethodTOTP, MethodEmail, MethodRecovery}}}, nil
	}
	// Staff and platform operators must have a second factor: without one, only its enrolment opens.
	return s.startSession(ctx, u, src, kind, meta, u.Role.NeedsMFA(), "password")
}

// startSession makes the session of a signed-in user, ending their oldest sessions beyond the limit.
func (s *Service) startSession(ctx context.Context, u shop.User, src source, kind string, meta Meta, enrollOnly bool, how string) (Login, error) {
	sess := s.newSession(u, kind, meta)
	sess.MFAEnroll = enrollOnly
	var out Login
	switch kind {
	case KindAPI:
		refresh, hash := newToken()
		sess.RefreshHash = hash
		t, err := s.tokens(sess, refresh)
		if err != nil {
			return Login{}, err
		}
		out.Tokens = &t
	case KindBrowser:
		out.CookieToken, sess.TokenHash = newToken()
	default:
		return Login{}, errors.New("identity: unknown session kind")
	}
	if existing, err := s.sessions.ListUser(ctx, u.ID); err == nil {
		var live []shop.Session
		for _, e := range existing {
			if e.Kind == KindAPI || e.Kind == KindBrowser {
				live = append(live, e)
			}
		}
		for i := len(live) - 1; i >= 0 && i >= s.cfg.MaxSessions-1; i-- { // live is newest first
			_ = s.sessions.Delete(ctx, live[i].ID)
		}
	}
	if err := s.sessions.Create(ctx, sess); err != nil {
		return Login{}, unavailable(err)
	}
	// A sign-in is granted only with its record in the audit log: should the record not be written
	// (a full disk, a lost database), the session it made ends at once and the sign-in answers 503.
	if err := s.mustRecord(ctx, u.StoreID, audit.Record{Actor: principalOf(sess), Action: "auth.login.success", TargetType: "session",
		TargetID: sess.ID, Detail: map[string]string{"kind": kind, "factors": how}}); err != nil {
		_ = s.sessions.Delete(context.WithoutCancel(ctx), sess.ID)
		return Login{}, err
	}
	if err := s.cleared(ctx, u.StoreID, src, u.Email); err != nil {
		_ = s.sessions.Delete(context.WithoutCancel(ctx), sess.ID)
		return Login{}, err
	}
	out.DeviceToken = s.deviceToken(src.account)
	out.Devices = []string{out.DeviceToken}
	for _, t := range meta.Devices { // the client's tokens for other accounts stay; this account's older one goes
		if _, mine := s.verifyDevice(src.account, t); !mine && t != "" && len(out.Devices) < MaxDeviceTokens {
			out.Devices = append(out.Devices, t)
		}
	}
	if out.Tokens != nil {
		out.Tokens.DeviceToken = out.DeviceToken
	}
	out.Session = sess
	return out, nil
}

func (s *Service) newSession(u shop.User, kind string, meta Meta) shop.Session {
	now := s.now().UTC()
	return shop.Session{
		ID: shop.NewID(), UserID: u.ID, StoreID: u.StoreID, Role: u.Role, Email: u.Email, Kind: kind,
		IP: meta.IP, UserAgent: truncate(meta.UserAgent, 200), CSRFToken: rand.Text(),
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.AbsoluteTimeout),
	}
}

// LoginAPI signs in over the API without a second factor; for tests and tools.
func (s *Service) LoginAPI(ctx context.Context, store *shop.Store, email, password string, meta Meta) (Tokens, error) {
	l, err := s.Login(ctx, store, email, password, KindAPI, meta)
	if err != nil {
		return Tokens{}, err
	}
	if l.Tokens == nil {
		return Tokens{}, shop.Errorf(shop.KindUnauthenticated, "A second factor is required.")
	}
	return *l.Tokens, nil
}

// LoginBrowser signs in from a browser without a second factor; for tests and tools.
func (s *Service) LoginBrowser(ctx context.Context, store *shop.Store, email, password string, meta Meta) (string, shop.Session, error) {
	l, err := s.Login(ctx, store, email, password, KindBrowser, meta)
	if err != nil {
		return "", shop.Session{}, err
	}
	if l.CookieToken == "" {
		return "", shop.Session{}, shop.Errorf(shop.KindUnauthenticated, "A second factor is required.")
	}
	return l.CookieToken, l.Session, nil
}

// ErrMFAInvalid is the answer to a wrong, used or expired second-factor code.
var ErrMFAInvalid = &shop.Error{Kind: shop.KindUnauthenticated, Code: shop.CodeMFAInvalid, Message: "The code is wrong or has expired."}

// ErrCodeSent answers a request for an e-mail code: it was sent.
var ErrCodeSent = errors.New("code sent")

// CompleteMFA answers a sign-in challenge with a code, for a session of kind (the kind the
// sign-in asked for). With method "email" and no code, it mails a
// six-digit code (valid five minutes, single use, five tries) and returns ErrCodeSent.
func (s *Service) CompleteMFA(ctx context.Context, store *shop.Store, mfaToken, method, code, kind string, meta Meta) (Login, error) {
	var storeID shop.StoreID
	if store != nil {
		storeID = store.ID
	}
	if mfaToken == "" || len(mfaToken) > 100 {
		return Login{}, ErrMFAInvalid
	}
	pending, err := s.sessions.ByToken(ctx, HashToken(mfaToken))
	if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return Login{}, unavailable(err)
	}
	if err != nil || pending.Kind != "mfa" || pending.Pending != kind || pending.StoreID != storeID || !s.now().Before(pending.ExpiresAt) {
		return Login{}, ErrMFAInvalid
	}
	src := s.sourceOf(storeID, pending.Email, meta)
	if method == MethodEmail && code == "" {
		if err := s.guard(ctx, "mfa-mail", storeID, src.account, meta); err != nil {
			return Login{}, err
		}
		return Login{}, s.sendEmailCode(ctx, pending)
	}
	done, err := s.attempt(ctx, "mfa", storeID, src, meta)
	if err != nil {
		return Login{}, err
	}
	succeeded := false
	defer func() { done(succeeded) }()
	if err := s.locked(ctx, storeID, src, pending.Email, meta); err != nil {
		return Login{}, err
	}
	u, err := s.userOf(ctx, storeID, pending.UserID)
	if err != nil || !u.Active {
		return Login{}, ErrMFAInvalid
	}
	var ok bool
	switch method {
	case MethodTOTP:
		ok, err = s.checkTOTP(ctx, u, code)
	case MethodRecovery:
		ok, err = s.useRecoveryCode(ctx, u, code)
	case MethodEmail:
		ok, err = s.limits.TakeCode(ctx, "mailcode:"+string(u.ID), HashToken(string(u.ID)+":"+strings.TrimSpace(code)), s.now(), constantEqual)
	default:
		return Login{}, shop.Invalid(shop.FieldError{Field: "method", Message: "must be totp, email or recovery_code"})
	}
	if err != nil {
		return Login{}, err
	}
	if !ok {
		s.record(ctx, storeID, audit.Record{Actor: shop.Principal{UserID: u.ID, StoreID: storeID, Role: u.Role, IP: meta.IP},
			Action: "auth.mfa.failure", TargetType: "user", TargetID: string(u.ID), Detail: map[string]string{"method": method}})
		s.failed(ctx, storeID, src, u.Email, u, meta)
		return Login{}, ErrMFAInvalid
	}
	succeeded = true
	_ = s.sessions.Delete(ctx, pending.ID)
	return s.startSession(ctx, u, src, pending.Pending, meta, false, "password+"+method)
}

func (s *Service) userOf(ctx context.Context, store shop.StoreID, id shop.UserID) (shop.User, error) {
	var u shop.User
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) {
		if store == "" {
			u, err = tx.OperatorByID(ctx, id)
		} else {
			u, err = tx.UserByID(ctx, store, id)
		}
		return
	})
	return u, err
}

func (s *Service) sendEmailCode(ctx context.Context, pending shop.Session) error {
	code := sixDigits()
	err := s.limits.PutCode(ctx, "mailcode:"+string(pending.UserID), kv.Code{Hash: HashToken(string(pending.UserID) + ":" + code),
		ExpiresAt: s.now().Add(5 * time.Minute), TriesLeft: 5})
	if err != nil {
		return err
	}
	s.send(ctx, pending.Email, "Your sign-in code", "Your sign-in code is "+code+". It works once, for five minutes.\n\n"+
		"If you did not try to sign in, change your password.\n")
	return ErrCodeSent
}

// send mails a message; a failure is logged, never shown (it would tell whether an account exists).
func (s *Service) send(ctx context.Context, to, subject, body string) {
	if s.mailer == nil {
		return
	}
	if err := s.mailer.Send(context.WithoutCancel(ctx), mail.Message{To: to, Subject: subject, Body: body}); err != nil {
		s.log.ErrorContext(ctx, "mail failed", "subject", subject, "err", err)
	}
}
