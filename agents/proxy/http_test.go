package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestForwardedAndHopByHop checks what the backend sees: X-Forwarded-*,
// no hop-by-hop headers, end-to-end headers intact; and what the client
// sees: no hop-by-hop headers from the backend.
func TestForwardedAndHopByHop(t *testing.T) {
	var got http.Header
	var host string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, host = r.Header.Clone(), r.Host
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-App", "1")
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	req, _ := http.NewRequest("GET", url+"/p?q=1", nil)
	req.Host = "shop.example"
	req.Header.Set("X-Forwarded-For", "10.0.0.9")
	req.Header.Set("Connection", "keep-alive, X-Secret")
	req.Header.Set("X-Secret", "hop")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Connection", "keep-alive")
	req.Header.Set("X-Custom", "kept")
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	checks := []struct{ name, got, want string }{
		{"Host", host, "shop.example"},
		{"X-Forwarded-For", got.Get("X-Forwarded-For"), "10.0.0.9, 127.0.0.1"},
		{"X-Forwarded-Proto", got.Get("X-Forwarded-Proto"), "http"},
		{"X-Forwarded-Host", got.Get("X-Forwarded-Host"), "shop.example"},
		{"X-Secret (listed in Connection)", got.Get("X-Secret"), ""},
		{"Keep-Alive", got.Get("Keep-Alive"), ""},
		{"Proxy-Connection", got.Get("Proxy-Connection"), ""},
		{"X-Custom", got.Get("X-Custom"), "kept"},
		{"response Keep-Alive", resp.Header.Get("Keep-Alive"), ""},
		{"response X-App", resp.Header.Get("X-App"), "1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q; want %q", c.name, c.got, c.want)
		}
	}
}

// TestChunkedTrailersAndContinue sends a chunked body with a trailer and
// Expect: 100-continue, and gets a chunked response with a trailer back.
func TestChunkedTrailersAndContinue(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Sum")
		w.WriteHeader(200)
		fmt.Fprintf(w, "got %d bytes te=%v trailer=%s", len(body), r.TransferEncoding, r.Trailer.Get("X-Req-Sum"))
		w.(http.Flusher).Flush()
		w.Header().Set("X-Sum", "abc")
	}))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(bytes.Repeat([]byte("x"), 1000))
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", url, pr)
	req.Header.Set("Expect", "100-continue")
	req.Trailer = http.Header{"X-Req-Sum": nil}
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	req.Trailer.Set("X-Req-Sum", "r1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "got 1000 bytes te=[chunked] trailer=r1"; string(body) != want {
		t.Errorf("body: got %q; want %q", body, want)
	}
	if got := resp.Trailer.Get("X-Sum"); got != "abc" {
		t.Errorf("response trailer X-Sum: got %q; want abc", got)
	}
}

// heapWatch samples the heap while a transfer runs and returns the peak.
func heapWatch(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// zeros is an endless source that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestStreamingLargeBodies moves 256 MiB up and 256 MiB down through the
// proxy (the test's own clients and servers allocate nothing per byte) and
// checks the process heap stays far below the body size.
func TestStreamingLargeBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 512 MiB; skipped with -short")
	}
	const size = 256 << 20
	const budget = 64 << 20
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil)[:4])
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, _ = io.CopyN(w, zeros{}, size)
	}))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	c := newClient()
	runtime.GC()
	t.Run("upload", func(t *testing.T) {
		stop := make(chan struct{})
		peak := heapWatch(stop)
		want := sha256.New()
		_, _ = io.CopyN(want, zeros{}, size)
		req, _ := http.NewRequest("POST", url, io.LimitReader(zeros{}, size))
		req.ContentLength = size
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		close(stop)
		if w := fmt.Sprintf("%d %x", size, want.Sum(nil)[:4]); string(body) != w {
			t.Errorf("backend got %q; want %q", body, w)
		}
		if p := <-peak; p > budget {
			t.Errorf("heap in use peaked at %d MiB; want under %d MiB", p>>20, budget>>20)
		}
	})
	t.Run("download", func(t *testing.T) {
		stop := make(chan struct{})
		peak := heapWatch(stop)
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		close(stop)
		if err != nil || n != size {
			t.Errorf("downloaded %d bytes, err %v; want %d", n, err, size)
		}
		if p := <-peak; p > budget {
			t.Errorf("heap in use peaked at %d MiB; want under %d MiB", p>>20, budget>>20)
		}
	})
}

