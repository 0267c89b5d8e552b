package web

import (
	"net/http"
	"strconv"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
)

func (s *Server) idMeta(r *http.Request) identity.Meta {
	return identity.Meta{IP: infoOf(r).ip, UserAgent: r.UserAgent()}
}

// formResult renders page again with the error of a form, or passes on an internal error.
func (s *Server) formResult(w http.ResponseWriter, r *http.Request, page string, d pageData, err error) error {
	e := shop.AsError(err)
	if e == nil || e.Kind == shop.KindInternal {
		return err
	}
	status, _, _ := statusOf(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	d.Flash, d.Alert, d.Errors = e.Message, true, e.Fields
	s.renderStatus(w, r, status, page, d)
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) pageRegister(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, "register", pageData{Title: "Create an account"})
}

func (s *Server) pageRegisterPost(w http.ResponseWriter, r *http.Request) error {
	f := formState{Email: r.PostFormValue("email"), Name: r.PostFormValue("name")}
	err := s.id.Register(r.Context(), *infoOf(r).store, f.Email, r.PostFormValue("password"), f.Name, s.idMeta(r))
	if err != nil {
		return s.formResult(w, r, "register", pageData{Title: "Create an account", Form: f}, err)
	}
	return s.render(w, r, "message", pageData{Title: "Check your mail",
		Flash: "We sent a link to " + f.Email + ". Open it to confirm your address, then sign in."})
}

func (s *Server) pageVerify(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, "verify", pageData{Title: "Confirm your e-mail", Form: formState{Token: r.URL.Query().Get("token")}})
}

// pageVerifyPost spends the verification token: the link's page asks for a click, because a GET
// never changes anything (mail scanners open links too).
func (s *Server) pageVerifyPost(w http.ResponseWriter, r *http.Request) error {
	if err := s.id.VerifyEmail(r.Context(), *infoOf(r).store, r.PostFormValue("token")); err != nil {
		return s.formResult(w, r, "message", pageData{Title: "Confirm your e-mail"}, err)
	}
	return s.render(w, r, "message", pageData{Title: "E-mail confirmed", Flash: "Thank you: your address is confirmed. You can sign in now."})
}

func (s *Server) pageForgot(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, "forgot", pageData{Title: "Forgot your password?"})
}

func (s *Server) pageForgotPost(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	if err := s.id.ForgotPassword(r.Context(), *infoOf(r).store, email, s.idMeta(r)); err != nil {
		return s.formResult(w, r, "forgot", pageData{Title: "Forgot your password?", Form: formState{Email: email}}, err)
	}
	return s.render(w, r, "message", pageData{Title: "Check your mail",
		Flash: "If " + email + " has an account here, a link to reset the password is on its way. It works for 30 minutes."})
}

func (s *Server) pageReset(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, "reset", pageData{Title: "Choose a new password", Form: formState{Token: r.URL.Query().Get("token")}})
}

func (s *Server) pageResetPost(w http.ResponseWriter, r *http.Request) error {
	f := formState{Token: r.PostFormValue("token")}
	if err := s.id.ResetPassword(r.Context(), *infoOf(r).store, f.Token, r.PostFormValue("password"), s.idMeta(r)); err != nil {
		return s.formResult(w, r, "reset", pageData{Title: "Choose a new password", Form: f}, err)
	}
	return s.render(w, r, "message", pageData{Title: "Password changed",
		Flash: "Your new password is set, and every session of your account has ended. Sign in again."})
}

// account gathers what the account page shows.
func (s *Server) account(r *http.Request) (*accountState, error) {
	p := infoOf(r).principal
	u, st, err := s.id.Me(r.Context(), p)
	if err != nil {
		return nil, err
	}
	mfa, err := s.id.MFAEnabled(r.Context(), p)
	if err != nil {
		return nil, err
	}
	sessions, err := s.mySessions(r)
	if err != nil {
		return nil, err
	}
	a := &accountState{Base: s.accountPath(r), Me: meView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, EmailVerified: u.EmailVerifiedAt != nil,
		MFAEnabled: mfa, MFARequired: p.MFAEnrollRequired, CreatedAt: u.CreatedAt}, MFAEnabled: mfa, Sessions: sessions}
	if st != nil {
		a.Me.Store = &storeRef{ID: st.ID, Slug: st.Slug, Name: st.Name}
	}
	if p.Role == shop.RoleCustomer && p.StoreID != "" {
		if a.Addresses, err = s.orders.Addresses(r.Context(), p, p.StoreID); err != nil {
			return nil, err
		}
		a.Customer = true
	}
	return a, nil
}

