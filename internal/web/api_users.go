package web

import (
	"net/http"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
)

type userView struct {
	ID            shop.UserID `json:"id"`
	Email         string      `json:"email"`
	Name          string      `json:"name"`
	Role          shop.Role   `json:"role"`
	Active        bool        `json:"active"`
	EmailVerified bool        `json:"email_verified"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

func viewUser(u shop.User) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Active: u.Active,
		EmailVerified: u.EmailVerifiedAt != nil, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	info := infoOf(r)
	page, err := s.id.ListUsers(r.Context(), info.principal, info.store.ID, cursor, limit)
	if err != nil {
		return err
	}
	items := make([]userView, len(page.Users))
	for i, u := range page.Users {
		items[i] = viewUser(u)
	}
	return writeJSON(w, http.StatusOK, newList(items, page.NextCursor))
}

func (s *Server) apiUser(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	u, err := s.id.GetUser(r.Context(), info.principal, info.store.ID, shop.UserID(r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewUser(u))
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string    `json:"email"`
		Name     string    `json:"name"`
		Role     shop.Role `json:"role"`
		Password string    `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	u, err := s.id.CreateUser(r.Context(), info.principal, info.store.ID, identity.NewUser{
		Email: in.Email, Name: in.Name, Role: in.Role, Password: in.Password})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/stores/"+info.store.Slug+"/users/"+string(u.ID))
	return writeJSON(w, http.StatusCreated, viewUser(u))
}

func (s *Server) apiUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Role   *shop.Role `json:"role"`
		Active *bool      `json:"active"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	info := infoOf(r)
	u, err := s.id.UpdateUser(r.Context(), info.principal, info.store.ID, shop.UserID(r.PathValue("id")),
		identity.UserPatch{Role: in.Role, Active: in.Active})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewUser(u))
}

func (s *Server) apiRevokeSessions(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	n, err := s.id.RevokeSessions(r.Context(), info.principal, info.store.ID, shop.UserID(r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}
