package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

// signIn measures a sign-in (Argon2id, deliberately slow), then the catalogue read by a few
// clients while 200 others flood the sign-in with bad passwords: what the flood costs everyone
// else, and the server's memory meanwhile.
func signIn(ld, readers load, s *server, c []*loadConn, bare Result, rep *Report) {
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, s.creds[1][2], s.creds[1][3])
	rep.add(ld.measure("sign-in (Argon2id)", func(i int) error {
		return c[i].do("POST", "/api/v1/stores/demo/auth/login", "", body, 200)
	}), bare)

	stop := make(chan struct{})
	var peak atomic.Int64
	for range 200 {
		go func() {
			fc := &loadConn{host: c[0].host}
			defer fc.close()
			for {
				select {
				case <-stop:
					return
				default:
					_ = fc.do("POST", "/api/v1/stores/demo/auth/login", "", `{"email":"nobody@example.com","password":"not the password"}`, 401)
				}
			}
		}()
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if v := int64(rssMiB(s.cmd.Process.Pid, "VmRSS") * 1024); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	time.Sleep(time.Second)
	flood := readers.measure("catalogue JSON during a sign-in flood", func(i int) error {
		return c[i].do("GET", "/api/v1/stores/demo/products?limit=24", "", "", 200)
	})
	close(stop)
	rep.FloodP99ms, rep.FloodRSSMiB = flood.P99ms, float64(peak.Load())/1024
	rep.Results = append(rep.Results, flood)
}
