package main

import (
	"encoding/json"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// catalogue measures the bare handler, the baseline of every read, and the catalogue's reads:
// the JSON listing, the storefront page, product pages and search. It returns the baseline and
// the listed products' ids.
func catalogue(ld load, s *server, c []*loadConn, rep *Report) (bare Result, ids []string) {
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	body := get(s.base + "/api/v1/stores/demo/products?limit=24")
	_ = json.Unmarshal(body, &list)
	for _, it := range list.Items {
		ids = append(ids, it.ID)
	}
	// The baseline: a bare handler serving the same list, pre-encoded.
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(bl) }()
	defer func() { _ = srv.Close() }()
	bareConns := loadConns(bl.Addr().String(), ld.clients)
	defer func() {
		for _, bc := range bareConns {
			bc.close()
		}
	}()
	bare = ld.measure("bare handler (baseline)", func(i int) error { return bareConns[i].do("GET", "/", "", "", 200) })
	rep.Results = append(rep.Results, bare)
	rep.add(ld.measure("catalogue JSON (24 products)", func(i int) error {
		return c[i].do("GET", "/api/v1/stores/demo/products?limit=24", "", "", 200)
	}), bare)
	rep.add(ld.measure("catalogue HTML page", func(i int) error { return c[i].do("GET", "/s/demo/", "", "", 200) }), bare)
	var n atomic.Int64
	rep.add(ld.measure("product page", func(i int) error {
		return c[i].do("GET", "/s/demo/products/"+ids[int(n.Add(1))%len(ids)], "", "", 200)
	}), bare)
	rep.add(ld.measure("search", func(i int) error {
		return c[i].do("GET", "/api/v1/stores/demo/products?q=tea&limit=24", "", "", 200)
	}), bare)
	return bare, ids
}