// wsBackend answers an upgrade with 101 and then echoes every byte back.
func wsBackend(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = buf.Flush()
		_, _ = io.Copy(conn, buf)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestWebSocketTunnel(t *testing.T) {
	_, url := startProxy(t, backendsConfig(wsBackend(t)))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("got %d; want 101", resp.StatusCode)
	}
	for _, msg := range []string{"hello", "second frame"} {
		_, _ = io.WriteString(conn, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo: got %q, %v; want %q", got, err, msg)
		}
	}
}

// TestReloadUnderLoad swaps configurations repeatedly while clients run:
// no request may fail, and the new backend set takes effect.
func TestReloadUnderLoad(t *testing.T) {
	a, b, c := namedBackend(t, "a"), namedBackend(t, "b"), namedBackend(t, "c")
	cfg := backendsConfig(a, b)
	p, url := startProxy(t, cfg)
	stop := make(chan struct{})
	total, failed, wait := load(t, url, 4, true, stop)
	for i := range 20 {
		next := backendsConfig(a, b)
		if i%2 == 0 {
			next = backendsConfig(a, b, c)
			next.Balance = "least-conn"
		}
		next.Listen = p.state.Load().cfg.Listen
		next.AdminListen = "off"
		if err := p.Reload(next); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wait()
	if failed.Load() != 0 || total.Load() == 0 {
		t.Errorf("got %d failed of %d requests; want 0 failed", failed.Load(), total.Load())
	}
	if n := len(p.state.Load().backends); n != 2 {
		t.Errorf("backends after last reload: got %d; want 2", n)
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.Backends[0].Weight = 3
	_, url := startProxy(t, cfg)
	c := newClient()
	var counts = map[string]int{}
	for range 8 {
		_, body, _ := get(t, c, url, "")
		counts[body]++
	}
	if counts["a"] != 6 || counts["b"] != 2 {
		t.Errorf("weighted round-robin 3:1 over 8 requests: got %v; want a:6 b:2", counts)
	}
}

// TestLeastConn holds one request on a; new sessions must then go to b.
func TestLeastConn(t *testing.T) {
	release := make(chan struct{})
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "a")
	}))
	t.Cleanup(a.Close)
	b := namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.Balance = "least-conn"
	cfg.Sticky.Hash = "index"
	p, url := startProxy(t, cfg)
	t.Cleanup(func() { close(release) }) // before the proxy drains
	c := newClient()
	go func() {
		req, _ := http.NewRequest("GET", url+"/slow", nil)
		req.Header.Set("Cookie", "route=0")
		if resp, err := newClient().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for p.state.Load().backends[0].active.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 4 {
		if _, body, _ := get(t, c, url, ""); body != "b" {
			t.Errorf("new session %d with a busy: got %q; want b", i, body)
		}
	}
}

// TestHopByHopAnyCase: hop-by-hop response headers go whatever their case,
// including those a lowercase Connection header names.
func TestHopByHopAnyCase(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nkeep-alive: timeout=5\r\nconnection: x-hop\r\nx-hop: 1\r\nx-end: 2\r\nContent-Length: 2\r\n\r\nok")
		_ = buf.Flush()
	}))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	resp, err := newClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{"Keep-Alive": "", "X-Hop": "", "X-End": "2"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q; want %q", k, got, want)
		}
	}
}
