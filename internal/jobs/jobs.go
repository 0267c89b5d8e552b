// Package jobs is the shop's durable job queue: River (github.com/riverqueue/river) over the
// shop's own database — SQLite through riversqlite, sharing the one writer, or PostgreSQL through
// riverpgxv5 — so that a job is written in the transaction of the change it follows from
// (sqlstore.Tx.InTransaction), survives restarts, and is worked by whichever instance takes it,
// with retries and backoff. The jobs: every mail (sealed, see Mailer), the provider's webhook
// events, reservation expiry and payment reconciliation (periodic, enqueued by the elected leader
// alone). Failed jobs are listed for admins and may be tried again; /metrics counts them.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"secureshop/internal/access"
	"secureshop/internal/audit"
	"secureshop/internal/mail"
	"secureshop/internal/orders"
	"secureshop/internal/shop"
	"secureshop/internal/sqlstore"
	"secureshop/internal/vault"
)

// Config tunes the queue.
type Config struct {
	Expiry    time.Duration // how often reservations that ran out are cancelled (default 15 s)
	Reconcile time.Duration // how often pending payments are compared with the provider (default 5 min)
	Window    time.Duration // how far back reconciliation looks (default 24 h)
	Workers   int           // jobs worked at once by this instance (default 100: they wait on I/O)
	Vault     *vault.Vault  // seals the mail jobs (required)
	Log       *slog.Logger
}

// Work is what the jobs are done with, handed to Start once the services exist (they take the
// queue themselves).
type Work struct {
	Orders *orders.Service
	Mailer mail.Sender // delivers the mail jobs: files or SMTP
}

// client is what the queue uses of River's client, the same for both drivers.
type client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Queue is the job queue of one shop process.
type Queue struct {
	db   *sqlstore.DB
	log  *slog.Logger
	lite *river.Client[*sql.Tx] // SQLite
	pg   *river.Client[pgx.Tx]  // PostgreSQL
	pool *pgxpool.Pool          // PostgreSQL: River's own pool (LISTEN, fetches)
	c    client
	cfg  Config

	work    Work
	metrics *metrics
	mu      sync.Mutex
	started bool
	stop    func() // ends the failure counting
}

// ErrNoJob: no job of that id in the store.
var ErrNoJob = shop.NotFound("Job")

// New builds the queue over db, whose URL is dbURL (PostgreSQL: River opens a small pool of its
// own there, for LISTEN/NOTIFY). It works nothing until Start.
func New(ctx context.Context, db *sqlstore.DB, dbURL string, cfg Config) (*Queue, error) {
	if cfg.Expiry <= 0 {
		cfg.Expiry = 15 * time.Second
	}
	if cfg.Reconcile <= 0 {
		cfg.Reconcile = 5 * time.Minute
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 100
	}
	if cfg.Vault == nil {
		return nil, errors.New("jobs: no vault to seal mail with")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{db: db, log: cfg.Log, cfg: cfg, metrics: newMetrics(db)}
	workers := river.NewWorkers()
	river.AddWorker(workers, &mailWorker{q: q})
	river.AddWorker(workers, &orderMailWorker{q: q})
	river.AddWorker(workers, &eventWorker{q: q})
	river.AddWorker(workers, &expiryWorker{q: q})
	river.AddWorker(workers, &reconcileWorker{q: q})
	rc := &river.Config{
		Logger:  quiet(cfg.Log),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers: workers,
		// One instance (the elected leader) enqueues them; any instance works them. Each pass is
		// safe to repeat: every move it makes is conditional.
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.Expiry), func() (river.JobArgs, *river.InsertOpts) {
				return orders.ExpiryJob{}, &river.InsertOpts{MaxAttempts: 1}
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.Reconcile), func() (river.JobArgs, *river.InsertOpts) {
				return orders.ReconcileJob{}, &river.InsertOpts{MaxAttempts: 1}
			}, nil), // first after an interval: a restart is no reason to ask the provider about every pending payment
		},
		// A fetch takes at most the free workers' worth of jobs, and fetches are FetchCooldown
		// apart: River's defaults (10 workers, 100 ms) cap an instance at 100 jobs a second, fewer
		// than two jobs (the event, the mail) for each order paid at the shop's checkout rate.
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 250 * time.Millisecond,
		JobTimeout:        2 * time.Minute,
		// A job an instance was working when it died (kill -9, a lost machine) is taken again by
		// another after this long (River's default is an hour).
		RescueStuckJobsAfter: 5 * time.Minute,
		// Mail jobs are sealed, but need not stay once sent.
		CompletedJobRetentionPeriod: time.Hour,
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
	}
	var err error
	if db.Dialect() == sqlstore.Postgres {
		pc, perr := pgxpool.ParseConfig(dbURL)
		if perr != nil {
			return nil, fmt.Errorf("jobs: %w", perr)
		}
		pc.MaxConns = int32(min(cfg.Workers, 4)) + 2 // #nosec G115 -- at most 6
		if q.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		q.pg, err = river.NewClient(riverpgxv5.New(q.pool), rc)
		q.c = q.pg
	} else {
		q.lite, err = river.NewClient(riversqlite.New(db.Pool()), rc)
		q.c = q.lite
	}
	if err != nil {
		q.close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

// Start starts working jobs with w.
func (q *Queue) Start(ctx context.Context, w Work) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.work = w
	events, cancel := q.c.Subscribe(river.EventKindJobFailed)
	q.stop = cancel
	go q.metrics.count(events)
	if err := q.c.Start(context.WithoutCancel(ctx)); err != nil {
		cancel()
		return fmt.Errorf("jobs: %w", err)
	}
	q.started = true
	return nil
}

