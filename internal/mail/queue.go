package mail

import (
	"context"
	"log/slog"
	"sync"

	"secureshop/internal/shop"
)

// Sender sends one message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Queue sends messages in the background, so that a slow mail server (or a large mail directory)
// does not hold up the answer that caused the mail — an order confirmation waits for no one. It is
// bounded: when the queue is full, Send delivers in the caller's goroutine instead, so a backlog
// slows the shop down rather than growing without end or losing mail. Close delivers what is
// queued before it returns.
type Queue struct {
	next Sender
	log  *slog.Logger
	ch   chan Message
	wg   sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

// NewQueue starts a queue of size messages in front of next, with one sending goroutine.
func NewQueue(next Sender, size int, log *slog.Logger) *Queue {
	q := &Queue{next: next, log: log, ch: make(chan Message, size)}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		for m := range q.ch {
			q.deliver(m)
		}
	}()
	return q
}

func (q *Queue) deliver(m Message) {
	if err := q.next.Send(context.Background(), m); err != nil {
		q.log.Error("mail delivery failed", "subject", m.Subject, "err", err)
	}
}

// Send queues m; its delivery errors are logged, not returned. After Close, or when the queue is
// full, it delivers m at once and returns the error. A message sent from inside a database write
// transaction is refused: should the transaction roll back, the mail would tell of what never was.
func (q *Queue) Send(ctx context.Context, m Message) error {
	if err := shop.OutsideWriteTransaction(ctx); err != nil {
		return err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if !q.closed {
		select {
		case q.ch <- m:
			return nil
		default:
		}
	}
	return q.next.Send(ctx, m)
}

// Close stops taking messages into the queue and waits until every queued one is delivered.
func (q *Queue) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	q.wg.Wait()
}
