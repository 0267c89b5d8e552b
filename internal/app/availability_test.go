package app_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"secureshop/internal/testenv"
)

// TestImport_AStalledUploadInOneStoreDelaysNoWriteInAnother: an admin of store A starts a CSV
// import and trickles it (the header and a row, then nothing); meanwhile a customer of store B
// changes their cart. On SQLite one writer serves every store: had the import's transaction opened
// before its body was read, B's write would wait for A's upload.
func TestImport_AStalledUploadInOneStoreDelaysNoWriteInAnother(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, url string) {
		s := startShop(t, url)
		s.store("upload-a")
		s.store("upload-b")
		p := s.newProduct("upload-b", "B-1", 100, 10)
		admin := s.login("upload-a", "admin@example.com").AccessToken
		buyer := s.login("upload-b", "customer@example.com").AccessToken

		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close() }()
		start := "sku,name,price,stock\nUP-1,Uploaded,1.00,3\n"
		fmt.Fprintf(conn, "POST /api/v1/stores/upload-a/products/import HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s", admin, len(start)+100_000, start)
		time.Sleep(300 * time.Millisecond) // the handler has the first bytes, and waits for the rest

		done := make(chan answer, 1)
		go func() { done <- s.call("PUT", "/api/v1/stores/upload-b/cart/items/"+p.ID, buyer, `{"quantity":2}`) }()
		select {
		case a := <-done:
			expectStatus(t, "a cart write in store B during A's stalled upload", a, http.StatusOK)
		case <-time.After(5 * time.Second):
			_ = conn.Close() // let the upload end, and the shop stop
			<-done
			t.Fatal("a cart write in store B waited for store A's stalled upload")
		}
	})
}
