package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// namedBackend starts an httptest backend answering its name on every path
// (and 200 on /health), and recording the last request's headers.
func namedBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", name)
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

// startProxy runs a proxy for cfg (Listen filled in) on 127.0.0.1:0 and
// returns it with its base URL; it stops at the end of the test.
func startProxy(t testing.TB, cfg Config) (*Proxy, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	if cfg.AdminListen == "" {
		cfg.AdminListen = "off"
	}
	p, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		ln.Close()
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return p, "http://" + ln.Addr().String()
}

// backendsConfig is a Config with the given httptest servers as backends.
func backendsConfig(servers ...*httptest.Server) Config {
	var cfg Config
	for _, s := range servers {
		cfg.Backends = append(cfg.Backends, Backend{URL: s.URL, Weight: 1})
	}
	return cfg
}

// noRedirectClient is a client with its own keep-alive pool and no cookie jar.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
}

// get sends GET url with an optional route cookie and returns status, body
// and the Set-Cookie header.
func get(t *testing.T, c *http.Client, url, cookie string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Set-Cookie")
}

// cookieValue extracts NAME's value from a Set-Cookie header.
func cookieValue(setCookie, name string) string {
	v, ok := strings.CutPrefix(setCookie, name+"=")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, ";")
	return v
}
