package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Token purposes and lifetimes.
const (
	purposeVerify = "verify-email"
	purposeReset  = "reset-password"
	verifyTTL     = 24 * time.Hour
	resetTTL      = 30 * time.Minute
)

func (s *Service) link(st shop.Store, page, token string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/s/" + st.Slug + "/" + page + "?token=" + url.QueryEscape(token)
}

// Register opens a customer account and mails a verification link (single use, 24 hours). It
// answers the same way, after the same work, whether or not the address already has an account;
// an existing owner is told by mail instead.
func (s *Service) Register(ctx context.Context, st shop.Store, email, password, name string, meta Meta) error {
	e, ferr := ValidateEmail("email", email)
	if ferr != nil {
		return shop.Invalid(*ferr)
	}
	if fe := validateName(name); fe != nil {
		return shop.Invalid(*fe)
	}
	if err := s.guard(ctx, "register", st.ID, acctKey(st.ID, e), meta); err != nil {
		return err
	}
	var composition bool
	if err := s.db.View(ctx, st.ID, func(tx *sqlstore.Tx) (err error) { composition, err = tx.PasswordComposition(ctx, st.ID); return }); err != nil {
		return err
	}
	if err := CheckPasswordPolicy("password", password, e, name, composition); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, NormalizePassword(password))
	if err != nil {
		return err
	}
	token, tokenHash := newToken()
	exists := false
	err = s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if _, err := tx.UserByEmail(ctx, st.ID, e); err == nil {
			exists = true
			return nil
		} else if shop.KindOf(err) != shop.KindNotFound {
			return err
		}
		u := shop.User{Email: e, Name: strings.TrimSpace(name), Role: shop.RoleCustomer, PasswordHash: hash, Active: true}
		if err := tx.CreateUser(ctx, st.ID, &u); err != nil {
			return err
		}
		return tx.CreateToken(ctx, tokenHash, sqlstore.OneTimeToken{StoreID: st.ID, UserID: u.ID, Purpose: purposeVerify,
			ExpiresAt: s.now().Add(verifyTTL)})
	})
	if errors.Is(err, shop.ErrDuplicate) { // registered a moment ago by a concurrent request
		exists, err = true, nil
	}
	if err != nil {
		return err
	}
	if exists {
		s.send(ctx, e, st.Name+": someone tried to register with your address",
			"Someone tried to open an account at "+st.Name+" with this e-mail address, which already has one.\n\n"+
				"If it was you, sign in instead, or reset your password. Otherwise you can ignore this mail.\n")
		return nil
	}
	s.send(ctx, e, st.Name+": confirm your e-mail address",
		"Welcome to "+st.Name+".\n\nOpen this link to confirm your e-mail address (it works once, for 24 hours):\n\n"+
			s.link(st, "verify", token)+"\n")
	return nil
}

var errBadLink = shop.Invalid(shop.FieldError{Field: "token", Message: "the link is invalid, already used or expired"})

// VerifyEmail spends a verification token.
func (s *Service) VerifyEmail(ctx context.Context, st shop.Store, token string) error {
	if token == "" || len(token) > 100 {
		return errBadLink
	}
	return s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		user, err := tx.UseToken(ctx, st.ID, purposeVerify, HashToken(token), s.now())
		if errors.Is(err, sqlstore.ErrTokenInvalid) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		if err := tx.MarkEmailVerified(ctx, st.ID, user); err != nil {
			return err
		}
		// The address is theirs: the orders they placed with it as a guest are theirs to see now.
		u, err := tx.UserByID(ctx, st.ID, user)
		if err != nil || u.Role != shop.RoleCustomer {
			return err
		}
		_, err = tx.AttachGuestOrders(ctx, st.ID, user, u.Email)
		return err
	})
}

// ForgotPassword mails a reset link (single use, 30 minutes) when the address has an active
// account. It answers the same either way, and as soon as the address and the limits are checked:
// looking the account up, making the token and writing the mail happen after the answer, so that
// an address with an account takes no longer to answer than one without.
func (s *Service) ForgotPassword(ctx context.Context, st shop.Store, email string, meta Meta) error {
	e, ferr := ValidateEmail("email", email)
	if ferr != nil {
		return shop.Invalid(*ferr)
	}
	if err := s.guard(ctx, "forgot", st.ID, acctKey(st.ID, e), meta); err != nil {
		return err
	}
	s.afterAnswer(func(ctx context.Context) {
		if err := s.mailReset(ctx, st, e); err != nil {
			s.log.ErrorContext(ctx, "password reset mail failed", "err", err)
		}
	})
	return nil
}

