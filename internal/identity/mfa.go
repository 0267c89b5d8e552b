package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"math/big"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func sixDigits() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000)) // crypto/rand never fails
	return fmt.Sprintf("%06d", n.Int64())
}

func (s *Service) mfaEnrolled(ctx context.Context, user shop.UserID) (bool, error) {
	var m sqlstore.MFA
	err := s.db.View(ctx, "", func(tx *sqlstore.Tx) (err error) { m, err = tx.MFAOf(ctx, user); return })
	if errors.Is(err, shop.ErrNoRows) {
		return false, nil
	}
	return err == nil && m.ConfirmedAt != nil, err
}

// matchTOTP finds the time step (now, or one step either side) whose code is code.
func (s *Service) matchTOTP(secret, code string) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	now := s.now().Unix() / totpPeriod
	for _, step := range []int64{now - 1, now, now + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && constantEqual(want, code) {
			return step, true
		}
	}
	return 0, false
}

// checkTOTP accepts a code of the user's confirmed secret once: a code of a step already used (or
// older) is refused, so an intercepted code cannot be replayed.
func (s *Service) checkTOTP(ctx context.Context, u shop.User, code string) (bool, error) {
	ok := false
	err := s.db.Update(ctx, u.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		m, err := tx.MFAOf(ctx, u.ID)
		if errors.Is(err, shop.ErrNoRows) || (err == nil && m.ConfirmedAt == nil) {
			return nil
		}
		if err != nil {
			return err
		}
		secret, err := s.vault.Open(m.TOTPSealed, string(u.ID))
		if err != nil {
			return err
		}
		step, match := s.matchTOTP(secret, code)
		if !match {
			return nil
		}
		if err := tx.UseTOTPStep(ctx, u.ID, step); errors.Is(err, shop.ErrNoRows) {
			return nil // replayed
		} else if err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

func recoveryHash(user shop.UserID, code string) string {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	return HashToken(string(user) + ":" + c)
}

func (s *Service) useRecoveryCode(ctx context.Context, u shop.User, code string) (bool, error) {
	if len(code) > 40 {
		return false, nil
	}
	err := s.db.Update(ctx, u.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.UseRecoveryCode(ctx, u.ID, recoveryHash(u.ID, code))
	})
	if errors.Is(err, shop.ErrNoRows) {
		return false, nil
	}
	if err == nil {
		s.record(ctx, u.StoreID, audit.Record{Actor: shop.Principal{UserID: u.ID, StoreID: u.StoreID, Role: u.Role},
			Action: "auth.recovery-code.used", TargetType: "user", TargetID: string(u.ID)})
	}
	return err == nil, err
}

// Enrollment is a new TOTP secret, shown once.
type Enrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRCode     string `json:"-"` // PNG as a data: URL, for the account page
}

// EnrollTOTP starts TOTP enrolment with a new secret (sealed at rest). It replaces an unconfirmed
// enrolment; a confirmed one must be disabled first.
func (s *Service) EnrollTOTP(ctx context.Context, p shop.Principal, issuer string) (Enrollment, error) {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return Enrollment{}, err
	}
	if on, err := s.mfaEnrolled(ctx, p.UserID); err != nil {
		return Enrollment{}, err
	} else if on {
		return Enrollment{}, shop.Errorf(shop.KindConflict, "Two-factor sign-in is already on; turn it off first to enrol again.")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: p.Email, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Enrollment{}, err
	}
	sealed := s.vault.Seal(key.Secret(), string(p.UserID))
	if err := s.db.Update(ctx, p.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.StartMFA(ctx, p.UserID, sealed) }); err != nil {
		return Enrollment{}, err
	}
	e := Enrollment{Secret: key.Secret(), OTPAuthURL: key.URL()}
	if img, err := key.Image(220, 220); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			e.QRCode = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	}
	return e, nil
}

