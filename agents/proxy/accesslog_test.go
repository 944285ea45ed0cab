package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// A response too large for the event loop to buffer is finished on the
// goroutine path; its access line still counts every byte, as nginx's
// $body_bytes_sent does, next to a small one answered inside the loop.
func TestAccessLogCountsHandedOffBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			_, _ = w.Write(big)
			return
		}
		_, _ = io.WriteString(w, "small")
	}))
	t.Cleanup(be.Close)
	cfg := backendsConfig(be)
	cfg.AccessLog = t.TempDir() + "/access.log"
	_, url := startProxy(t, cfg)
	c := newClient()
	for _, path := range []string{"/small", "/big"} {
		resp, err := c.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || (path == "/big" && n != int64(len(big))) {
			t.Fatalf("GET %s: got %d with %d bytes", path, resp.StatusCode, n)
		}
	}
	want := regexp.MustCompile(`"GET /small HTTP/1\.1" 200 5 (?s:.*)"GET /big HTTP/1\.1" 200 ` + strconv.Itoa(len(big)) + ` `)
	var logged []byte
	for deadline := time.Now().Add(10 * time.Second); !want.Match(logged); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("access log %q; want both lines with their sizes (%s)", logged, want)
		}
		logged, _ = os.ReadFile(cfg.AccessLog)
	}
}
