package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"

	"secureshop/internal/mail"
	"secureshop/internal/orders"
	"secureshop/internal/shop"
)

// An error returned by a worker has River try the job again later (with backoff), up to its
// attempts; a panic is an error too.

type orderMailWorker struct {
	river.WorkerDefaults[orders.MailJob]
	q *Queue
}

func (w *orderMailWorker) Work(ctx context.Context, j *river.Job[orders.MailJob]) error {
	return w.q.work.Orders.SendMail(ctx, j.Args)
}

type eventWorker struct {
	river.WorkerDefaults[orders.EventJob]
	q *Queue
}

func (w *eventWorker) Work(ctx context.Context, j *river.Job[orders.EventJob]) error {
	return w.q.work.Orders.ApplyEvent(ctx, j.Args.Event)
}

type expiryWorker struct {
	river.WorkerDefaults[orders.ExpiryJob]
	q *Queue
}

func (w *expiryWorker) Work(ctx context.Context, _ *river.Job[orders.ExpiryJob]) error {
	n, err := w.q.work.Orders.ExpireReservations(ctx)
	if n > 0 {
		w.q.log.InfoContext(ctx, "reservations ended", "orders", n)
	}
	return err
}

type reconcileWorker struct {
	river.WorkerDefaults[orders.ReconcileJob]
	q *Queue
}

func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[orders.ReconcileJob]) error {
	r, err := w.q.work.Orders.Reconcile(ctx, w.q.cfg.Window)
	if r.Repairs > 0 {
		w.q.log.InfoContext(ctx, "payments reconciled", "orders", r.Orders, "repairs", r.Repairs)
	}
	return err
}

// MailJob delivers one mail. The message (a sign-in code, a reset link) is sealed by the vault:
// the job's row holds no secret in the clear.
type MailJob struct {
	Sealed string `json:"sealed"`
}

// Kind names the job's worker.
func (MailJob) Kind() string { return "mail" }

const mailContext = "mail job"

type mailWorker struct {
	river.WorkerDefaults[MailJob]
	q *Queue
}

func (w *mailWorker) Work(ctx context.Context, j *river.Job[MailJob]) error {
	plain, err := w.q.cfg.Vault.Open(j.Args.Sealed, mailContext)
	if err != nil {
		return river.JobCancel(fmt.Errorf("mail job not opened: %w", err)) // no key will ever open it
	}
	var m mail.Message
	if err := json.Unmarshal([]byte(plain), &m); err != nil {
		return river.JobCancel(err)
	}
	return w.q.work.Mailer.Send(ctx, m)
}

// Mailer sends mail through the queue: Send writes the message as a job and returns; a worker
// delivers it, trying again while the mail server refuses.
type Mailer struct{ q *Queue }

// Mailer is the mail.Sender that goes through the queue, each message sealed by the vault.
func (q *Queue) Mailer() Mailer { return Mailer{q: q} }

// Send queues m. Refused inside a write transaction: should it roll back, the mail would tell of
// what never was.
func (m Mailer) Send(ctx context.Context, msg mail.Message) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return m.q.Insert(ctx, MailJob{Sealed: m.q.cfg.Vault.Seal(string(b), mailContext)})
}
