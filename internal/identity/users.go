package identity

import (
	"context"
	"errors"
	"strconv"
	"unicode/utf8"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// NewUser is what an admin (or the command line) gives to create an account.
type NewUser struct {
	Email    string
	Name     string
	Role     shop.Role
	Password string
}

// UserPatch is a change to an account; nil fields stay as they are.
type UserPatch struct {
	Role   *shop.Role
	Active *bool
}

// ValidateEmail checks the shape of an e-mail address and returns its normal form.
func ValidateEmail(field, email string) (string, *shop.FieldError) {
	return shop.ValidateEmail(field, email)
}

// ValidatePassword applies the length rules (12 to 128 characters).
func ValidatePassword(field, pw string) *shop.FieldError {
	if n := utf8.RuneCountInString(pw); n < 12 || n > 128 || !utf8.ValidString(pw) {
		return &shop.FieldError{Field: field, Message: "must be between 12 and 128 characters"}
	}
	return nil
}

func validateName(name string) *shop.FieldError {
	if !shop.ValidText(name, 100, false) {
		return &shop.FieldError{Field: "name", Message: "must be at most 100 characters of text"}
	}
	return nil
}

func fieldErrs(fs ...*shop.FieldError) error {
	var out []shop.FieldError
	for _, f := range fs {
		if f != nil {
			out = append(out, *f)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return shop.Invalid(out...)
}

// CreateUser adds an account to store. Nobody can create a role above their own. Accounts made
// by an admin or the command line count as e-mail-verified.
func (s *Service) CreateUser(ctx context.Context, actor shop.Principal, store shop.StoreID, in NewUser) (shop.User, error) {
	if err := access.CheckStore(actor, store, access.UsersManage, "Store"); err != nil {
		return shop.User{}, err
	}
	email, ferr := ValidateEmail("email", in.Email)
	var roleErr *shop.FieldError
	if !in.Role.ValidStoreRole() {
		roleErr = &shop.FieldError{Field: "role", Message: "must be admin, clerk or customer"}
	} else if in.Role.Rank() > actor.Role.Rank() {
		return shop.User{}, shop.Errorf(shop.KindForbidden, "You cannot grant a role above your own.")
	}
	if err := fieldErrs(ferr, roleErr, validateName(in.Name)); err != nil {
		return shop.User{}, err
	}
	var composition bool
	if err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { composition, err = tx.PasswordComposition(ctx, store); return }); err != nil {
		return shop.User{}, err
	}
	if err := CheckPasswordPolicy("password", in.Password, email, in.Name, composition); err != nil {
		return shop.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return shop.User{}, err
	}
	now := s.now().UTC()
	u := shop.User{Email: email, Name: in.Name, Role: in.Role, PasswordHash: hash, Active: true, EmailVerifiedAt: &now}
	err = s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateUser(ctx, store, &u); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "user.create", TargetType: "user",
			TargetID: string(u.ID), Detail: map[string]string{"email": u.Email, "role": string(u.Role)}})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) {
		return shop.User{}, shop.Errorf(shop.KindConflict, "A user with this e-mail already exists in this store.")
	}
	return u, err
}

// CreateOperator adds a platform operator. Only the command line may do this.
func (s *Service) CreateOperator(ctx context.Context, actor shop.Principal, email, password string) (shop.User, error) {
	if actor.Role != shop.RoleSystem {
		return shop.User{}, shop.ErrForbidden
	}
	e, ferr := ValidateEmail("email", email)
	if err := fieldErrs(ferr); err != nil {
		return shop.User{}, err
	}
	if err := CheckPasswordPolicy("password", password, e, "", false); err != nil {
		return shop.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return shop.User{}, err
	}
	now := s.now().UTC()
	u := shop.User{Email: e, PasswordHash: hash, Active: true, EmailVerifiedAt: &now}
	err = s.db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateOperator(ctx, &u); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "operator.create", TargetType: "user",
			TargetID: string(u.ID), Detail: map[string]string{"email": u.Email}})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) {
		return shop.User{}, shop.Errorf(shop.KindConflict, "An operator with this e-mail already exists.")
	}
	return u, err
}

// GetUser returns a member of store; members of other stores are not found.
func (s *Service) GetUser(ctx context.Context, actor shop.Principal, store shop.StoreID, id shop.UserID) (shop.User, error) {
	if err := access.CheckStore(actor, store, access.UsersRead, "User"); err != nil {
		return shop.User{}, err
	}
	var u shop.User
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { u, err = tx.UserByID(ctx, store, id); return })
	return u, err
}

