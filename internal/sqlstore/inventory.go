package sqlstore

import (
	"context"
	"errors"

	"secureshop/internal/shop"
)

// ErrInsufficientStock is returned when a stock change would take a product below zero.
var ErrInsufficientStock = errors.New("insufficient stock")

// MoveStock changes a product's stock by delta with a conditional update — the level can never go
// below zero, whatever runs at the same time — and writes the change to the inventory ledger.
// It returns the new level, or ErrInsufficientStock.
func (tx *Tx) MoveStock(ctx context.Context, store shop.StoreID, productID string, delta int, reason, actorID, orderID string) (int, error) {
	if !shop.ValidID(productID) {
		return 0, shop.NotFound("Product")
	}
	var after int
	var err error
	tx.changesCatalog()
	if tx.db.dialect == Postgres {
		// One statement, one round trip: the row stays locked from this update until the commit,
		// and concurrent buyers of the product wait for that long.
		err = tx.queryRow(ctx, []any{&after}, pgMoveStockIfEnough+` RETURNING stock_after`,
			delta, ts(tx.now), store, productID, delta, shop.NewID(), delta, reason, actorID, nullStr(orderID))
	} else {
		err = tx.queryRow(ctx, []any{&after}, `UPDATE products SET stock = stock + ?, updated_at = ?
			WHERE store_id = ? AND id = ? AND stock + ? >= 0 RETURNING stock`, delta, ts(tx.now), store, productID, delta)
		if err == nil {
			_, err = tx.exec(ctx, `INSERT INTO inventory_ledger (id, store_id, product_id, delta, stock_after, reason, actor_id,
				order_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				shop.NewID(), store, productID, delta, after, reason, actorID, nullStr(orderID), ts(tx.now))
		}
	}
	if errors.Is(err, shop.ErrNoRows) {
		if _, ferr := tx.ProductByID(ctx, store, productID); ferr != nil {
			return 0, ferr
		}
		return 0, ErrInsufficientStock
	}
	return after, err
}

// pgMoveStock changes a product's stock by a delta and writes the ledger row, in one PostgreSQL
// statement; pgMoveStockIfEnough only when the level stays at zero or above (an extra argument).
var pgMoveStock, pgMoveStockIfEnough = pgStockStatement(""), pgStockStatement("AND stock + CAST(? AS integer) >= 0")

func pgStockStatement(condition string) string {
	return `WITH u AS (UPDATE products SET stock = stock + CAST(? AS integer), updated_at = ?
		WHERE store_id = ? AND id = ? ` + condition + ` RETURNING store_id, id, stock, updated_at)
		INSERT INTO inventory_ledger (id, store_id, product_id, delta, stock_after, reason, actor_id, order_id, created_at)
		SELECT CAST(? AS uuid), u.store_id, u.id, CAST(? AS integer), u.stock, CAST(? AS text), CAST(? AS text), CAST(? AS uuid), u.updated_at
		FROM u`
}

// TakeStock takes quantity of a product that is being sold (one of an order's lines), and writes
// the change to the ledger. On SQLite it is MoveStock. On PostgreSQL the update is held back to
// go with the COMMIT (see later), so the product's row stays locked for no round trip at all;
// there the products table's CHECK (stock >= 0) refuses a sale of more than is left, and Update
// returns ErrInsufficientStock. The product must exist (its order line refers to it).
func (tx *Tx) TakeStock(ctx context.Context, store shop.StoreID, productID string, quantity int, actorID, orderID string) error {
	if tx.conn == nil {
		_, err := tx.MoveStock(ctx, store, productID, -quantity, "sold", actorID, orderID)
		return err
	}
	tx.changesCatalog()
	return tx.later(ctx, pgMoveStock, -quantity, ts(tx.now), store, productID, shop.NewID(), -quantity, "sold", actorID, nullStr(orderID))
}

// Ledger lists a product's stock changes, newest first.
func (tx *Tx) Ledger(ctx context.Context, store shop.StoreID, productID string, limit int) ([]shop.LedgerEntry, error) {
	rows, err := tx.query(ctx, `SELECT id, product_id, delta, stock_after, reason, actor_id, COALESCE(CAST(order_id AS TEXT), ''), created_at
		FROM inventory_ledger WHERE store_id = ? AND product_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, store, productID, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []shop.LedgerEntry
	for rows.Next() {
		var e shop.LedgerEntry
		if err := rows.Scan(&e.ID, &e.ProductID, &e.Delta, &e.StockAfter, &e.Reason, &e.ActorID, &e.OrderID, timeCol(&e.CreatedAt)); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LedgerSum adds up every change of a product, for reconciliation against its stock.
func (tx *Tx) LedgerSum(ctx context.Context, store shop.StoreID, productID string) (int, error) {
	var n int
	err := tx.queryRow(ctx, []any{&n}, `SELECT COALESCE(SUM(delta), 0) FROM inventory_ledger WHERE store_id = ? AND product_id = ?`, store, productID)
	return n, err
}