// ConfirmTOTP finishes enrolment with a code from the authenticator and returns ten recovery
// codes, shown this once and kept only as hashes. Staff sessions waiting for enrolment open up.
func (s *Service) ConfirmTOTP(ctx context.Context, p shop.Principal, code string, meta Meta) ([]string, error) {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return nil, err
	}
	if err := s.guard(ctx, "mfa", p.StoreID, acctKey(p.StoreID, p.Email), meta); err != nil {
		return nil, err
	}
	var codes []string
	err := s.db.Update(ctx, p.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		m, err := tx.MFAOf(ctx, p.UserID)
		if errors.Is(err, shop.ErrNoRows) || (err == nil && m.ConfirmedAt != nil) {
			return shop.Errorf(shop.KindConflict, "Start enrolment first.")
		}
		if err != nil {
			return err
		}
		secret, err := s.vault.Open(m.TOTPSealed, string(p.UserID))
		if err != nil {
			return err
		}
		step, ok := s.matchTOTP(secret, code)
		if !ok {
			return shop.Invalid(shop.FieldError{Field: "code", Message: "is not the current code of your authenticator"})
		}
		if err := tx.ConfirmMFA(ctx, p.UserID, step); err != nil {
			return err
		}
		hashes := make([]string, 10)
		codes = make([]string, 10)
		for i := range codes {
			raw := rand.Text()[:10]
			codes[i] = raw[:5] + "-" + raw[5:]
			hashes[i] = recoveryHash(p.UserID, raw)
		}
		if err := tx.SetRecoveryCodes(ctx, p.UserID, hashes); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: p, Action: "auth.mfa.enrolled", TargetType: "user", TargetID: string(p.UserID)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return codes, s.sessions.ClearMFAEnroll(ctx, p.UserID)
}

// DisableTOTP turns TOTP off; it needs a current code (or a recovery code). Staff cannot: a second
// factor is mandatory for them.
func (s *Service) DisableTOTP(ctx context.Context, p shop.Principal, code string, meta Meta) error {
	if err := access.Check(p, access.AccountSelf); err != nil {
		return err
	}
	if p.Role.NeedsMFA() {
		return shop.Errorf(shop.KindConflict, "Two-factor sign-in is mandatory for staff and platform accounts.")
	}
	account := acctKey(p.StoreID, p.Email)
	if err := s.guard(ctx, "mfa", p.StoreID, account, meta); err != nil {
		return err
	}
	u, err := s.userOf(ctx, p.StoreID, p.UserID)
	if err != nil {
		return err
	}
	ok, err := s.checkTOTP(ctx, u, code)
	if err == nil && !ok {
		ok, err = s.useRecoveryCode(ctx, u, code)
	}
	if err != nil {
		return err
	}
	if !ok {
		s.failed(ctx, p.StoreID, s.sourceOf(p.StoreID, p.Email, meta), u.Email, u, meta)
		return shop.Invalid(shop.FieldError{Field: "code", Message: "is not a current code or an unused recovery code"})
	}
	return s.db.Update(ctx, p.StoreID, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.RemoveMFA(ctx, p.UserID); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: p, Action: "auth.mfa.disabled", TargetType: "user", TargetID: string(p.UserID)})
		return err
	})
}

// MFAEnabled reports whether the principal has a confirmed second factor.
func (s *Service) MFAEnabled(ctx context.Context, p shop.Principal) (bool, error) {
	return s.mfaEnrolled(ctx, p.UserID)
}

// ResealSecrets seals every stored secret again with the vault's newest key, after a key rotation.
// It returns how many it re-sealed.
func (s *Service) ResealSecrets(ctx context.Context, actor shop.Principal) (int, error) {
	if actor.Role != shop.RoleSystem {
		return 0, shop.ErrForbidden
	}
	n := 0
	err := s.db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
		all, err := tx.SealedSecrets(ctx)
		if err != nil {
			return err
		}
		for user, sealed := range all {
			if s.vault.Current(sealed) {
				continue
			}
			secret, err := s.vault.Open(sealed, string(user))
			if err != nil {
				return fmt.Errorf("a secret of user %s does not open with any key of the ring: %w", user, err)
			}
			if err := tx.ResealSecret(ctx, user, s.vault.Seal(secret, string(user))); err != nil {
				return err
			}
			n++
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "keys.rotate", TargetType: "platform",
			Detail: map[string]string{"resealed": fmt.Sprint(n)}})
		return err
	})
	return n, err
}