func (s *Service) mailReset(ctx context.Context, st shop.Store, e string) error {
	token, tokenHash := newToken()
	var u shop.User
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if u, err = tx.UserByEmail(ctx, st.ID, e); err != nil || !u.Active {
			u = shop.User{}
			return nil
		}
		return tx.CreateToken(ctx, tokenHash, sqlstore.OneTimeToken{StoreID: st.ID, UserID: u.ID, Purpose: purposeReset,
			ExpiresAt: s.now().Add(resetTTL)})
	})
	if err != nil || u.ID == "" {
		return err
	}
	s.send(ctx, e, st.Name+": reset your password",
		"Open this link to choose a new password (it works once, for 30 minutes):\n\n"+s.link(st, "reset", token)+
			"\n\nIf you did not ask for this, ignore this mail; your password stays as it is.\n")
	return nil
}

// ResetPassword spends a reset token, sets the new password, ends every session of the user and
// lifts a lock (the mail proved who they are).
func (s *Service) ResetPassword(ctx context.Context, st shop.Store, token, password string, meta Meta) error {
	if token == "" || len(token) > 100 {
		return errBadLink
	}
	var u shop.User
	err := s.db.Update(ctx, st.ID, func(ctx context.Context, tx *sqlstore.Tx) error {
		id, err := tx.UseToken(ctx, st.ID, purposeReset, HashToken(token), s.now())
		if errors.Is(err, sqlstore.ErrTokenInvalid) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, st.ID, id); err != nil {
			return err
		}
		composition, err := tx.PasswordComposition(ctx, st.ID)
		if err != nil {
			return err
		}
		if err := CheckPasswordPolicy("password", password, u.Email, u.Name, composition); err != nil {
			return err // the transaction rolls back: the token stays usable for a better password
		}
		hash, err := s.hasher.Hash(ctx, NormalizePassword(password))
		if err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, st.ID, u.ID, hash); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: shop.Principal{UserID: u.ID, StoreID: st.ID, Role: u.Role, IP: meta.IP},
			Action: "auth.password.reset", TargetType: "user", TargetID: string(u.ID)})
		return err
	})
	if err != nil {
		return err
	}
	_, _ = s.sessions.DeleteUser(ctx, u.ID)
	return s.clearFailures(ctx, st.ID, u.Email)
}

// ChangePassword sets a new password after checking the current one, and ends the user's other sessions.
func (s *Service) ChangePassword(ctx context.Context, p shop.Principal, current, next string, meta Meta) error {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return err
	}
	account := acctKey(p.StoreID, p.Email)
	if err := s.guard(ctx, "password", p.StoreID, account, meta); err != nil {
		return err
	}
	u, err := s.userOf(ctx, p.StoreID, p.UserID)
	if err != nil {
		return err
	}
	if ok, _, err := s.hasher.Verify(ctx, current, u.PasswordHash); err != nil || !ok {
		s.failed(ctx, p.StoreID, s.sourceOf(p.StoreID, p.Email, meta), u.Email, u, meta)
		return shop.Invalid(shop.FieldError{Field: "current_password", Message: "is not your current password"})
	}
	composition := false
	if p.StoreID != "" {
		if err := s.db.View(ctx, p.StoreID, func(tx *sqlstore.Tx) (err error) { composition, err = tx.PasswordComposition(ctx, p.StoreID); return }); err != nil {
			return err
		}
	}
	if err := CheckPasswordPolicy("new_password", next, u.Email, u.Name, composition); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, NormalizePassword(next))
	if err != nil {
		return err
	}
	err = s.db.Update(ctx, p.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.SetPasswordHash(ctx, p.StoreID, p.UserID, hash); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: p, Action: "auth.password.change", TargetType: "user", TargetID: string(p.UserID)})
		return err
	})
	if err != nil {
		return err
	}
	_, err = s.endSessions(ctx, p, false)
	return err
}

// Sessions lists the principal's signed-in sessions, newest first.
func (s *Service) Sessions(ctx context.Context, p shop.Principal) ([]shop.Session, error) {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return nil, err
	}
	all, err := s.sessions.ListUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	var out []shop.Session
	for _, sess := range all {
		if (sess.Kind == KindAPI || sess.Kind == KindBrowser) && s.alive(ctx, sess) == nil {
			out = append(out, sess)
		}
	}
	return out, nil
}

