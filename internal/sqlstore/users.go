package sqlstore

import (
	"context"

	"secureshop/internal/shop"
)

const userCols = `id, store_id, email, name, role, password_hash, active, email_verified_at, created_at, updated_at`

func scanUser(scan func(...any) error) (shop.User, error) {
	var u shop.User
	var store *string
	var verified, created, updated dbTime
	err := scan(&u.ID, &store, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Active, &verified, &created, &updated)
	if store != nil {
		u.StoreID = shop.StoreID(*store)
	}
	u.EmailVerifiedAt, u.CreatedAt, u.UpdatedAt = verified.ptr(), created.T, updated.T
	return u, err
}

// CreateUser adds a member to store. A taken e-mail in that store returns shop.ErrDuplicate.
func (tx *Tx) CreateUser(ctx context.Context, store shop.StoreID, u *shop.User) error {
	if store == "" || !u.Role.ValidStoreRole() {
		return shop.Errorf(shop.KindInvalid, "A store member needs a store and a store role.")
	}
	u.StoreID = store
	return tx.insertUser(ctx, u)
}

// CreateOperator adds a platform operator (a user of no store).
func (tx *Tx) CreateOperator(ctx context.Context, u *shop.User) error {
	u.StoreID, u.Role = "", shop.RoleOperator
	return tx.insertUser(ctx, u)
}

func (tx *Tx) insertUser(ctx context.Context, u *shop.User) error {
	if u.ID == "" {
		u.ID = shop.UserID(shop.NewID())
	}
	u.Email = shop.NormalizeEmail(u.Email)
	u.CreatedAt, u.UpdatedAt = tx.now, tx.now
	_, err := tx.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, nullStr(string(u.StoreID)), u.Email, u.Name, u.Role, u.PasswordHash, u.Active,
		nullTS(u.EmailVerifiedAt), ts(u.CreatedAt), ts(u.UpdatedAt))
	return err
}

// UserByEmail finds a member of store by e-mail (never a guest: no one signs in as one).
func (tx *Tx) UserByEmail(ctx context.Context, store shop.StoreID, email string) (shop.User, error) {
	return tx.findUser(ctx, `store_id = ? AND email = ? AND NOT guest`, store, shop.NormalizeEmail(email))
}

// UserByID finds a member of store by id; a user of another store is NotFound.
func (tx *Tx) UserByID(ctx context.Context, store shop.StoreID, id shop.UserID) (shop.User, error) {
	if !shop.ValidID(string(id)) {
		return shop.User{}, shop.NotFound("User")
	}
	return tx.findUser(ctx, `store_id = ? AND id = ?`, store, id)
}

// OperatorByEmail finds a platform operator by e-mail.
func (tx *Tx) OperatorByEmail(ctx context.Context, email string) (shop.User, error) {
	return tx.findUser(ctx, `store_id IS NULL AND email = ?`, shop.NormalizeEmail(email))
}

// OperatorByID finds a platform operator by id.
func (tx *Tx) OperatorByID(ctx context.Context, id shop.UserID) (shop.User, error) {
	if !shop.ValidID(string(id)) {
		return shop.User{}, shop.NotFound("User")
	}
	return tx.findUser(ctx, `store_id IS NULL AND id = ?`, id)
}

func (tx *Tx) findUser(ctx context.Context, where string, args ...any) (shop.User, error) {
	row := tx.row(ctx, `SELECT `+userCols+` FROM users WHERE `+where, args...)
	u, err := scanUser(row.Scan)
	return u, notFound(err, "User")
}

// ListUsers lists the members of store in id order, limit at a time, after cursor.
func (tx *Tx) ListUsers(ctx context.Context, store shop.StoreID, cursor string, limit int) (shop.UserPage, error) {
	rows, err := tx.query(ctx, `SELECT `+userCols+` FROM users WHERE store_id = ? AND id > ? AND NOT guest ORDER BY id LIMIT ?`,
		store, cursorOrMin(cursor), limit+1)
	if err != nil {
		return shop.UserPage{}, err
	}
	defer func() { _ = rows.Close() }()
	var page shop.UserPage
	for rows.Next() {
		u, err := scanUser(rows.Scan)
		if err != nil {
			return shop.UserPage{}, err
		}
		page.Users = append(page.Users, u)
	}
	if len(page.Users) > limit {
		page.Users = page.Users[:limit]
		page.NextCursor = string(page.Users[limit-1].ID)
	}
	return page, rows.Err()
}

// SetUserActive activates or deactivates a member of store.
func (tx *Tx) SetUserActive(ctx context.Context, store shop.StoreID, id shop.UserID, active bool) error {
	res, err := tx.exec(ctx, `UPDATE users SET active = ?, updated_at = ? WHERE store_id = ? AND id = ?`,
		active, ts(tx.now), store, id)
	return mustAffect(res, err, "User")
}

// SetUserRole changes the role of a member of store.
func (tx *Tx) SetUserRole(ctx context.Context, store shop.StoreID, id shop.UserID, role shop.Role) error {
	res, err := tx.exec(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE store_id = ? AND id = ?`,
		role, ts(tx.now), store, id)
	return mustAffect(res, err, "User")
}

// SetPasswordHash replaces a user's password hash. The store is "" only for platform operators.
func (tx *Tx) SetPasswordHash(ctx context.Context, store shop.StoreID, id shop.UserID, hash string) error {
	q := `UPDATE users SET password_hash = ?, updated_at = ? WHERE store_id = ? AND id = ?`
	args := []any{hash, ts(tx.now), store, id}
	if store == "" {
		q = `UPDATE users SET password_hash = ?, updated_at = ? WHERE store_id IS NULL AND id = ?`
		args = []any{hash, ts(tx.now), id}
	}
	res, err := tx.exec(ctx, q, args...)
	return mustAffect(res, err, "User")
}

// LockMembers makes the transaction the only one changing store's members until it ends: on
// PostgreSQL it locks the store's row (SELECT ... FOR UPDATE), so that two concurrent changes of
// roles — each of which would leave one admin — run one after the other, and the second counts what
// the first left. SQLite's one writer runs them one after the other anyway.
func (tx *Tx) LockMembers(ctx context.Context, store shop.StoreID) error {
	if tx.db.dialect != Postgres {
		return nil
	}
	var id string
	return notFound(tx.queryRow(ctx, []any{&id}, `SELECT CAST(id AS TEXT) FROM stores WHERE id = ? FOR UPDATE`, store), "Store")
}

// CountActiveAdmins counts the active admins of store.
func (tx *Tx) CountActiveAdmins(ctx context.Context, store shop.StoreID) (int, error) {
	var n int
	err := tx.queryRow(ctx, []any{&n}, `SELECT COUNT(*) FROM users WHERE store_id = ? AND role = 'admin' AND active = ?`, store, true)
	return n, err
}

// cursorOrMin makes an empty cursor compare below every id. In PostgreSQL the id column is a
// uuid, so the minimum is the nil UUID; in SQLite the same text sorts first as well.
func cursorOrMin(cursor string) string {
	if cursor == "" || !shop.ValidID(cursor) {
		return "00000000-0000-0000-0000-000000000000"
	}
	return cursor
}
