package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
)

type loginRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DeviceToken string `json:"device_token"` // from an earlier sign-in of this client, if any
}

// meta is where a request comes from: its address and agent, and for a browser the device tokens
// its cookie keeps from earlier sign-ins.
func (s *Server) meta(r *http.Request) identity.Meta {
	m := identity.Meta{IP: infoOf(r).ip, UserAgent: r.UserAgent()}
	if c, err := r.Cookie(deviceCookie); err == nil && !isAPI(r) {
		m.Devices = strings.Split(c.Value, "~")
	}
	return m
}

// apiMeta is meta with the device token an API client sent.
func (s *Server) apiMeta(r *http.Request, deviceToken string) identity.Meta {
	m := s.meta(r)
	if deviceToken != "" {
		m.Devices = []string{deviceToken}
	}
	return m
}

// apiLogin signs in to the path's store, or to the platform when there is none.
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Email == "" || in.Password == "" {
		return shop.Invalid(shop.FieldError{Field: "email", Message: "e-mail and password are required"},
			shop.FieldError{Field: "password", Message: "e-mail and password are required"})
	}
	l, err := s.id.Login(r.Context(), infoOf(r).store, in.Email, in.Password, identity.KindAPI, s.apiMeta(r, in.DeviceToken))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if l.Challenge != nil {
		return writeJSON(w, http.StatusOK, mfaRequired{"MFA", true, l.Challenge.Token, l.Challenge.Methods})
	}
	return writeJSON(w, http.StatusOK, l.Tokens)
}

type mfaRequired struct {
	TokenType   string   `json:"token_type"` // "MFA": what tells this answer from the tokens ("Bearer")
	MFARequired bool     `json:"mfa_required"`
	MFAToken    string   `json:"mfa_token"`
	Methods     []string `json:"methods"`
}

// apiMFA answers a sign-in challenge with a second factor.
func (s *Server) apiMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken    string `json:"mfa_token"`
		Method      string `json:"method"`
		Code        string `json:"code"`
		DeviceToken string `json:"device_token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := s.id.CompleteMFA(r.Context(), infoOf(r).store, in.MFAToken, in.Method, in.Code, identity.KindAPI, s.apiMeta(r, in.DeviceToken))
	if errors.Is(err, identity.ErrCodeSent) {
		return writeJSON(w, http.StatusAccepted, map[string]string{"status": "code sent"})
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, l.Tokens)
}

func (s *Server) apiRefresh(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.RefreshToken == "" || len(in.RefreshToken) > 200 {
		return shop.ErrUnauthenticated
	}
	tokens, err := s.id.Refresh(r.Context(), in.RefreshToken, s.meta(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, tokens)
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.id.Logout(r.Context(), infoOf(r).principal); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type storeRef struct {
	ID   shop.StoreID `json:"id"`
	Slug string       `json:"slug"`
	Name string       `json:"name"`
}

type meView struct {
	ID            shop.UserID `json:"id"`
	Email         string      `json:"email"`
	Name          string      `json:"name"`
	Role          shop.Role   `json:"role"`
	Store         *storeRef   `json:"store"`
	EmailVerified bool        `json:"email_verified"`
	MFAEnabled    bool        `json:"mfa_enabled"`
	MFARequired   bool        `json:"mfa_enrollment_required"`
	CreatedAt     time.Time   `json:"created_at"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) error {
	u, st, err := s.id.Me(r.Context(), infoOf(r).principal)
	if err != nil {
		return err
	}
	p := infoOf(r).principal
	mfa, err := s.id.MFAEnabled(r.Context(), p)
	if err != nil {
		return err
	}
	v := meView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, EmailVerified: u.EmailVerifiedAt != nil,
		CreatedAt: u.CreatedAt, MFAEnabled: mfa, MFARequired: p.MFAEnrollRequired}
	if st != nil {
		v.Store = &storeRef{ID: st.ID, Slug: st.Slug, Name: st.Name}
	}
	return writeJSON(w, http.StatusOK, v)
}
