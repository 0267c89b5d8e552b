package app_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"secureshop/internal/app"
	"secureshop/internal/shop"
	"secureshop/internal/testenv"
)

type failedJobsJSON struct {
	Jobs []struct {
		ID       int64  `json:"id"`
		Kind     string `json:"kind"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
		Error    string `json:"error"`
	} `json:"jobs"`
}

// breakMail lets the mail sent so far go out, then makes the mail directory a file: every
// delivery fails from then on (until the file is removed). It returns the directory's path.
func (s *testShop) breakMail() string {
	s.t.Helper()
	s.settle()
	dir := s.app.Cfg.MailDir
	if err := os.RemoveAll(dir); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		s.t.Fatal(err)
	}
	return dir
}

// TestJobs_AFailedMailIsListedForItsStoreAndTriedAgain: while mail cannot be delivered, an order's
// confirmation is retried by the job queue and listed as failed for its store's admin — in the
// API, the back office and /metrics — and for no other store's; once the cause is put right, the
// admin has it tried again and the mail goes out; the retry is in the audit log.
func TestJobs_AFailedMailIsListedForItsStoreAndTriedAgain(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dbURL string) {
		s := startShopFull(t, dbURL, func(c *app.Config) { c.MetricsToken = "metrics-secret" })
		s.store("north")
		s.store("south")
		p := s.newProduct("north", "N-1", 500, 5)
		cust := s.login("north", "customer@example.com").AccessToken
		admin := s.login("north", "admin@example.com").AccessToken
		clerk := s.login("north", "clerk@example.com").AccessToken
		other := s.login("south", "admin@example.com").AccessToken
		page := s.browserLogin("/s/north/login", "admin@example.com")
		s.operator("ops@example.com")
		ops := s.login("", "ops@example.com").AccessToken
		dir := s.breakMail()
		var o orderJSON
		s.buy("north", cust, p.ID, 1).json(t, &o)
		if o.Status != "paid" {
			t.Fatalf("order %+v", o)
		}
		// Wait for the second failed attempt: the next is then many seconds away.
		var list failedJobsJSON
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			a := s.call("GET", "/api/v1/stores/north/jobs/failed", admin, nil)
			expectStatus(t, "failed jobs", a, http.StatusOK)
			list = failedJobsJSON{}
			a.json(t, &list)
			if len(list.Jobs) == 1 && list.Jobs[0].Attempts >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no order mail failed twice: %s", a.body)
			}
		}
		j := list.Jobs[0]
		if j.Kind != "order_mail" || j.State != "retryable" || !strings.Contains(j.Error, "mail could not be handed") {
			t.Fatalf("failed job: %+v", j)
		}
		if strings.Contains(j.Error, dir) || strings.Contains(j.Error, "directory") {
			t.Fatalf("a store's admin is shown the platform's insides: %q", j.Error)
		}
		id := strconv.FormatInt(j.ID, 10)

		// Nobody else sees it or moves it.
		var theirs failedJobsJSON
		s.call("GET", "/api/v1/stores/south/jobs/failed", other, nil).json(t, &theirs)
		if len(theirs.Jobs) != 0 {
			t.Fatalf("another store's admin sees %+v", theirs.Jobs)
		}
		expectStatus(t, "another store's admin retries it", s.call("POST", "/api/v1/stores/south/jobs/"+id+"/retry", other, nil), http.StatusNotFound)
		expectStatus(t, "an admin retries it through another store", s.call("POST", "/api/v1/stores/north/jobs/"+id+"/retry", other, nil), http.StatusNotFound)
		expectStatus(t, "a clerk lists jobs", s.call("GET", "/api/v1/stores/north/jobs/failed", clerk, nil), http.StatusForbidden)
		expectStatus(t, "a customer retries it", s.call("POST", "/api/v1/stores/north/jobs/"+id+"/retry", cust, nil), http.StatusForbidden)
		expectStatus(t, "an unknown job", s.call("POST", "/api/v1/stores/north/jobs/999999999/retry", admin, nil), http.StatusNotFound)

		// The platform's operators see it too, with the error itself.
		var all failedJobsJSON
		s.call("GET", "/api/v1/platform/jobs/failed", ops, nil).json(t, &all)
		if len(all.Jobs) != 1 || all.Jobs[0].ID != j.ID || !strings.Contains(all.Jobs[0].Error, "not a directory") {
			t.Fatalf("the platform's failed jobs: %+v", all.Jobs)
		}

		// The back office lists it, with a way to try it again.
		_, html := page.do("GET", "/s/north/admin/jobs", nil)
		if !strings.Contains(html, "Order mail") || !strings.Contains(html, `/s/north/admin/jobs/`+id+`/retry`) || !strings.Contains(html, "2 of 25") {
			t.Fatalf("back office jobs page:\n%s", html)
		}
		m := s.call("GET", "/metrics", "metrics-secret", nil)
		for _, want := range []string{`shop_jobs{state="retryable"} 1`, `shop_jobs_failed_total{kind="order_mail"} 2`} {
			if !strings.Contains(string(m.body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}

		// Put right, and tried again from the back office: the mail goes out, the list empties.
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		resp, _ := page.do("POST", "/s/north/admin/jobs/"+id+"/retry", url.Values{"csrf": {csrfOf(t, html)}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("retry from the back office: %d", resp.StatusCode)
		}
		mail := s.awaitMail("customer@example.com", "order confirmation")
		if !strings.Contains(mail.Body, o.ID) {
			t.Fatalf("the confirmation: %s", mail.Body)
		}
		s.settle()
		list = failedJobsJSON{}
		s.call("GET", "/api/v1/stores/north/jobs/failed", admin, nil).json(t, &list)
		if len(list.Jobs) != 0 {
			t.Fatalf("still failed after the retry: %+v", list.Jobs)
		}
		expectStatus(t, "retry a job that no longer failed", s.call("POST", "/api/v1/stores/north/jobs/"+id+"/retry", admin, nil), http.StatusConflict)
		// The same from the back office (the job ran meanwhile): the list again, as it is, with why.
		resp, again := page.do("POST", "/s/north/admin/jobs/"+id+"/retry", url.Values{"csrf": {csrfOf(t, html)}})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(again, "<h1>Background jobs</h1>") ||
			!strings.Contains(again, "Only a failed job can be tried again") || !strings.Contains(again, "No job has failed") {
			t.Fatalf("a refused retry in the back office: %d\n%s", resp.StatusCode, again)
		}
		audit := s.call("GET", "/api/v1/stores/north/audit-events", admin, nil)
		if !strings.Contains(string(audit.body), `"action":"job.retry"`) || !strings.Contains(string(audit.body), `"target_id":"`+id+`"`) {
			t.Fatalf("audit log: %s", audit.body)
		}
	})
}

// TestJobs_AJobOutlivesTheInstanceThatQueuedIt: an order's confirmation that failed on one instance
// (its mail directory unwritable) is in the database, not in that process: once the instance is
// gone, the next one to start on the database delivers it, by itself.
func TestJobs_AJobOutlivesTheInstanceThatQueuedIt(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dbURL string) {
		var orderID string
		t.Run("the first instance", func(t *testing.T) {
			s := startShop(t, dbURL)
			st, _ := s.store("durable")
			p := s.newProduct("durable", "D-1", 700, 5)
			cust := s.login("durable", "customer@example.com").AccessToken
			s.breakMail()
			var o orderJSON
			s.buy("durable", cust, p.ID, 1).json(t, &o)
			orderID = o.ID
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				failed, err := s.app.Jobs.Failed(context.Background(), shop.System(), st.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(failed) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the confirmation did not fail")
				}
			}
		}) // the first instance stops here, its job still to do
		// The second instance is elected to move due retries back into the queue (River's
		// scheduler runs every few seconds), then works this one.
		s := startShop(t, dbURL)
		var m testenv.Mail
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var ok bool
			if m, ok = testenv.NewestMail(t, s.app.Cfg.MailDir, "customer@example.com", "order confirmation"); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the second instance did not send the confirmation")
			}
		}
		if !strings.Contains(m.Body, orderID) {
			t.Fatalf("the confirmation the second instance sent: %s", m.Body)
		}
	})
}
