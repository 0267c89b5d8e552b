// Package tenancy creates, lists, suspends and resumes stores — the platform operator's work.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
)

// Service manages stores.
type Service struct {
	db *sqlstore.DB

	// Every request looks its store up by slug; a found store is remembered for storeTTL.
	// Suspending or resuming through this process forgets it at once; another process sees the
	// change within storeTTL.
	mu     sync.Mutex
	bySlug map[string]cachedStore
	now    func() time.Time
}

type cachedStore struct {
	store shop.Store
	until time.Time
}

// storeTTL is how long a looked-up store is trusted; maxCachedStores bounds the cache.
const (
	storeTTL        = time.Second
	maxCachedStores = 10000
)

// New returns the tenancy service.
func New(db *sqlstore.DB) *Service {
	return &Service{db: db, bySlug: map[string]cachedStore{}, now: time.Now}
}

// forget drops slug from the lookup cache.
func (s *Service) forget(slug string) {
	s.mu.Lock()
	delete(s.bySlug, slug)
	s.mu.Unlock()
}

// NewStore is what creating a store takes.
type NewStore struct {
	Slug     string
	Name     string
	Currency string
}

// Create opens a new store.
func (s *Service) Create(ctx context.Context, actor shop.Principal, in NewStore) (shop.Store, error) {
	if err := access.Check(actor, access.PlatformStores); err != nil {
		return shop.Store{}, err
	}
	if in.Currency == "" {
		in.Currency = "GBP"
	}
	in.Name = strings.TrimSpace(in.Name)
	var fields []shop.FieldError
	if !shop.ValidSlug(in.Slug) {
		fields = append(fields, shop.FieldError{Field: "slug", Message: "must be 3 to 40 lower-case letters, digits or dashes, not starting or ending with a dash"})
	}
	if in.Name == "" || !shop.ValidText(in.Name, 100, false) {
		fields = append(fields, shop.FieldError{Field: "name", Message: "must be 1 to 100 characters of text"})
	}
	if !shop.ValidCurrency(in.Currency) {
		fields = append(fields, shop.FieldError{Field: "currency", Message: "must be an ISO 4217 code such as GBP"})
	}
	if len(fields) > 0 {
		return shop.Store{}, shop.Invalid(fields...)
	}
	st := shop.Store{Slug: in.Slug, Name: in.Name, Currency: in.Currency}
	err := s.db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateStore(ctx, &st); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "store.create", TargetType: "store",
			TargetID: string(st.ID), Detail: map[string]string{"slug": st.Slug, "name": st.Name, "currency": st.Currency}})
		return err
	})
	if errors.Is(err, shop.ErrDuplicate) {
		return shop.Store{}, shop.Errorf(shop.KindConflict, "A store with this slug already exists.")
	}
	return st, err
}

// List returns every store.
func (s *Service) List(ctx context.Context, actor shop.Principal) ([]shop.Store, error) {
	if err := access.Check(actor, access.PlatformStores); err != nil {
		return nil, err
	}
	var out []shop.Store
	err := s.db.View(ctx, "", func(tx *sqlstore.Tx) (err error) { out, err = tx.ListStores(ctx); return })
	return out, err
}

// SetStatus suspends or resumes the store with slug.
func (s *Service) SetStatus(ctx context.Context, actor shop.Principal, slug string, status shop.StoreStatus) (shop.Store, error) {
	if err := access.Check(actor, access.PlatformStores); err != nil {
		return shop.Store{}, err
	}
	if status != shop.StoreActive && status != shop.StoreSuspended {
		return shop.Store{}, shop.Invalid(shop.FieldError{Field: "status", Message: "must be active or suspended"})
	}
	var st shop.Store
	err := s.db.Update(ctx, "", func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if st, err = tx.StoreBySlug(ctx, slug); err != nil {
			return err
		}
		if st.Status == status {
			return nil
		}
		if err := tx.SetStoreStatus(ctx, st.ID, status); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "store.status", TargetType: "store",
			TargetID: string(st.ID), Detail: map[string]string{"slug": st.Slug, "before": string(st.Status), "after": string(status)}})
		st.Status = status
		return err
	})
	s.forget(slug)
	return st, err
}

// BySlug finds a store for a request. Anyone may ask: storefronts are public.
func (s *Service) BySlug(ctx context.Context, slug string) (shop.Store, error) {
	if !shop.ValidSlug(slug) {
		return shop.Store{}, shop.NotFound("Store")
	}
	now := s.now()
	s.mu.Lock()
	c, ok := s.bySlug[slug]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.store, nil
	}
	var st shop.Store
	err := s.db.View(ctx, "", func(tx *sqlstore.Tx) (err error) { st, err = tx.StoreBySlug(ctx, slug); return })
	if err != nil {
		return st, err
	}
	s.mu.Lock()
	if len(s.bySlug) >= maxCachedStores {
		clear(s.bySlug)
	}
	s.bySlug[slug] = cachedStore{store: st, until: now.Add(storeTTL)}
	s.mu.Unlock()
	return st, nil
}

