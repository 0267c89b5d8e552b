package web

import (
	"net/http"
	"strings"

	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
)

func (s *Server) apiStores(w http.ResponseWriter, r *http.Request) error {
	stores, err := s.stores.List(r.Context(), infoOf(r).principal)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(stores, ""))
}

func (s *Server) apiCreateStore(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Slug     string `json:"slug"`
		Name     string `json:"name"`
		Currency string `json:"currency"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	st, err := s.stores.Create(r.Context(), infoOf(r).principal, tenancy.NewStore{Slug: in.Slug, Name: in.Name, Currency: in.Currency})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, st)
}

func (s *Server) apiSetStoreStatus(w http.ResponseWriter, r *http.Request) error {
	status := shop.StoreActive
	if strings.HasSuffix(r.URL.Path, "/suspend") {
		status = shop.StoreSuspended
	}
	st, err := s.stores.SetStatus(r.Context(), infoOf(r).principal, r.PathValue("slug"), status)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) apiSettings(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	st, err := s.stores.Settings(r.Context(), info.principal, info.store.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) apiUpdateSettings(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		PasswordComposition *bool `json:"password_composition"`
		ReservationMinutes  *int  `json:"reservation_minutes"`
		GuestCheckout       *bool `json:"guest_checkout"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	if in.PasswordComposition == nil && in.ReservationMinutes == nil && in.GuestCheckout == nil {
		return s.apiSettings(w, r)
	}
	var st tenancy.Settings
	var err error
	if in.ReservationMinutes != nil {
		if st, err = s.stores.SetReservationMinutes(r.Context(), info.principal, info.store.ID, *in.ReservationMinutes); err != nil {
			return err
		}
	}
	if in.PasswordComposition != nil {
		if st, err = s.stores.SetPasswordComposition(r.Context(), info.principal, info.store.ID, *in.PasswordComposition); err != nil {
			return err
		}
	}
	if in.GuestCheckout != nil {
		if st, err = s.stores.SetGuestCheckout(r.Context(), info.principal, info.store.ID, *in.GuestCheckout); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, st)
}