// FindUser returns a member of store by e-mail (command line).
func (s *Service) FindUser(ctx context.Context, actor shop.Principal, store shop.StoreID, email string) (shop.User, error) {
	if err := access.CheckStore(actor, store, access.UsersRead, "User"); err != nil {
		return shop.User{}, err
	}
	var u shop.User
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { u, err = tx.UserByEmail(ctx, store, email); return })
	return u, err
}

// ListUsers lists the members of store, a page at a time.
func (s *Service) ListUsers(ctx context.Context, actor shop.Principal, store shop.StoreID, cursor string, limit int) (shop.UserPage, error) {
	if err := access.CheckStore(actor, store, access.UsersRead, "Store"); err != nil {
		return shop.UserPage{}, err
	}
	var page shop.UserPage
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListUsers(ctx, store, cursor, limit); return })
	return page, err
}

// UpdateUser changes a member's role or active flag. Nobody grants a role above their own or
// changes someone above them, and the store's last active admin cannot be demoted or deactivated.
// A changed account's sessions end at once, so that no token keeps the old role.
func (s *Service) UpdateUser(ctx context.Context, actor shop.Principal, store shop.StoreID, id shop.UserID, p UserPatch) (shop.User, error) {
	if err := access.CheckStore(actor, store, access.UsersManage, "User"); err != nil {
		return shop.User{}, err
	}
	if p.Role != nil && !p.Role.ValidStoreRole() {
		return shop.User{}, shop.Invalid(shop.FieldError{Field: "role", Message: "must be admin, clerk or customer"})
	}
	var u shop.User
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		// Members change one transaction at a time, so that "at least one active admin" holds when
		// two demotions race (each alone would leave one).
		if err := tx.LockMembers(ctx, store); err != nil {
			return err
		}
		before, err := tx.UserByID(ctx, store, id)
		if err != nil {
			return err
		}
		if before.Role.Rank() > actor.Role.Rank() || (p.Role != nil && p.Role.Rank() > actor.Role.Rank()) {
			return shop.Errorf(shop.KindForbidden, "You cannot grant or change a role above your own.")
		}
		u = before
		detail := map[string]string{}
		if p.Role != nil && *p.Role != before.Role {
			if err := tx.SetUserRole(ctx, store, id, *p.Role); err != nil {
				return err
			}
			detail["role_before"], detail["role_after"] = string(before.Role), string(*p.Role)
			u.Role = *p.Role
		}
		if p.Active != nil && *p.Active != before.Active {
			if err := tx.SetUserActive(ctx, store, id, *p.Active); err != nil {
				return err
			}
			detail["active_before"], detail["active_after"] = strconv.FormatBool(before.Active), strconv.FormatBool(*p.Active)
			u.Active = *p.Active
		}
		if len(detail) == 0 {
			return nil
		}
		if before.Role == shop.RoleAdmin && before.Active && (u.Role != shop.RoleAdmin || !u.Active) {
			n, err := tx.CountActiveAdmins(ctx, store)
			if err != nil {
				return err
			}
			if n < 1 {
				return shop.Errorf(shop.KindConflict, "The store's last active admin cannot be demoted or deactivated.")
			}
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "user.update", TargetType: "user",
			TargetID: string(id), Detail: detail})
		return err
	})
	if err != nil {
		return shop.User{}, err
	}
	if u.Role != "" && (p.Role != nil || p.Active != nil) {
		if _, err := s.sessions.DeleteUser(ctx, id); err != nil {
			return u, err
		}
	}
	return u, nil
}

// RevokeSessions ends every session of a member of store.
func (s *Service) RevokeSessions(ctx context.Context, actor shop.Principal, store shop.StoreID, id shop.UserID) (int, error) {
	if _, err := s.GetUser(ctx, actor, store, id); err != nil {
		return 0, err
	}
	if err := access.CheckStore(actor, store, access.UsersManage, "User"); err != nil {
		return 0, err
	}
	n, err := s.sessions.DeleteUser(ctx, id)
	if err != nil {
		return 0, err
	}
	s.record(ctx, store, audit.Record{Actor: actor, Action: "user.revoke-sessions", TargetType: "user",
		TargetID: string(id), Detail: map[string]string{"sessions": strconv.Itoa(n)}})
	return n, nil
}