// pageAccountDeleteAddress takes an address out of the customer's book.
func (s *Server) pageAccountDeleteAddress(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.orders.DeleteAddress(r.Context(), info.principal, info.store.ID, r.PathValue("id")); err != nil {
		return s.accountError(w, r, err)
	}
	return s.renderAccount(w, r, http.StatusOK, "The address is out of your address book.", false, nil, nil)
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, flash string, alert bool, fields []shop.FieldError, edit func(*accountState)) error {
	a, err := s.account(r)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(a)
	}
	s.renderStatus(w, r, status, "account", pageData{Title: "Your account", Account: a, Flash: flash, Alert: alert, Errors: fields})
	return nil
}

func (s *Server) accountError(w http.ResponseWriter, r *http.Request, err error) error {
	e := shop.AsError(err)
	if e == nil || e.Kind == shop.KindInternal || e.Kind == shop.KindNotFound {
		return err
	}
	status, _, _ := statusOf(err)
	return s.renderAccount(w, r, status, e.Message, true, e.Fields, nil)
}

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request) error {
	flash := ""
	if p := infoOf(r).principal; p.MFAEnrollRequired && p.Role == shop.RoleOperator {
		flash = "Platform accounts need two-factor sign-in. Set it up below to open the platform."
	} else if p.MFAEnrollRequired {
		flash = "Staff accounts need two-factor sign-in. Set it up below to open the back office."
	}
	return s.renderAccount(w, r, http.StatusOK, flash, false, nil, nil)
}

func (s *Server) pageAccountPassword(w http.ResponseWriter, r *http.Request) error {
	err := s.id.ChangePassword(r.Context(), infoOf(r).principal, r.PostFormValue("current_password"), r.PostFormValue("new_password"), s.idMeta(r))
	if err != nil {
		return s.accountError(w, r, err)
	}
	return s.renderAccount(w, r, http.StatusOK, "Your password is changed. Your other sessions have ended.", false, nil, nil)
}

func (s *Server) pageAccountMFA(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	issuer := "secureshop platform"
	if info.store != nil {
		issuer = info.store.Name
	}
	e, err := s.id.EnrollTOTP(r.Context(), info.principal, issuer)
	if err != nil {
		return s.accountError(w, r, err)
	}
	return s.renderAccount(w, r, http.StatusOK, "", false, nil, func(a *accountState) { a.Enrollment = &e })
}

func (s *Server) pageAccountMFAConfirm(w http.ResponseWriter, r *http.Request) error {
	codes, err := s.id.ConfirmTOTP(r.Context(), infoOf(r).principal, r.PostFormValue("code"), s.idMeta(r))
	if err != nil {
		return s.accountError(w, r, err)
	}
	return s.renderAccount(w, r, http.StatusOK, "Two-factor sign-in is on.", false, nil, func(a *accountState) {
		a.RecoveryCodes = codes
		a.Me.MFARequired = false
	})
}

func (s *Server) pageAccountMFADisable(w http.ResponseWriter, r *http.Request) error {
	if err := s.id.DisableTOTP(r.Context(), infoOf(r).principal, r.PostFormValue("code"), s.idMeta(r)); err != nil {
		return s.accountError(w, r, err)
	}
	return s.renderAccount(w, r, http.StatusOK, "Two-factor sign-in is off.", false, nil, nil)
}

func (s *Server) pageAccountEndSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.id.EndSession(r.Context(), infoOf(r).principal, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, s.accountPath(r), http.StatusSeeOther) // #nosec G710 -- a local path built from a checked slug
	return nil
}

func (s *Server) pageAccountEndOthers(w http.ResponseWriter, r *http.Request) error {
	n, err := s.id.EndOtherSessions(r.Context(), infoOf(r).principal)
	if err != nil {
		return err
	}
	return s.renderAccount(w, r, http.StatusOK, "Signed out everywhere else ("+itoa(n)+" sessions).", false, nil, nil)
}

func (s *Server) pageAccountExport(w http.ResponseWriter, r *http.Request) error {
	return s.apiExport(w, r)
}

func (s *Server) pageAccountDelete(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.id.DeleteAccount(r.Context(), info.principal, r.PostFormValue("password"), s.idMeta(r)); err != nil {
		return s.accountError(w, r, err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	info.principal, info.session = shop.Principal{}, nil
	return s.render(w, r, "message", pageData{Title: "Account deleted",
		Flash: "Your account is deleted and your personal data erased. Orders stay on the store's books without your name."})
}
