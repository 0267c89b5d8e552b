package web

import (
	"net/http"
	"time"

	"secureshop/internal/shop"
)

func (s *Server) apiRegister(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.Register(r.Context(), *infoOf(r).store, in.Email, in.Password, in.Name, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"status": "check your mail to confirm the address"})
}

func (s *Server) apiVerifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.VerifyEmail(r.Context(), *infoOf(r).store, in.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiForgot(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.ForgotPassword(r.Context(), *infoOf(r).store, in.Email, s.meta(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "if the address has an account, a reset link is on its way"})
}

func (s *Server) apiReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.ResetPassword(r.Context(), *infoOf(r).store, in.Token, in.Password, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.ChangePassword(r.Context(), infoOf(r).principal, in.Current, in.New, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type sessionView struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	Current   bool      `json:"current"`
}

func (s *Server) mySessions(r *http.Request) ([]sessionView, error) {
	p := infoOf(r).principal
	list, err := s.id.Sessions(r.Context(), p)
	if err != nil {
		return nil, err
	}
	out := []sessionView{}
	for _, x := range list {
		out = append(out, sessionView{x.ID, x.Kind, x.IP, x.UserAgent, x.CreatedAt, x.LastSeen, x.ID == p.SessionID})
	}
	return out, nil
}

func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.mySessions(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(list, ""))
}

func (s *Server) apiEndSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.id.EndSession(r.Context(), infoOf(r).principal, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiEndOtherSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.id.EndOtherSessions(r.Context(), infoOf(r).principal)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"ended": n})
}

func (s *Server) apiEnrollTOTP(w http.ResponseWriter, r *http.Request) error {
	p := infoOf(r).principal
	issuer := "secureshop"
	if p.StoreID != "" {
		if st, err := s.id.StoreOf(r.Context(), p); err == nil {
			issuer = st.Name
		}
	}
	e, err := s.id.EnrollTOTP(r.Context(), p, issuer)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) apiConfirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	codes, err := s.id.ConfirmTOTP(r.Context(), infoOf(r).principal, in.Code, s.meta(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
}

func (s *Server) apiDisableTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.DisableTOTP(r.Context(), infoOf(r).principal, in.Code, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// accountExport is everything the shop holds about a customer.
type accountExport struct {
	Profile   meView      `json:"profile"`
	Addresses []any       `json:"addresses"`
	Orders    []orderView `json:"orders"`
	Exported  time.Time   `json:"exported_at"`
}

func (s *Server) export(r *http.Request) (accountExport, error) {
	p := infoOf(r).principal
	u, st, err := s.id.Me(r.Context(), p)
	if err != nil {
		return accountExport{}, err
	}
	out := accountExport{Profile: meView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, EmailVerified: u.EmailVerifiedAt != nil,
		CreatedAt: u.CreatedAt}, Addresses: []any{}, Orders: []orderView{}, Exported: time.Now().UTC()}
	if st != nil {
		out.Profile.Store = &storeRef{ID: st.ID, Slug: st.Slug, Name: st.Name}
	}
	if p.Role != shop.RoleCustomer || st == nil {
		return out, nil
	}
	cursor := ""
	for {
		page, err := s.orders.List(r.Context(), p, st.ID, shop.OrderFilter{Cursor: cursor, Limit: 100})
		if err != nil {
			return accountExport{}, err
		}
		for _, o := range page.Orders {
			full, err := s.orders.Get(r.Context(), p, st.ID, o.ID)
			if err != nil {
				return accountExport{}, err
			}
			out.Orders = append(out.Orders, viewOrder(full))
		}
		if cursor = page.NextCursor; cursor == "" {
			return out, nil
		}
	}
}

func (s *Server) apiExport(w http.ResponseWriter, r *http.Request) error {
	e, err := s.export(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="my-data.json"`)
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) apiDeleteAccount(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.id.DeleteAccount(r.Context(), infoOf(r).principal, in.Password, s.meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiUnlockUser(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.id.UnlockUser(r.Context(), info.principal, info.store.ID, shop.UserID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiResetUserMFA(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.id.ResetUserMFA(r.Context(), info.principal, info.store.ID, shop.UserID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