// EndSession ends one of the principal's own sessions; another user's session is not found.
func (s *Service) EndSession(ctx context.Context, p shop.Principal, id string) error {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return err
	}
	sess, err := s.sessions.Get(ctx, id)
	if err != nil || sess.UserID != p.UserID || (sess.Kind != KindAPI && sess.Kind != KindBrowser) {
		return shop.NotFound("Session")
	}
	return s.sessions.Delete(ctx, id)
}

// EndOtherSessions ends every session of the principal but the current one.
func (s *Service) EndOtherSessions(ctx context.Context, p shop.Principal) (int, error) {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return 0, err
	}
	return s.endSessions(ctx, p, false)
}

func (s *Service) endSessions(ctx context.Context, p shop.Principal, all bool) (int, error) {
	list, err := s.sessions.ListUser(ctx, p.UserID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sess := range list {
		if sess.ID == p.SessionID && !all {
			continue
		}
		if err := s.sessions.Delete(ctx, sess.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DeleteAccount erases a customer's personal data after checking their password. Their orders
// stay, anonymised, for the store's books; every session ends.
func (s *Service) DeleteAccount(ctx context.Context, p shop.Principal, password string, meta Meta) error {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return err
	}
	if p.Role != shop.RoleCustomer {
		return shop.Errorf(shop.KindConflict, "Staff accounts are closed by an administrator.")
	}
	account := acctKey(p.StoreID, p.Email)
	if err := s.guard(ctx, "password", p.StoreID, account, meta); err != nil {
		return err
	}
	u, err := s.userOf(ctx, p.StoreID, p.UserID)
	if err != nil {
		return err
	}
	if ok, _, err := s.hasher.Verify(ctx, password, u.PasswordHash); err != nil || !ok {
		s.failed(ctx, p.StoreID, s.sourceOf(p.StoreID, p.Email, meta), u.Email, u, meta)
		return shop.Invalid(shop.FieldError{Field: "password", Message: "is not your current password"})
	}
	placeholder, err := s.hasher.Hash(ctx, newTokenOnly())
	if err != nil {
		return err
	}
	err = s.db.Update(ctx, p.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.AnonymiseUser(ctx, p.StoreID, p.UserID, placeholder); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: p, Action: "user.delete-self", TargetType: "user", TargetID: string(p.UserID)})
		return err
	})
	if err != nil {
		return err
	}
	_, err = s.sessions.DeleteUser(ctx, p.UserID)
	return err
}

func newTokenOnly() string { t, _ := newToken(); return t }

// UnlockUser lifts a lock on a member of store (admin).
func (s *Service) UnlockUser(ctx context.Context, actor shop.Principal, store shop.StoreID, id shop.UserID) error {
	if err := access.CheckStore(actor, store, access.UsersManage, "User"); err != nil {
		return err
	}
	u, err := s.GetUser(ctx, actor, store, id)
	if err != nil {
		return err
	}
	if err := s.clearFailures(ctx, store, u.Email); err != nil {
		return err
	}
	s.record(ctx, store, audit.Record{Actor: actor, Action: "user.unlock", TargetType: "user", TargetID: string(id)})
	return nil
}

// ResetOperatorMFA removes a platform operator's second factor, for one who lost their device and
// their recovery codes; their sessions end and they enrol again at their next sign-in. Only the
// command line may do this (an operator cannot lift another's second factor over the web).
func (s *Service) ResetOperatorMFA(ctx context.Context, actor shop.Principal, email string) (shop.User, error) {
	if actor.Role != shop.RoleSystem {
		return shop.User{}, shop.ErrForbidden
	}
	var u shop.User
	err := s.db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) (err error) {
		if u, err = tx.OperatorByEmail(ctx, email); err != nil {
			return err
		}
		if err := tx.RemoveMFA(ctx, u.ID); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "operator.reset-mfa", TargetType: "user", TargetID: string(u.ID)})
		return err
	})
	if err != nil {
		return shop.User{}, err
	}
	_, err = s.sessions.DeleteUser(ctx, u.ID)
	return u, err
}

// ResetUserMFA removes a member's second factor (admin), for one who lost their device; their
// sessions end and staff must enrol again at their next sign-in.
func (s *Service) ResetUserMFA(ctx context.Context, actor shop.Principal, store shop.StoreID, id shop.UserID) error {
	if err := access.CheckStore(actor, store, access.UsersManage, "User"); err != nil {
		return err
	}
	if _, err := s.GetUser(ctx, actor, store, id); err != nil {
		return err
	}
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.RemoveMFA(ctx, id); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "user.reset-mfa", TargetType: "user", TargetID: string(id)})
		return err
	})
	if err != nil {
		return err
	}
	_, err = s.sessions.DeleteUser(ctx, id)
	return err
}
