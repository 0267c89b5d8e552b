package web

import (
	"net/http"
	"time"

	"secureshop/internal/identity"
	"secureshop/internal/shop"
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
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	st := infoOf(r).store
	page, err := s.catalog.Products(r.Context(), st.ID, cursor, limit)
	if err != nil {
		return err
	}
	cats, err := s.catalog.Categories(r.Context(), st.ID)
	if err != nil {
		return err
	}
	d := pageData{Title: st.Name, NextCursor: page.NextCursor}
	for _, p := range page.Products {
		d.Products = append(d.Products, viewProduct(p, st.Currency))
	}
	for _, c := range cats {
		d.Categories = append(d.Categories, categoryView{c.Slug, c.Name})
	}
	return s.render(w, r, "store", d)
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
	return s.render(w, r, "login", pageData{Title: "Sign in", Login: loginForm{Action: r.URL.Path}})
}

// pageLoginPost signs in from the form. A fresh session token is issued at every sign-in.
func (s *Server) pageLoginPost(w http.ResponseWriter, r *http.Request) error {
	info := infoOf(r)
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	token, sess, err := s.id.LoginBrowser(r.Context(), info.store, email, password, identity.Meta{IP: info.ip, UserAgent: r.UserAgent()})
	if shop.KindOf(err) == shop.KindUnauthenticated {
		s.renderStatus(w, r, http.StatusUnauthorized, "login", pageData{Title: "Sign in",
			Login: loginForm{Action: r.URL.Path, Email: email, Error: "Invalid credentials."}})
		return nil
	}
	if err != nil {
		return err
	}
	if info.session != nil { // signing in again replaces the old session
		_ = s.id.Logout(r.Context(), info.principal)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt) / time.Second)})
	next := "/platform/"
	if info.store != nil {
		next = "/s/" + info.store.Slug + "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
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
	stores, err := s.stores.List(r.Context(), infoOf(r).principal)
	if err != nil {
		return err
	}
	return s.render(w, r, "platform", pageData{Title: "Platform", Stores: stores})
}
