package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
	"secureshop/internal/tenancy"
)

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) error {
	stores, err := s.stores.List(r.Context(), shop.System())
	if err != nil {
		return err
	}
	active := stores[:0]
	for _, st := range stores {
		if st.Status == shop.StoreActive {
			active = append(active, st)
		}
	}
	return s.render(w, r, "home", pageData{Title: "secureshop", Stores: active})
}

func (s *Server) pageStore(w http.ResponseWriter, r *http.Request) error {
	q, err := catalogQuery(r)
	if err != nil {
		return err
	}
	if q.Limit == 20 && r.URL.Query().Get("limit") == "" {
		q.Limit = 24
	}
	st := infoOf(r).store
	// The page's content (heading, search form, categories, product grid) depends only on the
	// store, the listing asked for and the catalogue, never on the visitor: it is rendered once
	// per listing and kept while the catalogue is unchanged (see memo). The layout around it —
	// who is signed in, their form token — is rendered for each request.
	key, gen, now := q.Key(st.ID)+"\x00"+st.Slug+"\x00"+st.Name, s.catalog.Generation(st.ID), time.Now()
	content, ok := s.storefronts.Get(key, gen, now)
	if !ok {
		page, err := s.catalog.ReadProducts(r.Context(), st.ID, q)
		if err != nil {
			return err
		}
		cats, err := s.catalog.ReadCategories(r.Context(), st.ID)
		if err != nil {
			return err
		}
		d := pageData{Store: st, Query: queryState{Text: q.Text, Category: q.Category, Sort: q.Sort},
			NextCursor: page.NextCursor, Products: viewProducts(page.Products, st.Currency)}
		for _, c := range cats {
			d.Categories = append(d.Categories, categoryView{c.Slug, c.Name})
		}
		buf := buffers.Get().(*bytes.Buffer)
		defer putBuffer(buf)
		if err := s.pages["store"].ExecuteTemplate(buf, "content", &d); err != nil {
			return err
		}
		content = template.HTML(buf.String()) // #nosec G203 -- the output of html/template, escaped in the element context the layout puts it in
		s.storefronts.Put(key, gen, now, content)
	}
	return s.render(w, r, "store", pageData{Title: st.Name, Store: st, Content: content})
}

func (s *Server) pageProduct(w http.ResponseWriter, r *http.Request) error {
	st := infoOf(r).store
	p, err := s.catalog.Product(r.Context(), st.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewProduct(p, st.Currency)
	return s.render(w, r, "product", pageData{Title: p.Name, Product: &v})
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	l := loginForm{Action: r.URL.Path, Next: r.URL.Query().Get("next")}
	if st := info.store; st != nil && l.Next == "/s/"+st.Slug+"/checkout" {
		if on, _ := s.orders.GuestsWelcome(r.Context(), *st); on {
			l.Guest = "/s/" + st.Slug + "/checkout/guest"
		}
	}
	return s.render(w, r, "login", pageData{Title: "Sign in", Login: l})
}

// safeNext accepts a return path only inside the store the visitor signs in to.
func safeNext(next string, st *shop.Store) string {
	if st == nil || !strings.HasPrefix(next, "/s/"+st.Slug+"/") || strings.ContainsAny(next, "\\\r\n") ||
		strings.Contains(next, "//") || strings.Contains(next, "/../") || len(next) > 200 {
		return ""
	}
	return next
}

// pageLoginPost signs in from the form. A fresh session token is issued at every sign-in; a user
// with a second factor is asked for it next.
func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"), info.store)
	l, err := s.id.Login(r.Context(), info.store, email, password, identity.KindBrowser, s.meta(r))
	if k := shop.KindOf(err); k == shop.KindUnauthenticated || k == shop.KindRateLimited {
		status, _, e := statusOf(err)
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
		s.renderStatus(w, r, status, "login", pageData{Title: "Sign in",
			Login: loginForm{Action: r.URL.Path, Email: email, Error: e.Message, Next: next}})
		return nil
	}
	if err != nil {
		return err
	}
	if l.Challenge != nil {
		return s.render(w, r, "mfa", pageData{Title: "Second factor", Form: formState{MFAToken: l.Challenge.Token, Next: next}})
	}
	return s.finishLogin(w, r, l, next)
}

