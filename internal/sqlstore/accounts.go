package sqlstore

import (
	"context"
	"errors"
	"time"

	"secureshop/internal/shop"
)

// MFA is a user's TOTP enrolment.
type MFA struct {
	UserID      shop.UserID
	TOTPSealed  string
	ConfirmedAt *time.Time
	LastStep    int64
}

// MFAOf returns a user's TOTP enrolment, or shop.ErrNoRows.
func (tx *Tx) MFAOf(ctx context.Context, user shop.UserID) (MFA, error) {
	m := MFA{UserID: user}
	var confirmed dbTime
	err := tx.queryRow(ctx, []any{&m.TOTPSealed, &confirmed, &m.LastStep},
		`SELECT totp_sealed, confirmed_at, last_step FROM user_mfa WHERE user_id = ?`, user)
	m.ConfirmedAt = confirmed.ptr()
	return m, err
}

// StartMFA stores a new, unconfirmed TOTP secret, replacing an unconfirmed one.
func (tx *Tx) StartMFA(ctx context.Context, user shop.UserID, sealed string) error {
	_, err := tx.exec(ctx, `INSERT INTO user_mfa (user_id, totp_sealed, confirmed_at, last_step, created_at) VALUES (?, ?, NULL, 0, ?)
		ON CONFLICT (user_id) DO UPDATE SET totp_sealed = excluded.totp_sealed, confirmed_at = NULL, last_step = 0,
		created_at = excluded.created_at`, user, sealed, ts(tx.now))
	return err
}

// ConfirmMFA marks a user's TOTP enrolment confirmed.
func (tx *Tx) ConfirmMFA(ctx context.Context, user shop.UserID, step int64) error {
	res, err := tx.exec(ctx, `UPDATE user_mfa SET confirmed_at = ?, last_step = ? WHERE user_id = ?`, ts(tx.now), step, user)
	return mustAffect(res, err, "MFA")
}

// UseTOTPStep records that the code of step was used. It fails with shop.ErrNoRows when that step
// or a later one was already used — a replayed code — so each code works once.
func (tx *Tx) UseTOTPStep(ctx context.Context, user shop.UserID, step int64) error {
	res, err := tx.exec(ctx, `UPDATE user_mfa SET last_step = ? WHERE user_id = ? AND last_step < ?`, step, user, step)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return shop.ErrNoRows
	}
	return nil
}

// RemoveMFA deletes a user's TOTP enrolment and recovery codes.
func (tx *Tx) RemoveMFA(ctx context.Context, user shop.UserID) error {
	if _, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, user); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM user_mfa WHERE user_id = ?`, user)
	return err
}

// SetRecoveryCodes replaces a user's recovery codes with the given hashes.
func (tx *Tx) SetRecoveryCodes(ctx context.Context, user shop.UserID, hashes []string) error {
	if _, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, user); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO recovery_codes (id, user_id, code_hash) VALUES (?, ?, ?)`, shop.NewID(), user, h); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode spends the unused recovery code with hash; shop.ErrNoRows if there is none.
func (tx *Tx) UseRecoveryCode(ctx context.Context, user shop.UserID, hash string) error {
	res, err := tx.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		ts(tx.now), user, hash)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return shop.ErrNoRows
	}
	return nil
}

// OneTimeToken is a mailed single-use token.
type OneTimeToken struct {
	StoreID   shop.StoreID
	UserID    shop.UserID
	Purpose   string
	ExpiresAt time.Time
}

// CreateToken stores a token's hash. Earlier unused tokens of the same purpose stop working.
func (tx *Tx) CreateToken(ctx context.Context, hash string, t OneTimeToken) error {
	if _, err := tx.exec(ctx, `UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL`,
		ts(tx.now), t.UserID, t.Purpose); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO one_time_tokens (token_hash, store_id, user_id, purpose, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, hash, t.StoreID, t.UserID, t.Purpose, ts(t.ExpiresAt), ts(tx.now))
	return err
}

// ErrTokenInvalid is the one answer for a token that is unknown, used, expired or of another store.
var ErrTokenInvalid = errors.New("token invalid")

// UseToken spends a token of store and purpose, returning its user. A token can be spent once, and
// only before it expires (judged at now, the caller's clock).
func (tx *Tx) UseToken(ctx context.Context, store shop.StoreID, purpose, hash string, now time.Time) (shop.UserID, error) {
	var user shop.UserID
	err := tx.queryRow(ctx, []any{&user}, `UPDATE one_time_tokens SET used_at = ?
		WHERE token_hash = ? AND store_id = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
		ts(now), hash, store, purpose, ts(now))
	if errors.Is(err, shop.ErrNoRows) {
		return "", ErrTokenInvalid
	}
	return user, err
}

// MarkEmailVerified records that a user proved they read their mail.
func (tx *Tx) MarkEmailVerified(ctx context.Context, store shop.StoreID, user shop.UserID) error {
	res, err := tx.exec(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ?
		WHERE store_id = ? AND id = ?`, ts(tx.now), ts(tx.now), store, user)
	return mustAffect(res, err, "User")
}

