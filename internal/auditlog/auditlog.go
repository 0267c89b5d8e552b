// Package auditlog reads the audit log and verifies its hash chains.
package auditlog

import (
	"context"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Service reads and verifies the audit log.
type Service struct{ db *sqlstore.DB }

// New returns the audit log service.
func New(db *sqlstore.DB) *Service { return &Service{db: db} }

// List returns a store's audit events, newest first, below sequence number before (0: newest).
func (s *Service) List(ctx context.Context, actor shop.Principal, store shop.StoreID, before int64, limit int) (audit.Page, error) {
	if err := access.CheckStore(actor, store, access.AuditRead, "Store"); err != nil {
		return audit.Page{}, err
	}
	var page audit.Page
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) { page, err = tx.ListAudit(ctx, store, before, limit); return })
	return page, err
}

// Verify walks the chain of store, or every chain when store is empty, and returns each break.
func (s *Service) Verify(ctx context.Context, store shop.StoreID) (chains int, problems []audit.Problem, err error) {
	err = s.db.View(ctx, sqlstore.AllStores, func(tx *sqlstore.Tx) error {
		names := []string{audit.ChainFor(store)}
		if store == "" {
			var err error
			if names, err = tx.AuditChains(ctx); err != nil {
				return err
			}
		}
		for _, c := range names {
			p, err := tx.VerifyAuditChain(ctx, c)
			if err != nil {
				return err
			}
			problems = append(problems, p...)
		}
		chains = len(names)
		return nil
	})
	return chains, problems, err
}
