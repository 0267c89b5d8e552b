package identity

import (
	"context"

	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// SetPasswordHashForTest replaces a user's stored hash, as an older release would have left it.
func (s *Service) SetPasswordHashForTest(ctx context.Context, store shop.StoreID, email, hash string) error {
	return s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		u, err := tx.UserByEmail(ctx, store, email)
		if err != nil {
			return err
		}
		return tx.SetPasswordHash(ctx, store, u.ID, hash)
	})
}

// SettleForTest waits until the work queued after answers so far is done (the queue is worked in
// order, so a job queued now runs after all of it).
func (s *Service) SettleForTest() {
	done := make(chan struct{})
	s.work <- func(context.Context) { close(done) }
	<-done
}
