package mail

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// gate is a Sender that holds every delivery until it is opened.
type gate struct {
	mu      sync.Mutex
	got     []string
	open    chan struct{}
	entered chan string // each delivery announces itself here before it waits, when set
	fail    bool
}

func (g *gate) Send(_ context.Context, m Message) error {
	if g.entered != nil {
		g.entered <- m.Subject
	}
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got = append(g.got, m.Subject)
	if g.fail {
		return errors.New("mail server down")
	}
	return nil
}

func (g *gate) sent() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.got...)
}

func TestQueue_AnswersAtOnceAndDeliversEverythingByClose(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	q := NewQueue(g, 4, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, s := range []string{"a", "b", "c"} {
			if err := q.Send(context.Background(), Message{Subject: s}); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Send waited for a delivery the queue had room for")
	}
	if n := len(g.sent()); n != 0 {
		t.Fatalf("%d delivered while the server was held", n)
	}
	close(g.open)
	q.Close()
	if got := g.sent(); len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("delivered %v, want a b c in order", got)
	}
	// After Close a message is delivered at once, and its error returned.
	g.fail = true
	if err := q.Send(context.Background(), Message{Subject: "late"}); err == nil {
		t.Fatal("a failed delivery after Close returned no error")
	}
}

func TestQueue_FullQueueDeliversInTheCaller(t *testing.T) {
	g := &gate{open: make(chan struct{}), entered: make(chan string, 3)}
	q := NewQueue(g, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_ = q.Send(context.Background(), Message{Subject: "first"})
	if s := <-g.entered; s != "first" { // the worker holds "first" at the gate
		t.Fatalf("worker took %q", s)
	}
	_ = q.Send(context.Background(), Message{Subject: "second"}) // fills the one slot
	third := make(chan struct{})
	go func() {
		_ = q.Send(context.Background(), Message{Subject: "third"})
		close(third)
	}()
	// The queue is full: the third Send delivers in its own goroutine rather than drop the message.
	if s := <-g.entered; s != "third" {
		t.Fatalf("delivery of %q began, want the caller's third", s)
	}
	select {
	case <-third:
		t.Fatal("the third Send returned before its delivery finished")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.open)
	<-third
	q.Close()
	if n := len(g.sent()); n != 3 {
		t.Fatalf("%d of 3 messages delivered", n)
	}
}