// PasswordComposition reports whether store demands mixed character classes in passwords.
func (tx *Tx) PasswordComposition(ctx context.Context, store shop.StoreID) (bool, error) {
	var on bool
	err := tx.queryRow(ctx, []any{&on}, `SELECT password_composition FROM stores WHERE id = ?`, store)
	return on, notFound(err, "Store")
}

// SetPasswordComposition turns the composition rules of store on or off.
func (tx *Tx) SetPasswordComposition(ctx context.Context, store shop.StoreID, on bool) error {
	res, err := tx.exec(ctx, `UPDATE stores SET password_composition = ? WHERE id = ?`, on, store)
	return mustAffect(res, err, "Store")
}

// AnonymiseUser erases a user's personal data, keeping the row (and so their orders) for the
// store's books.
func (tx *Tx) AnonymiseUser(ctx context.Context, store shop.StoreID, user shop.UserID, placeholderHash string) error {
	if err := tx.RemoveMFA(ctx, user); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM cart_items WHERE store_id = ? AND user_id = ?`, store, user); err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE users SET email = ?, name = '', password_hash = ?, active = ?, deleted_at = ?, updated_at = ?
		WHERE store_id = ? AND id = ?`, "deleted-"+string(user)+"@invalid", placeholderHash, false, ts(tx.now), ts(tx.now), store, user)
	return mustAffect(res, err, "User")
}

func lockScope(store shop.StoreID) string {
	if store == "" {
		return "platform"
	}
	return string(store)
}

// RecordFailure counts one more failed attempt in a row on an account; at lockAfter it locks the
// account until until. It returns the count and whether this failure locked the account.
func (tx *Tx) RecordFailure(ctx context.Context, store shop.StoreID, email string, lockAfter int, until time.Time) (int, bool, error) {
	var n int
	err := tx.queryRow(ctx, []any{&n}, `INSERT INTO account_locks (scope, email, failures) VALUES (?, ?, 1)
		ON CONFLICT (scope, email) DO UPDATE SET failures = account_locks.failures + 1 RETURNING failures`,
		lockScope(store), shop.NormalizeEmail(email))
	if err != nil || n < lockAfter {
		return n, false, err
	}
	_, err = tx.exec(ctx, `UPDATE account_locks SET locked_until = ?, failures = 0 WHERE scope = ? AND email = ?`,
		ts(until), lockScope(store), shop.NormalizeEmail(email))
	return n, err == nil, err
}

// LockedUntil returns when an account's lock ends, or nil when it is not locked at now.
func (tx *Tx) LockedUntil(ctx context.Context, store shop.StoreID, email string, now time.Time) (*time.Time, error) {
	var until dbTime
	err := tx.queryRow(ctx, []any{&until}, `SELECT locked_until FROM account_locks WHERE scope = ? AND email = ?`,
		lockScope(store), shop.NormalizeEmail(email))
	if errors.Is(err, shop.ErrNoRows) || (err == nil && (!until.Valid || !until.T.After(now))) {
		return nil, nil
	}
	return until.ptr(), err
}

// ClearFailures ends an account's run of failures and any lock (a success, or an admin's unlock).
func (tx *Tx) ClearFailures(ctx context.Context, store shop.StoreID, email string) error {
	_, err := tx.exec(ctx, `DELETE FROM account_locks WHERE scope = ? AND email = ?`, lockScope(store), shop.NormalizeEmail(email))
	return err
}

// SealedSecrets lists every sealed TOTP secret with its user, for key rotation.
func (tx *Tx) SealedSecrets(ctx context.Context) (map[shop.UserID]string, error) {
	rows, err := tx.query(ctx, `SELECT user_id, totp_sealed FROM user_mfa`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[shop.UserID]string{}
	for rows.Next() {
		var u shop.UserID
		var s string
		if err := rows.Scan(&u, &s); err != nil {
			return nil, err
		}
		out[u] = s
	}
	return out, rows.Err()
}

// ResealSecret replaces a user's sealed TOTP secret (same secret, sealed with the newest key).
func (tx *Tx) ResealSecret(ctx context.Context, user shop.UserID, sealed string) error {
	res, err := tx.exec(ctx, `UPDATE user_mfa SET totp_sealed = ? WHERE user_id = ?`, sealed, user)
	return mustAffect(res, err, "MFA")
}
