package kv

import (
	"context"
	"sync"
	"time"
)

// MemoryLimits keeps rate-limit windows, one-time codes and blocks in this process.
type MemoryLimits struct {
	mu        sync.Mutex
	hits      map[string][]time.Time // sliding windows
	codes     map[string]Code
	blocks    map[string]time.Time
	lastSweep time.Time
}

// Code is a one-time code sent by mail: its hash, when it expires and how many tries are left.
type Code struct {
	Hash      string
	ExpiresAt time.Time
	TriesLeft int
}

// NewMemoryLimits returns empty in-process limits.
func NewMemoryLimits() *MemoryLimits {
	return &MemoryLimits{hits: map[string][]time.Time{}, codes: map[string]Code{}, blocks: map[string]time.Time{}}
}

// Allow records an attempt under key and reports whether it is within limit attempts per window
// (a sliding window). When it is not, it says how long until the next attempt would be allowed;
// refused attempts are not counted.
func (m *MemoryLimits) Allow(_ context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	hs := m.hits[key]
	cut := 0
	for cut < len(hs) && !hs[cut].After(now.Add(-window)) {
		cut++
	}
	hs = hs[cut:]
	if len(hs) >= limit {
		m.hits[key] = hs
		return false, hs[0].Add(window).Sub(now), nil
	}
	m.hits[key] = append(hs, now)
	return true, 0, nil
}

// Release takes back the attempt Allow recorded under key at at (one that turned out to succeed,
// so that only failures count against the limit).
func (m *MemoryLimits) Release(_ context.Context, key string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	hs := m.hits[key]
	for i, h := range hs {
		if h.Equal(at) {
			m.hits[key] = append(hs[:i:i], hs[i+1:]...)
			break
		}
	}
	return nil
}

// Forget drops the window of key: its attempts no longer count.
func (m *MemoryLimits) Forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.hits, key)
	return nil
}

// PutCode stores a one-time code under key, replacing an earlier one.
func (m *MemoryLimits) PutCode(_ context.Context, key string, c Code) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[key] = c
	return nil
}

// TakeCode checks a code hash against the one under key. A match spends the code; a miss spends a
// try, and the last try spends the code. Expired codes never match.
func (m *MemoryLimits) TakeCode(_ context.Context, key, hash string, now time.Time, equal func(a, b string) bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[key]
	if !ok || !now.Before(c.ExpiresAt) || c.TriesLeft <= 0 {
		delete(m.codes, key)
		return false, nil
	}
	if equal(c.Hash, hash) {
		delete(m.codes, key)
		return true, nil
	}
	c.TriesLeft--
	if c.TriesLeft <= 0 {
		delete(m.codes, key)
	} else {
		m.codes[key] = c
	}
	return false, nil
}

// Block marks key blocked until until, replacing an earlier block.
func (m *MemoryLimits) Block(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blocks[key] = until
	return nil
}

// Blocked reports whether key is blocked at now, and until when.
func (m *MemoryLimits) Blocked(_ context.Context, key string, now time.Time) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.blocks[key]
	if !ok || !until.After(now) {
		return time.Time{}, false, nil
	}
	return until, true, nil
}

// Unblock ends key's block, if any.
func (m *MemoryLimits) Unblock(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blocks, key)
	return nil
}

// sweep drops windows, blocks and codes that ended, once a minute.
func (m *MemoryLimits) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute {
		return
	}
	m.lastSweep = now
	for k, hs := range m.hits {
		if len(hs) == 0 || now.Sub(hs[len(hs)-1]) > time.Hour {
			delete(m.hits, k)
		}
	}
	for k, c := range m.codes {
		if now.After(c.ExpiresAt) {
			delete(m.codes, k)
		}
	}
	for k, until := range m.blocks {
		if now.After(until) {
			delete(m.blocks, k)
		}
	}
}
