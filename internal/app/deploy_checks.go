package app

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"
)

// What check --deploy takes for fit for production.
const (
	minTokenLength       = 32        // characters of a bearer token such as the metrics token
	minKeyDistinctBytes  = 20        // of the first 32 bytes of a secret key (random keys have about 30)
	minSQLiteRoom        = 512 << 20 // free bytes on the SQLite database's disk
	maxAttemptsPerMin    = 20        // sign-in attempts per account a minute
	maxAttemptsPerIPMin  = 200       // per address (failures: see identity.attempt)
	maxAPIRequestsPerMin = 60_000    // API requests per address a minute: 1 000 a second
	maxSessionsPerUser   = 100
)

// broadProxies lists the trusted proxies that take in more than the shop's own proxies could be: the
// whole address space, or public ranges wider than a /24 (IPv4) or /64 (IPv6). Private, loopback
// and link-local ranges of any size are a deployment's own network.
func broadProxies(list []string) []string {
	prefixes, err := parsePrefixes(list)
	if err != nil {
		return list // refused at start anyway
	}
	own := func(a netip.Addr) bool { return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() }
	var out []string
	for _, p := range prefixes {
		first := p.Masked().Addr()
		width := 24
		if first.Is6() {
			width = 64
		}
		if p.Bits() == 0 || (!(own(first) && own(lastAddr(p))) && p.Bits() < width) {
			out = append(out, p.String())
		}
	}
	return out
}

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// localHost reports whether host names this machine.
func localHost(host string) bool {
	if host == "localhost" || host == "" || strings.HasPrefix(host, "/") {
		return true // no host, or a Unix socket
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// privateAddress reports whether a listen address is reachable from this machine and its private
// network only: loopback or a private address, not every interface.
func privateAddress(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false // ":9090": every interface
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && (a.IsLoopback() || a.IsPrivate())
}

// postgresWithoutTLS says why a PostgreSQL URL to a remote server does not insist on TLS ("" when it
// does, or the server is this machine). libpq's and pgx's default, sslmode=prefer, falls back to
// plain text, and accepts any certificate.
func postgresWithoutTLS(raw string) string {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "whose URL cannot be read"
	}
	host := u.Hostname()
	if h := u.Query().Get("host"); h != "" {
		host = h
	}
	if localHost(host) {
		return ""
	}
	switch mode := u.Query().Get("sslmode"); mode {
	case "require", "verify-ca", "verify-full":
		return ""
	case "":
		return "without sslmode (the default, prefer, falls back to plain text)"
	default:
		return "with sslmode=" + mode
	}
}

// redisFindings lists what is unsafe in a Redis URL to a remote server: no TLS (redis:// rather
// than rediss://) and no password.
func redisFindings(raw string) []Finding {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil // refused at start
	}
	host, _, _ := net.SplitHostPort(opt.Addr)
	if localHost(host) {
		return nil
	}
	var out []Finding
	if opt.TLSConfig == nil {
		out = append(out, Finding{"redis-no-tls", fmt.Sprintf("--redis connects to %s without TLS (redis://): sessions and sign-in codes would cross the network in clear; use rediss://", opt.Addr)})
	}
	if opt.Password == "" {
		out = append(out, Finding{"redis-no-password", fmt.Sprintf("--redis connects to %s without a password: whoever reaches it can read and forge sessions", opt.Addr)})
	}
	return out
}

// keyFindings checks the secret keys themselves: a key of few distinct bytes (all zeros, a
// repeated pattern, a phrase) is not the random key the ring needs.
func keyFindings(cfg Config) []Finding {
	keys, err := loadKeysNoCreate(cfg)
	if err != nil || keys == nil {
		return nil // a missing key file is its own finding; a malformed one stops the shop at start
	}
	var out []Finding
	for i, k := range keys {
		seen := map[byte]bool{}
		for _, b := range k[:min(len(k), 32)] {
			seen[b] = true
		}
		if len(seen) < minKeyDistinctBytes {
			out = append(out, Finding{"weak-secret-key", fmt.Sprintf("secret key %d of the ring has %d distinct bytes in its first 32: it is not random; make one with `openssl rand -hex 32` (then `secureshop keys reseal`)", i+1, len(seen))})
		}
	}
	return out
}

// limitFindings lists attempt and request limits raised past what any shop needs, where they no
// longer slow guessing down.
func limitFindings(cfg Config) []Finding {
	var out []Finding
	check := func(flag string, v, max int) {
		if v > max {
			out = append(out, Finding{"limit-too-high", fmt.Sprintf("%s is %d: above %d it no longer slows guessing or floods down", flag, v, max)})
		}
	}
	check("--attempts-per-minute", cfg.Identity.AttemptsPerMinute, maxAttemptsPerMin)
	check("--attempts-per-ip-minute", cfg.Identity.AttemptsPerIPMinute, maxAttemptsPerIPMin)
	check("--api-requests-per-minute", cfg.APIRequestsPerMinute, maxAPIRequestsPerMin)
	check("--max-sessions", cfg.Identity.MaxSessions, maxSessionsPerUser)
	return out
}

// sqliteRoom is the free room on the disk of a SQLite database.
func sqliteRoom(database string) (uint64, bool) {
	path, ok := strings.CutPrefix(database, "sqlite:")
	if !ok {
		return 0, false
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(strings.TrimPrefix(path, "//")), &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true // #nosec G115 -- a block size is positive
}
