package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"secureshop/internal/sqlstore"
)

// metrics is the queue in /metrics: its jobs by state, counted when scraped (shop_jobs), and the
// attempts that failed in this process, by kind (shop_jobs_failed_total).
type metrics struct {
	db       *sqlstore.DB
	jobs     *prometheus.Desc
	failures *prometheus.CounterVec
}

// The states a job can be in: each is reported, zero included.
var jobStates = []string{"available", "scheduled", "running", "retryable", "discarded", "cancelled", "completed", "pending"}

func newMetrics(db *sqlstore.DB) *metrics {
	return &metrics{db: db,
		jobs: prometheus.NewDesc("shop_jobs", "Jobs in the job queue, by state (retryable: failed, to be tried again; discarded: given up).", []string{"state"}, nil),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_jobs_failed_total",
			Help: "Job attempts that failed in this process, by kind of job."}, []string{"kind"}),
	}
}

// Collector is the queue's metrics, to register with the shop's registry.
func (q *Queue) Collector() prometheus.Collector { return q.metrics }

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.jobs
	m.failures.Describe(ch)
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := m.db.JobCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.jobs, err)
	} else {
		for _, s := range jobStates {
			ch <- prometheus.MustNewConstMetric(m.jobs, prometheus.GaugeValue, float64(counts[s]), s)
		}
	}
	m.failures.Collect(ch)
}

// count counts the failed attempts River reports, until it closes events.
func (m *metrics) count(events <-chan *river.Event) {
	for ev := range events {
		if ev.Kind == river.EventKindJobFailed && ev.Job != nil {
			m.failures.WithLabelValues(ev.Job.Kind).Inc()
		}
	}
}
