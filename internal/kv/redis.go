package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"secureshop/internal/shop"
)

// Redis keeps sessions, rate-limit windows and mailed codes in Redis, so that any number of shop
// instances share them. Multi-key changes run as Lua scripts, atomic on the server.
//
// Keys (under the prefix): s:{id} a session hash; t:{hash} cookie token → id; r:{hash} current
// refresh token → id; x:{hash} spent refresh token → id; u:{user} set of session ids;
// w:{key} a rate-limit window (sorted set); c:{key} a mailed code (hash); b:{key} a block's end
// (Unix nanoseconds); v:{hash} a visitor's cart (JSON, expiring after VisitorIdle).
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns the Redis store; prefix separates shops (or tests) sharing one server.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix}
}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error { return r.rdb.Ping(ctx).Err() }

func (r *Redis) k(kind, id string) string { return r.prefix + kind + ":" + id }

// sessionData is the part of a session that never changes after it is made.
type sessionData struct {
	ID        string       `json:"id"`
	UserID    shop.UserID  `json:"user"`
	StoreID   shop.StoreID `json:"store"`
	Role      shop.Role    `json:"role"`
	Email     string       `json:"email"`
	Kind      string       `json:"kind"`
	IP        string       `json:"ip"`
	UserAgent string       `json:"ua"`
	CSRFToken string       `json:"csrf"`
	TokenHash string       `json:"tok"`
	CreatedAt time.Time    `json:"created"`
	ExpiresAt time.Time    `json:"expires"`
	Pending   string       `json:"pending,omitempty"`
}

// Create stores a new session, expiring at its absolute end.
func (r *Redis) Create(ctx context.Context, s shop.Session) error {
	data, err := json.Marshal(sessionData{s.ID, s.UserID, s.StoreID, s.Role, s.Email, s.Kind, s.IP, s.UserAgent, s.CSRFToken,
		s.TokenHash, s.CreatedAt, s.ExpiresAt, s.Pending})
	if err != nil {
		return err
	}
	ttl := time.Until(s.ExpiresAt)
	if ttl < time.Second {
		ttl = time.Second
	}
	enroll := "0"
	if s.MFAEnroll {
		enroll = "1"
	}
	_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		key := r.k("s", s.ID)
		p.HSet(ctx, key, "data", data, "seen", s.LastSeen.UnixNano(), "refresh", s.RefreshHash, "enroll", enroll, "user", string(s.UserID), "tok", s.TokenHash)
		p.Expire(ctx, key, ttl)
		if s.TokenHash != "" {
			p.Set(ctx, r.k("t", s.TokenHash), s.ID, ttl)
		}
		if s.RefreshHash != "" {
			p.Set(ctx, r.k("r", s.RefreshHash), s.ID, ttl)
		}
		if s.UserID != "" {
			p.SAdd(ctx, r.k("u", string(s.UserID)), s.ID)
			p.Expire(ctx, r.k("u", string(s.UserID)), 13*time.Hour)
		}
		return nil
	})
	return err
}

func (r *Redis) load(ctx context.Context, id string) (shop.Session, error) {
	vals, err := r.rdb.HGetAll(ctx, r.k("s", id)).Result()
	if err != nil {
		return shop.Session{}, err
	}
	if len(vals) == 0 {
		return shop.Session{}, ErrNotFound
	}
	var d sessionData
	if err := json.Unmarshal([]byte(vals["data"]), &d); err != nil {
		return shop.Session{}, fmt.Errorf("kv: corrupt session: %w", err)
	}
	seen, _ := strconv.ParseInt(vals["seen"], 10, 64)
	s := shop.Session{ID: d.ID, UserID: d.UserID, StoreID: d.StoreID, Role: d.Role, Email: d.Email, Kind: d.Kind, IP: d.IP,
		UserAgent: d.UserAgent, CSRFToken: d.CSRFToken, TokenHash: d.TokenHash, RefreshHash: vals["refresh"], CreatedAt: d.CreatedAt,
		LastSeen: time.Unix(0, seen).UTC(), ExpiresAt: d.ExpiresAt, MFAEnroll: vals["enroll"] == "1", Pending: d.Pending}
	return s, nil
}

// Get returns the session with id.
func (r *Redis) Get(ctx context.Context, id string) (shop.Session, error) { return r.load(ctx, id) }

