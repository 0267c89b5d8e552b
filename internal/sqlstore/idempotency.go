package sqlstore

import (
	"context"
	"errors"
	"time"

	"secureshop/internal/shop"
)

// SaveIdempotencyKey records what an Idempotency-Key made (an order, a refund, a stock change). On
// PostgreSQL it goes with the commit; a key that a concurrent request committed first fails the
// commit with shop.ErrDuplicate, and nothing of this transaction is kept.
func (tx *Tx) SaveIdempotencyKey(ctx context.Context, store shop.StoreID, user shop.UserID, key, hash, resultID string) error {
	return tx.later(ctx, `INSERT INTO idempotency_keys (store_id, user_id, key, request_hash, result_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, store, user, key, hash, resultID, ts(tx.now))
}

// ReplayedKey looks up an Idempotency-Key of user: the result of its earlier use with the same
// request (a retry, to be answered as the first time), "" for a key not used in the window, or
// shop.ErrKeyReused when it came with another request. A request without a key is never a retry.
func (tx *Tx) ReplayedKey(ctx context.Context, store shop.StoreID, user shop.UserID, idem shop.Idempotency) (string, error) {
	if idem.Key == "" {
		return "", nil
	}
	var hash, result string
	var created dbTime
	err := tx.queryRow(ctx, []any{&hash, &result, &created}, `SELECT request_hash, CAST(result_id AS TEXT), created_at FROM idempotency_keys
		WHERE store_id = ? AND user_id = ? AND key = ?`, store, user, idem.Key)
	if errors.Is(err, shop.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return tx.replay(ctx, store, user, idem, hash, result, created.T)
}

// replay decides what a key found in use means: the result of its earlier use with the same
// request; "" when that use is older than the window (the key is forgotten, and may be used
// again); shop.ErrKeyReused when it came with another request.
func (tx *Tx) replay(ctx context.Context, store shop.StoreID, user shop.UserID, idem shop.Idempotency, hash, result string, created time.Time) (string, error) {
	if created.Before(tx.now.Add(-shop.IdempotencyWindow)) {
		_, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE store_id = ? AND user_id = ? AND key = ?`, store, user, idem.Key)
		return "", err
	}
	if hash != idem.Hash {
		return "", shop.ErrKeyReused
	}
	return result, nil
}

// SaveKey records what a request with an Idempotency-Key made; a request without one keeps nothing.
func (tx *Tx) SaveKey(ctx context.Context, store shop.StoreID, user shop.UserID, idem shop.Idempotency, resultID string) error {
	if idem.Key == "" {
		return nil
	}
	return tx.SaveIdempotencyKey(ctx, store, user, idem.Key, idem.Hash, resultID)
}