// Settings are the rules a store's admin sets for it.
type Settings struct {
	PasswordComposition bool `json:"password_composition"` // passwords must mix upper, lower, digit and symbol
	ReservationMinutes  int  `json:"reservation_minutes"`  // how long an unpaid order holds its stock
	GuestCheckout       bool `json:"guest_checkout"`       // visitors may check out without an account
}

// How long a store may hold an unpaid order's stock (stores.reservation_minutes' check).
const (
	MinReservationMinutes = 5
	MaxReservationMinutes = 1440
)

// Settings returns a store's settings.
func (s *Service) Settings(ctx context.Context, actor shop.Principal, store shop.StoreID) (Settings, error) {
	if err := access.CheckStore(actor, store, access.StoreSettings, "Store"); err != nil {
		return Settings{}, err
	}
	var out Settings
	err := s.db.View(ctx, store, func(tx *sqlstore.Tx) (err error) {
		out, err = settings(ctx, tx, store)
		return
	})
	return out, err
}

func settings(ctx context.Context, tx *sqlstore.Tx, store shop.StoreID) (Settings, error) {
	var out Settings
	var err error
	if out.PasswordComposition, err = tx.PasswordComposition(ctx, store); err != nil {
		return out, err
	}
	if out.ReservationMinutes, err = tx.ReservationMinutes(ctx, store); err != nil {
		return out, err
	}
	out.GuestCheckout, err = tx.GuestCheckoutOn(ctx, store)
	return out, err
}

// SetGuestCheckout lets visitors check out without an account (with an e-mail address and an
// address), or asks them to sign in or register first.
func (s *Service) SetGuestCheckout(ctx context.Context, actor shop.Principal, store shop.StoreID, on bool) (Settings, error) {
	return s.setSwitch(ctx, actor, store, "guest_checkout", on, func(st *Settings) *bool { return &st.GuestCheckout }, (*sqlstore.Tx).SetGuestCheckout)
}

// setSwitch turns one of a store's on/off settings (named name, found in Settings by field) on
// or off with write, audited with its before and after; setting it as it is changes nothing.
func (s *Service) setSwitch(ctx context.Context, actor shop.Principal, store shop.StoreID, name string, on bool, field func(*Settings) *bool,
	write func(*sqlstore.Tx, context.Context, shop.StoreID, bool) error) (Settings, error) {
	if err := access.CheckStore(actor, store, access.StoreSettings, "Store"); err != nil {
		return Settings{}, err
	}
	var out Settings
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		if out, err = settings(ctx, tx, store); err != nil {
			return err
		}
		before := *field(&out)
		if *field(&out) = on; before == on {
			return nil
		}
		if err := write(tx, ctx, store, on); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "store.settings", TargetType: "store", TargetID: string(store),
			Detail: map[string]string{name + "_before": strconv.FormatBool(before), name + "_after": strconv.FormatBool(on)}})
		return err
	})
	return out, err
}

// SetReservationMinutes sets how long an order waiting for its payment holds its stock before it
// is cancelled: from 5 minutes to a day. Orders placed before keep their deadline.
func (s *Service) SetReservationMinutes(ctx context.Context, actor shop.Principal, store shop.StoreID, minutes int) (Settings, error) {
	if err := access.CheckStore(actor, store, access.StoreSettings, "Store"); err != nil {
		return Settings{}, err
	}
	if minutes < MinReservationMinutes || minutes > MaxReservationMinutes {
		return Settings{}, shop.Invalid(shop.FieldError{Field: "reservation_minutes",
			Message: fmt.Sprintf("must be from %d to %d minutes", MinReservationMinutes, MaxReservationMinutes)})
	}
	var out Settings
	err := s.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		before, err := settings(ctx, tx, store)
		if out = before; err != nil || before.ReservationMinutes == minutes {
			return err
		}
		if err := tx.SetReservationMinutes(ctx, store, minutes); err != nil {
			return err
		}
		out.ReservationMinutes = minutes
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "store.settings", TargetType: "store", TargetID: string(store),
			Detail: map[string]string{"reservation_minutes_before": strconv.Itoa(before.ReservationMinutes), "reservation_minutes_after": strconv.Itoa(minutes)}})
		return err
	})
	return out, err
}

// SetPasswordComposition turns the store's password composition rule on or off.
func (s *Service) SetPasswordComposition(ctx context.Context, actor shop.Principal, store shop.StoreID, on bool) (Settings, error) {
	return s.setSwitch(ctx, actor, store, "password_composition", on, func(st *Settings) *bool { return &st.PasswordComposition },
		(*sqlstore.Tx).SetPasswordComposition)
}
