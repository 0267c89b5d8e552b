// Package kv holds the shop's short-lived shared state — sessions now, rate limits, one-time codes
// and idempotency keys later — in process memory. A Redis implementation with the same methods
// serves shops that run as several instances.
package kv

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"secureshop/internal/shop"
)

// Errors of the session store.
var (
	ErrNotFound     = errors.New("kv: not found")
	ErrRefreshReuse = errors.New("kv: refresh token reused")
)

// MemorySessions keeps sessions in this process. It is safe for concurrent use.
type MemorySessions struct {
	mu        sync.Mutex
	byID      map[string]*shop.Session
	byToken   map[string]string   // cookie token hash → session id
	byRefresh map[string]string   // current refresh hash → session id
	spent     map[string]string   // rotated-out refresh hash → session id
	spentOf   map[string][]string // session id → its rotated-out refresh hashes
	byUser    map[shop.UserID]map[string]bool
	lastSweep time.Time
}

// NewMemorySessions returns an empty in-process session store.
func NewMemorySessions() *MemorySessions {
	return &MemorySessions{
		byID: map[string]*shop.Session{}, byToken: map[string]string{}, byRefresh: map[string]string{},
		spent: map[string]string{}, spentOf: map[string][]string{}, byUser: map[shop.UserID]map[string]bool{},
	}
}

// Create stores a new session. Expired sessions are swept now and then as new ones arrive.
func (m *MemorySessions) Create(_ context.Context, s shop.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.CreatedAt.Sub(m.lastSweep) > time.Minute {
		m.sweep(s.CreatedAt)
		m.lastSweep = s.CreatedAt
	}
	c := s
	m.byID[s.ID] = &c
	if s.TokenHash != "" {
		m.byToken[s.TokenHash] = s.ID
	}
	if s.RefreshHash != "" {
		m.byRefresh[s.RefreshHash] = s.ID
	}
	if s.UserID == "" {
		return nil
	}
	if m.byUser[s.UserID] == nil {
		m.byUser[s.UserID] = map[string]bool{}
	}
	m.byUser[s.UserID][s.ID] = true
	return nil
}

// ClearMFAEnroll lifts the enrolment-only state from every session of a user.
func (m *MemorySessions) ClearMFAEnroll(_ context.Context, user shop.UserID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.byUser[user] {
		m.byID[id].MFAEnroll = false
	}
	return nil
}

// Get returns the session with id.
func (m *MemorySessions) Get(_ context.Context, id string) (shop.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok {
		return shop.Session{}, ErrNotFound
	}
	return *s, nil
}

// ByToken returns the browser session whose cookie token hashes to tokenHash.
func (m *MemorySessions) ByToken(_ context.Context, tokenHash string) (shop.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[m.byToken[tokenHash]]
	if !ok {
		return shop.Session{}, ErrNotFound
	}
	return *s, nil
}

// Touch records activity on a session.
func (m *MemorySessions) Touch(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok {
		return ErrNotFound
	}
	if at.After(s.LastSeen) {
		s.LastSeen = at
	}
	return nil
}

// RotateRefresh replaces the refresh token oldHash with newHash and returns its session as it was
// (the caller judges its idle time, then touches it). A refresh
// token that was already rotated out means it was copied: the whole session is deleted and
// returned with ErrRefreshReuse.
func (m *MemorySessions) RotateRefresh(_ context.Context, oldHash, newHash string) (shop.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.spent[oldHash]; ok {
		gone := *m.byID[id]
		m.delete(id)
		return gone, ErrRefreshReuse
	}
	id, ok := m.byRefresh[oldHash]
	if !ok {
		return shop.Session{}, ErrNotFound
	}
	s := m.byID[id]
	delete(m.byRefresh, oldHash)
	m.spent[oldHash] = id
	m.spentOf[id] = append(m.spentOf[id], oldHash)
	m.byRefresh[newHash] = id
	s.RefreshHash = newHash
	return *s, nil
}

// Delete ends one session. Deleting a session that does not exist is not an error.
func (m *MemorySessions) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delete(id)
	return nil
}

// DeleteUser ends every session of a user and returns how many there were.
func (m *MemorySessions) DeleteUser(_ context.Context, user shop.UserID) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id := range m.byUser[user] {
		m.delete(id)
		n++
	}
	return n, nil
}

// ListUser returns a user's sessions, newest first.
func (m *MemorySessions) ListUser(_ context.Context, user shop.UserID) ([]shop.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]shop.Session, 0, len(m.byUser[user]))
	for id := range m.byUser[user] {
		out = append(out, *m.byID[id])
	}
	sortNewestFirst(out)
	return out, nil
}

func (m *MemorySessions) delete(id string) {
	s, ok := m.byID[id]
	if !ok {
		return
	}
	delete(m.byID, id)
	delete(m.byToken, s.TokenHash)
	delete(m.byRefresh, s.RefreshHash)
	for _, h := range m.spentOf[id] {
		delete(m.spent, h)
	}
	delete(m.spentOf, id)
	delete(m.byUser[s.UserID], id)
	if len(m.byUser[s.UserID]) == 0 {
		delete(m.byUser, s.UserID)
	}
}

// sweep drops sessions past their absolute end. Idle expiry is judged by the reader, which knows
// the idle limit; an idle session is gone by its absolute end at the latest.
func (m *MemorySessions) sweep(now time.Time) {
	for id, s := range m.byID {
		if now.After(s.ExpiresAt) {
			m.delete(id)
		}
	}
}

func sortNewestFirst(s []shop.Session) {
	sort.Slice(s, func(i, j int) bool { return s[i].CreatedAt.After(s[j].CreatedAt) })
}
