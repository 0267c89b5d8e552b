package sqlstore

import (
	"context"
	"encoding/json"
	"errors"

	"secureshop/internal/audit"
	"secureshop/internal/shop"
)

// AppendAudit writes one entry at the end of the transaction's store chain. The chain head row is
// updated first, which serialises concurrent appends to the same chain on both databases (SQLite
// by its single writer, PostgreSQL by the row lock the UPDATE takes).
func (tx *Tx) AppendAudit(ctx context.Context, r audit.Record) (audit.Event, error) {
	if !tx.writing {
		return audit.Event{}, errors.New("audit: append needs a write transaction")
	}
	chain := audit.ChainFor(tx.store)
	if _, err := tx.exec(ctx, `INSERT INTO audit_heads (chain, seq, hash) VALUES (?, 0, ?) ON CONFLICT (chain) DO NOTHING`,
		chain, audit.Genesis); err != nil {
		return audit.Event{}, err
	}
	e := audit.Event{
		ID: shop.NewID(), Chain: chain, StoreID: tx.store, OccurredAt: tx.now,
		ActorID: string(r.Actor.UserID), ActorRole: string(r.Actor.Role), Action: r.Action,
		TargetType: r.TargetType, TargetID: r.TargetID, IP: r.Actor.IP, Detail: r.Detail,
	}
	if err := tx.queryRow(ctx, []any{&e.Seq, &e.PrevHash},
		`UPDATE audit_heads SET seq = seq + 1 WHERE chain = ? RETURNING seq, hash`, chain); err != nil {
		return audit.Event{}, err
	}
	detail := audit.EncodeDetail(e.Detail)
	e.Hash = audit.ComputeHash(e, detail)
	if _, err := tx.exec(ctx, `INSERT INTO audit_events (id, chain, seq, store_id, occurred_at, actor_id, actor_role,
		action, target_type, target_id, ip, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, chain, e.Seq, nullStr(string(e.StoreID)), ts(e.OccurredAt), e.ActorID, e.ActorRole, e.Action,
		e.TargetType, e.TargetID, e.IP, detail, e.PrevHash, e.Hash); err != nil {
		return audit.Event{}, err
	}
	if _, err := tx.exec(ctx, `UPDATE audit_heads SET hash = ? WHERE chain = ?`, e.Hash, chain); err != nil {
		return audit.Event{}, err
	}
	return e, nil
}

const auditCols = `id, chain, seq, store_id, occurred_at, actor_id, actor_role, action, target_type, target_id,
	ip, detail, prev_hash, hash`

func scanAudit(scan func(...any) error) (audit.Event, string, error) {
	var e audit.Event
	var store *string
	var at dbTime
	var detail string
	err := scan(&e.ID, &e.Chain, &e.Seq, &store, &at, &e.ActorID, &e.ActorRole, &e.Action, &e.TargetType,
		&e.TargetID, &e.IP, &detail, &e.PrevHash, &e.Hash)
	if err != nil {
		return e, "", err
	}
	if store != nil {
		e.StoreID = shop.StoreID(*store)
	}
	e.OccurredAt = at.T
	if detail != "{}" && detail != "" {
		// An undecodable detail is left empty here; verification still hashes the stored text.
		_ = json.Unmarshal([]byte(detail), &e.Detail)
	}
	return e, detail, nil
}

// ListAudit lists store's audit events newest first, limit at a time, below sequence number before
// (0 for the newest).
func (tx *Tx) ListAudit(ctx context.Context, store shop.StoreID, before int64, limit int) (audit.Page, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := tx.query(ctx, `SELECT `+auditCols+` FROM audit_events WHERE chain = ? AND seq < ?
		ORDER BY seq DESC LIMIT ?`, audit.ChainFor(store), before, limit+1)
	if err != nil {
		return audit.Page{}, err
	}
	defer func() { _ = rows.Close() }()
	var page audit.Page
	for rows.Next() {
		e, _, err := scanAudit(rows.Scan)
		if err != nil {
			return audit.Page{}, err
		}
		page.Events = append(page.Events, e)
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.NextCursor = page.Events[limit-1].Seq
	}
	return page, rows.Err()
}

// AuditChains lists every chain that has a head or any entry.
func (tx *Tx) AuditChains(ctx context.Context) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT chain FROM audit_heads UNION SELECT chain FROM audit_events ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// VerifyAuditChain walks one chain from its first entry and returns every break it finds.
func (tx *Tx) VerifyAuditChain(ctx context.Context, chain string) ([]audit.Problem, error) {
	rows, err := tx.query(ctx, `SELECT `+auditCols+` FROM audit_events WHERE chain = ? ORDER BY seq`, chain)
	if err != nil {
		return nil, err
	}
	v := audit.NewVerifier(chain)
	for rows.Next() {
		e, detail, err := scanAudit(rows.Scan)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		v.Add(e, detail)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	_ = rows.Close()
	var headSeq int64
	var headHash string
	err = tx.queryRow(ctx, []any{&headSeq, &headHash}, `SELECT seq, hash FROM audit_heads WHERE chain = ?`, chain)
	if errors.Is(err, shop.ErrNoRows) {
		headSeq, headHash = audit.NoHead, ""
	} else if err != nil {
		return nil, err
	}
	return v.Finish(headSeq, headHash), nil
}