// ByToken returns the session whose cookie token hashes to tokenHash.
func (r *Redis) ByToken(ctx context.Context, tokenHash string) (shop.Session, error) {
	id, err := r.rdb.Get(ctx, r.k("t", tokenHash)).Result()
	if errors.Is(err, redis.Nil) {
		return shop.Session{}, ErrNotFound
	}
	if err != nil {
		return shop.Session{}, err
	}
	return r.load(ctx, id)
}

var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  local seen = tonumber(redis.call('HGET', KEYS[1], 'seen') or '0')
  if tonumber(ARGV[1]) > seen then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
  return 1
end
return 0`)

// Touch records activity on a session.
func (r *Redis) Touch(ctx context.Context, id string, at time.Time) error {
	n, err := touchScript.Run(ctx, r.rdb, []string{r.k("s", id)}, at.UnixNano()).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// deleteLua removes a session and its indexes; KEYS[1] the session; ARGV[1] the prefix, ARGV[2] its id.
const deleteLua = `
local function drop(skey, prefix, id)
  local f = redis.call('HMGET', skey, 'tok', 'refresh', 'user')
  if f[1] and f[1] ~= '' then redis.call('DEL', prefix .. 't:' .. f[1]) end
  if f[2] and f[2] ~= '' then redis.call('DEL', prefix .. 'r:' .. f[2]) end
  if f[3] and f[3] ~= '' then redis.call('SREM', prefix .. 'u:' .. f[3], id) end
  redis.call('DEL', skey)
end
`

var deleteScript = redis.NewScript(deleteLua + `drop(KEYS[1], ARGV[1], ARGV[2]) return 1`)

// Delete ends one session.
func (r *Redis) Delete(ctx context.Context, id string) error {
	return deleteScript.Run(ctx, r.rdb, []string{r.k("s", id)}, r.prefix, id).Err()
}

var rotateScript = redis.NewScript(deleteLua + `
local prefix = ARGV[1]
local spent = redis.call('GET', prefix .. 'x:' .. ARGV[2])
if spent then
  drop(prefix .. 's:' .. spent, prefix, spent)
  return {'reuse', spent}
end
local id = redis.call('GET', prefix .. 'r:' .. ARGV[2])
if not id then return {'none', ''} end
local skey = prefix .. 's:' .. id
local ttl = redis.call('PTTL', skey)
if ttl <= 0 then return {'none', ''} end
redis.call('DEL', prefix .. 'r:' .. ARGV[2])
redis.call('SET', prefix .. 'x:' .. ARGV[2], id, 'PX', ttl)
redis.call('SET', prefix .. 'r:' .. ARGV[3], id, 'PX', ttl)
redis.call('HSET', skey, 'refresh', ARGV[3])
return {'ok', id}`)

// RotateRefresh replaces the refresh token oldHash with newHash and returns its session as it
// was; a spent token ends the whole session (ErrRefreshReuse).
func (r *Redis) RotateRefresh(ctx context.Context, oldHash, newHash string) (shop.Session, error) {
	before := shop.Session{}
	if id, err := r.rdb.Get(ctx, r.k("x", oldHash)).Result(); err == nil {
		before, _ = r.load(ctx, id)
	}
	res, err := rotateScript.Run(ctx, r.rdb, nil, r.prefix, oldHash, newHash).StringSlice()
	if err != nil {
		return shop.Session{}, err
	}
	switch res[0] {
	case "reuse":
		return before, ErrRefreshReuse
	case "none":
		return shop.Session{}, ErrNotFound
	}
	s, err := r.load(ctx, res[1])
	if err != nil {
		return shop.Session{}, err
	}
	s.RefreshHash = newHash
	return s, nil
}

// DeleteUser ends every session of a user.
func (r *Redis) DeleteUser(ctx context.Context, user shop.UserID) (int, error) {
	ids, err := r.rdb.SMembers(ctx, r.k("u", string(user))).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		exists, err := r.rdb.Exists(ctx, r.k("s", id)).Result()
		if err != nil {
			return n, err
		}
		if err := r.Delete(ctx, id); err != nil {
			return n, err
		}
		n += int(exists)
	}
	return n, nil
}

// ListUser returns a user's sessions, newest first.
func (r *Redis) ListUser(ctx context.Context, user shop.UserID) ([]shop.Session, error) {
	ids, err := r.rdb.SMembers(ctx, r.k("u", string(user))).Result()
	if err != nil {
		return nil, err
	}
	var out []shop.Session
	for _, id := range ids {
		s, err := r.load(ctx, id)
		if errors.Is(err, ErrNotFound) {
			_ = r.rdb.SRem(ctx, r.k("u", string(user)), id).Err()
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sortNewestFirst(out)
	return out, nil
}

var setFieldScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0`)