// Stop lets the jobs in hand finish (for up to ten seconds; those cut short are taken again by
// the next instance to look) and releases River's connections. The database stays open.
func (q *Queue) Stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := q.c.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			q.log.Warn("job queue stopped with an error", "err", err)
		}
		cancel()
		q.stop()
		q.started = false
	}
	q.close()
}

func (q *Queue) close() {
	if q.pool != nil {
		q.pool.Close()
		q.pool = nil
	}
}

// InsertTx writes job in tx's transaction: it runs once tx commits, and never if tx rolls back.
func (q *Queue) InsertTx(ctx context.Context, tx *sqlstore.Tx, job shop.Job) error {
	opts := insertOpts(job)
	return tx.InTransaction(ctx, func(lite *sql.Tx, pg pgx.Tx) error {
		var err error
		if lite != nil {
			_, err = q.lite.InsertTx(ctx, lite, job, opts)
		} else {
			_, err = q.pg.InsertTx(ctx, pg, job, opts)
		}
		return err
	})
}

// Insert writes job in a transaction of its own. It is refused inside a write transaction of the
// shop's (use InsertTx): on SQLite it would wait for the writer that transaction holds.
func (q *Queue) Insert(ctx context.Context, job shop.Job) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err
	}
	_, err := q.c.Insert(ctx, job, insertOpts(job))
	return err
}

// storeTag marks a job as one store's, for its admins' list of failed jobs.
func storeTag(store shop.StoreID) string { return "store_" + string(store) }

func insertOpts(job shop.Job) *river.InsertOpts {
	o := &river.InsertOpts{}
	if sj, ok := job.(shop.StoreJob); ok && shop.ValidID(string(sj.JobStore())) {
		o.Tags = []string{storeTag(sj.JobStore())}
	}
	return o
}

// Failed is a job that failed: waiting for its next attempt (retryable) or given up (discarded).
type Failed struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"` // retryable or discarded
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	Error       string    `json:"error"` // the last attempt's
	CreatedAt   time.Time `json:"created_at"`
	FailedAt    time.Time `json:"failed_at,omitzero"`
	NextAt      time.Time `json:"next_at,omitzero"` // retryable: when it is tried again
}