// pageLoginMFA takes the second factor of a browser sign-in.
func (s *Server) pageLoginMFA(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	f := formState{MFAToken: r.PostFormValue("mfa_token"), Next: safeNext(r.PostFormValue("next"), info.store)}
	method := r.PostFormValue("method")
	l, err := s.id.CompleteMFA(r.Context(), info.store, f.MFAToken, method, r.PostFormValue("code"), identity.KindBrowser, s.meta(r))
	if errors.Is(err, identity.ErrCodeSent) {
		return s.render(w, r, "mfa", pageData{Title: "Second factor", Form: f, Flash: "We mailed you a six-digit code. It works once, for five minutes."})
	}
	if e := shop.AsError(err); e != nil && e.Kind != shop.KindInternal {
		status, _, _ := statusOf(err)
		if errors.Is(err, identity.ErrMFAInvalid) && f.MFAToken == "" {
			status = http.StatusUnauthorized
		}
		s.renderStatus(w, r, status, "mfa", pageData{Title: "Second factor", Form: f, Flash: e.Message, Alert: true})
		return nil
	}
	if err != nil {
		return err
	}
	return s.finishLogin(w, r, l, f.Next)
}

// finishLogin sets the session cookie, moves a visitor's cart into the customer's, and goes on.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, l identity.Login, next string) error {
	info := infoOf(r)
	if info.session != nil { // signing in again replaces the old session
		_ = s.id.Logout(r.Context(), info.principal)
	}
	sess := l.Session
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: l.CookieToken, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt) / time.Second)})
	s.keepDevices(w, l.Devices)
	if info.store != nil {
		if c, err := r.Cookie(visitorCookie); err == nil {
			p := shop.Principal{UserID: sess.UserID, StoreID: sess.StoreID, Role: sess.Role, Email: sess.Email, SessionID: sess.ID}
			if err := s.orders.MergeVisitorCart(r.Context(), p, info.store.ID, c.Value); err != nil {
				s.log.WarnContext(r.Context(), "cart merge failed", "request_id", info.id, "err", err)
			}
			http.SetCookie(w, &http.Cookie{Name: visitorCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
		}
	}
	if sess.MFAEnroll {
		next = s.accountPath(r)
	}
	if next == "" {
		next = "/platform/"
		if info.store != nil {
			next = "/s/" + info.store.Slug + "/"
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther) // #nosec G710 -- next is checked by safeNext to stay inside this store
	return nil
}

func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	if err := s.id.Logout(r.Context(), info.principal); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	next := "/"
	if info.principal.StoreID != "" {
		if st, err := s.id.StoreOf(r.Context(), info.principal); err == nil {
			next = "/s/" + st.Slug + "/"
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) pagePlatform(w http.ResponseWriter, r *http.Request) error {
	flash := ""
	if r.URL.Query().Get("retried") != "" {
		flash = "The job is queued to run again."
	}
	return s.renderPlatform(w, r, http.StatusOK, flash, false)
}

func (s *Server) pagePlatformCreate(w http.ResponseWriter, r *http.Request) error {
	_, err := s.stores.Create(r.Context(), infoOf(r).principal, tenancy.NewStore{Slug: r.PostFormValue("slug"), Name: r.PostFormValue("name"),
		Currency: r.PostFormValue("currency")})
	if err != nil {
		return s.adminFail(w, r, err)
	}
	http.Redirect(w, r, "/platform/", http.StatusSeeOther)
	return nil
}

func (s *Server) pagePlatformStatus(w http.ResponseWriter, r *http.Request) error {
	status := shop.StoreStatus(r.PostFormValue("status"))
	if _, err := s.stores.SetStatus(r.Context(), infoOf(r).principal, r.PathValue("slug"), status); err != nil {
		return s.adminFail(w, r, err)
	}
	http.Redirect(w, r, "/platform/", http.StatusSeeOther)
	return nil
}

// deviceCookie keeps this browser's device tokens, one per account it signed in to (newest first,
// at most identity.MaxDeviceTokens): they keep its sign-ins from being locked out by failures
// from elsewhere (see identity's devices.go).
const deviceCookie = "__Host-shop_device"

// keepDevices sets the browser's device tokens, for 90 days.
func (s *Server) keepDevices(w http.ResponseWriter, tokens []string) {
	if len(tokens) == 0 {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: strings.Join(tokens, "~"), Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 90 * 24 * 3600})
}
