package web

import (
	"context"
	"net/http"
	"strconv"

	"secureshop/internal/jobs"
	"secureshop/internal/shop"
)

// JobQueue is what the back office shows of the job queue: the failed jobs, and a retry.
type JobQueue interface {
	Failed(ctx context.Context, actor shop.Principal, store shop.StoreID) ([]jobs.Failed, error)
	Retry(ctx context.Context, actor shop.Principal, store shop.StoreID, id int64) (jobs.Failed, error)
}

// jobScope is whose jobs a request is about: its store's, or every job on the platform's routes.
func jobScope(r *http.Request) shop.StoreID {
	if st := infoOf(r).store; st != nil {
		return st.ID
	}
	return ""
}

func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, jobs.ErrNoJob
	}
	return id, nil
}

func (s *Server) apiFailedJobs(w http.ResponseWriter, r *http.Request) error {
	list, err := s.jobs.Failed(r.Context(), infoOf(r).principal, jobScope(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"jobs": list})
}

func (s *Server) apiRetryJob(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.jobs.Retry(r.Context(), infoOf(r).principal, jobScope(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}

func (s *Server) pageAdminJobs(w http.ResponseWriter, r *http.Request) error {
	flash := ""
	if r.URL.Query().Get("retried") != "" {
		flash = "The job is queued to run again."
	}
	return s.renderJobs(w, r, http.StatusOK, flash, false)
}

// renderJobs shows the store's failed jobs, with flash above them (alert: what went wrong).
func (s *Server) renderJobs(w http.ResponseWriter, r *http.Request, status int, flash string, alert bool) error {
	list, err := s.jobs.Failed(r.Context(), infoOf(r).principal, infoOf(r).store.ID)
	if err != nil {
		return err
	}
	p := s.admin(r, &adminState{Jobs: list})
	p.Title, p.Flash, p.Alert = "Background jobs", flash, alert
	s.renderStatus(w, r, status, "admin_jobs", p)
	return nil
}

// renderPlatform shows the platform's page: the stores, and every failed job.
func (s *Server) renderPlatform(w http.ResponseWriter, r *http.Request, status int, flash string, alert bool) error {
	stores, err := s.stores.List(r.Context(), infoOf(r).principal)
	if err != nil {
		return err
	}
	failed, err := s.jobs.Failed(r.Context(), infoOf(r).principal, "")
	if err != nil {
		return err
	}
	s.renderStatus(w, r, status, "platform", pageData{Title: "Platform", Stores: stores, Admin: &adminState{Jobs: failed}, Flash: flash, Alert: alert})
	return nil
}

// A retry that is refused (the job no longer failed: it ran meanwhile) shows the list again, as it
// is now, with the reason above it.

func (s *Server) pageAdminJobRetry(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err == nil {
		_, err = s.jobs.Retry(r.Context(), infoOf(r).principal, infoOf(r).store.ID, id)
	}
	if e := formError(err); e != nil {
		status, _, _ := statusOf(err)
		return s.renderJobs(w, r, status, e.Message, true)
	}
	if err != nil {
		return err
	}
	return back(w, r, "/jobs?retried=1")
}

func (s *Server) pagePlatformJobRetry(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err == nil {
		_, err = s.jobs.Retry(r.Context(), infoOf(r).principal, "", id)
	}
	if e := formError(err); e != nil {
		status, _, _ := statusOf(err)
		return s.renderPlatform(w, r, status, e.Message, true)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/platform/?retried=1#jobs", http.StatusSeeOther)
	return nil
}

// jobKind names a kind of job for people.
func jobKind(kind string) string {
	switch kind {
	case "mail":
		return "Mail (sign-in, verification, reset, lockout)"
	case "order_mail":
		return "Order mail"
	case "payment_event":
		return "Payment provider's message"
	case "expire_reservations":
		return "Ending unpaid reservations"
	case "reconcile_payments":
		return "Reconciling payments"
	}
	return kind
}