// ClearMFAEnroll lifts the enrolment-only state from every session of a user.
func (r *Redis) ClearMFAEnroll(ctx context.Context, user shop.UserID) error {
	ids, err := r.rdb.SMembers(ctx, r.k("u", string(user))).Result()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := setFieldScript.Run(ctx, r.rdb, []string{r.k("s", id)}, "enroll", "0").Err(); err != nil {
			return err
		}
	}
	return nil
}

var allowScript = redis.NewScript(`
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000000))
return -1`)

// Allow records an attempt under key within a sliding window of limit attempts; refused attempts
// are not counted.
func (r *Redis) Allow(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	member := strconv.FormatInt(now.UnixNano(), 10) + ":" + shop.NewID()
	wait, err := allowScript.Run(ctx, r.rdb, []string{r.k("w", key)}, now.UnixNano(), window.Nanoseconds(), limit, member).Int64()
	if err != nil {
		return false, 0, err
	}
	if wait < 0 {
		return true, 0, nil
	}
	return false, time.Duration(wait), nil
}

// Release takes back the attempt Allow recorded under key at at (its score is its time).
func (r *Redis) Release(ctx context.Context, key string, at time.Time) error {
	n := strconv.FormatInt(at.UnixNano(), 10)
	return r.rdb.ZRemRangeByScore(ctx, r.k("w", key), n, n).Err()
}

// Forget drops the window of key.
func (r *Redis) Forget(ctx context.Context, key string) error {
	return r.rdb.Del(ctx, r.k("w", key)).Err()
}

// Block marks key blocked until until, replacing an earlier block. The key expires a minute after
// the block ends (Redis's clock and ours need not agree to the second; Blocked compares until with
// the caller's now).
func (r *Redis) Block(ctx context.Context, key string, until time.Time) error {
	ttl := time.Until(until)
	if ttl <= 0 {
		return r.rdb.Del(ctx, r.k("b", key)).Err()
	}
	return r.rdb.Set(ctx, r.k("b", key), until.UnixNano(), ttl+time.Minute).Err()
}

// Blocked reports whether key is blocked at now, and until when.
func (r *Redis) Blocked(ctx context.Context, key string, now time.Time) (time.Time, bool, error) {
	n, err := r.rdb.Get(ctx, r.k("b", key)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	until := time.Unix(0, n)
	if !until.After(now) {
		return time.Time{}, false, nil
	}
	return until, true, nil
}

// Unblock ends key's block, if any.
func (r *Redis) Unblock(ctx context.Context, key string) error {
	return r.rdb.Del(ctx, r.k("b", key)).Err()
}

// PutCode stores a one-time code under key, replacing an earlier one.
func (r *Redis) PutCode(ctx context.Context, key string, c Code) error {
	ttl := time.Until(c.ExpiresAt)
	if ttl <= 0 {
		return nil
	}
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.k("c", key))
		p.HSet(ctx, r.k("c", key), "hash", c.Hash, "tries", c.TriesLeft, "expires", c.ExpiresAt.UnixNano())
		p.PExpire(ctx, r.k("c", key), ttl)
		return nil
	})
	return err
}

var takeScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'hash', 'tries', 'expires')
if not f[1] then return 0 end
if tonumber(f[3]) <= tonumber(ARGV[2]) or tonumber(f[2]) <= 0 then redis.call('DEL', KEYS[1]) return 0 end
if f[1] == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
if redis.call('HINCRBY', KEYS[1], 'tries', -1) <= 0 then redis.call('DEL', KEYS[1]) end
return 0`)

// TakeCode checks a code hash against the one under key: a match spends it, a miss spends a try.
// (The comparison runs inside Redis; equal is used by the in-process store only.)
func (r *Redis) TakeCode(ctx context.Context, key, hash string, now time.Time, _ func(a, b string) bool) (bool, error) {
	n, err := takeScript.Run(ctx, r.rdb, []string{r.k("c", key)}, hash, now.UnixNano()).Int()
	return n == 1, err
}
