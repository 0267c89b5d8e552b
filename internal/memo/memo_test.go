package memo

import (
	"strconv"
	"testing"
	"time"
)

func TestCache_ServesOnlyCurrentUnexpiredEntries(t *testing.T) {
	c := New[string](time.Second, 3)
	t0 := time.Unix(1_000_000, 0)
	c.Put("a", 7, t0, "A")
	if v, ok := c.Get("a", 7, t0.Add(999*time.Millisecond)); !ok || v != "A" {
		t.Fatalf("fresh entry: got %q, %v", v, ok)
	}
	if _, ok := c.Get("a", 8, t0); ok {
		t.Fatal("an entry of an older generation was served")
	}
	if _, ok := c.Get("a", 7, t0.Add(time.Second)); ok {
		t.Fatal("an expired entry was served to the first caller after its expiry")
	}
	if _, ok := c.Get("b", 7, t0); ok {
		t.Fatal("a missing key was served")
	}
}

func TestCache_StaysBounded(t *testing.T) {
	c := New[int](time.Minute, 10)
	now := time.Now()
	for i := range 1000 {
		c.Put(strconv.Itoa(i), 1, now, i)
		if len(c.m) > 10 {
			t.Fatalf("after %d puts the cache holds %d entries, more than its bound", i+1, len(c.m))
		}
	}
	if v, ok := c.Get("999", 1, now); !ok || v != 999 {
		t.Fatalf("the newest entry is gone: %v %v", v, ok)
	}
}

// TestCache_ExpiredEntryIsRefreshedByOneCaller: after expiry the first caller recomputes while the
// others get the old value — never one of an older generation, and not for ever.
func TestCache_ExpiredEntryIsRefreshedByOneCaller(t *testing.T) {
	c := New[string](time.Second, 3)
	t0 := time.Unix(1_000_000, 0)
	c.Put("a", 7, t0, "old")
	if _, ok := c.Get("a", 7, t0.Add(time.Second)); ok {
		t.Fatal("the first caller after expiry was not told to recompute")
	}
	for _, d := range []time.Duration{time.Second + time.Millisecond, 1999 * time.Millisecond} {
		if v, ok := c.Get("a", 7, t0.Add(d)); !ok || v != "old" {
			t.Fatalf("at +%v, while another caller recomputes: %q %v", d, v, ok)
		}
	}
	if _, ok := c.Get("a", 8, t0.Add(1500*time.Millisecond)); ok {
		t.Fatal("a stale entry was served after the generation moved")
	}
	if _, ok := c.Get("a", 7, t0.Add(2*time.Second)); ok {
		t.Fatal("the old value was served for more than two time-to-lives")
	}
	c.Put("a", 7, t0.Add(2100*time.Millisecond), "new")
	if v, ok := c.Get("a", 7, t0.Add(2200*time.Millisecond)); !ok || v != "new" {
		t.Fatalf("after the refresh: %q %v", v, ok)
	}
	if _, ok := c.Get("a", 7, t0.Add(3100*time.Millisecond)); ok {
		t.Fatal("the refreshed entry's expiry did not ask for a recompute")
	}
}