// allowed is who may see and retry failed jobs: in a store, its own staff with JobsManage (anyone
// else is told there is no such store); every job (store ""), the platform's operators.
func allowed(actor shop.Principal, store shop.StoreID) error {
	if store == "" {
		return access.Check(actor, access.PlatformJobs)
	}
	return access.CheckStore(actor, store, access.JobsManage, "Store")
}

// Failed lists a store's failed jobs, the newest first (at most 200); store "" lists every job of
// the platform's, whatever its store.
func (q *Queue) Failed(ctx context.Context, actor shop.Principal, store shop.StoreID) ([]Failed, error) {
	if err := allowed(actor, store); err != nil {
		return nil, err
	}
	p := river.NewJobListParams().States(rivertype.JobStateRetryable, rivertype.JobStateDiscarded).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(200)
	if store != "" {
		p = p.TagsAny(storeTag(store))
	}
	res, err := q.c.JobList(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Failed, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		f := Failed{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempts: j.Attempt, MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt.UTC()}
		if n := len(j.Errors); n > 0 {
			f.Error, f.FailedAt = firstLine(j.Errors[n-1].Error), j.Errors[n-1].At.UTC()
			if store != "" {
				// A store's admin is told what failed, not the platform's insides (its paths, its
				// mail server's answers); the platform's operators see the error itself.
				f.Error = storeError(j.Kind)
			}
		}
		if j.State == rivertype.JobStateRetryable {
			f.NextAt = j.ScheduledAt.UTC()
		}
		out = append(out, f)
	}
	return out, nil
}

// Retry has a store's failed job tried again at once, for actor (a store's admin, or with store ""
// a platform operator, for any job): in one transaction with its entry in the audit log.
func (q *Queue) Retry(ctx context.Context, actor shop.Principal, store shop.StoreID, id int64) (Failed, error) {
	if err := allowed(actor, store); err != nil {
		return Failed{}, err
	}
	var j *rivertype.JobRow
	err := q.db.Update(ctx, store, func(ctx context.Context, tx *sqlstore.Tx) error {
		err := tx.InTransaction(ctx, func(lite *sql.Tx, pg pgx.Tx) error {
			var err error
			if lite != nil {
				j, err = q.lite.JobGetTx(ctx, lite, id)
			} else {
				j, err = q.pg.JobGetTx(ctx, pg, id)
			}
			if errors.Is(err, river.ErrNotFound) || (err == nil && store != "" && !slices.Contains(j.Tags, storeTag(store))) {
				return ErrNoJob
			}
			if err != nil {
				return err
			}
			if !failed(j) {
				return shop.Errorf(shop.KindConflict, "Only a failed job can be tried again; this one is %s.", j.State)
			}
			if lite != nil {
				j, err = q.lite.JobRetryTx(ctx, lite, id)
			} else {
				j, err = q.pg.JobRetryTx(ctx, pg, id)
			}
			return err
		})
		if err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit.Record{Actor: actor, Action: "job.retry", TargetType: "job", TargetID: strconv.FormatInt(id, 10),
			Detail: map[string]string{"kind": j.Kind}})
		return err
	})
	if err != nil {
		return Failed{}, err
	}
	return Failed{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempts: j.Attempt, MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt.UTC(), NextAt: j.ScheduledAt.UTC()}, nil
}

func failed(j *rivertype.JobRow) bool {
	return j.State == rivertype.JobStateRetryable || j.State == rivertype.JobStateDiscarded
}

// storeError says, for a store's admins, what a failed job of kind could not do.
func storeError(kind string) string {
	switch kind {
	case orders.MailJob{}.Kind(), MailJob{}.Kind():
		return "The mail could not be handed to the mail service; the platform's operators see why."
	case orders.EventJob{}.Kind():
		return "The payment provider's message could not be applied; the platform's operators see why."
	}
	return "The job did not complete; the platform's operators see why."
}

// firstLine keeps an error's first line, at most 300 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// quiet passes River's warnings and errors on to log; its information (started, elected) is not
// the shop's to report.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelHandler{log.Handler(), slog.LevelWarn})
}

type levelHandler struct {
	slog.Handler
	min slog.Level
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(a), h.min}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(name), h.min}
}
