package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load runs n goroutines sending GETs (and, with posts, POSTs with a small
// body) through url until stop closes, and returns the number of requests
// and failures.
func load(t *testing.T, url string, n int, posts bool, stop <-chan struct{}) (total, failed *atomic.Int64, wait func()) {
	total, failed = new(atomic.Int64), new(atomic.Int64)
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var resp *http.Response
				var err error
				if !posts || (g+i)%2 == 0 {
					resp, err = c.Get(url + "/")
				} else {
					resp, err = c.Post(url+"/post", "text/plain", strings.NewReader("hello"))
				}
				total.Add(1)
				if err != nil {
					failed.Add(1)
					t.Logf("request error: %v", err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					t.Logf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	return total, failed, wg.Wait
}

// TestBackendKilledUnderLoad kills one backend (listener and every
// connection: RST) mid-load; connect failures and dead pooled connections
// must be retried so that no client sees an error.
func TestBackendKilledUnderLoad(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	_, url := startProxy(t, backendsConfig(a, b))
	stop := make(chan struct{})
	total, failed, wait := load(t, url, 4, true, stop)
	time.Sleep(500 * time.Millisecond)
	a.CloseClientConnections()
	a.Close()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wait()
	if failed.Load() != 0 || total.Load() == 0 {
		t.Errorf("got %d failed of %d requests; want 0 failed", failed.Load(), total.Load())
	}
}

// hangingBackend accepts connections and never answers: a host whose
// packets vanish looks like this to the proxy once a connection exists.
func hangingBackend(t *testing.T) string {
	t.Helper()
	url, got, _ := silentBackend(t)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() { // nobody here cares what it read
		for {
			select {
			case <-got:
			case <-done:
				return
			}
		}
	}()
	return url
}

func TestHangingBackend(t *testing.T) {
	b := namedBackend(t, "b")
	cfg := Config{Backends: []Backend{{URL: hangingBackend(t)}, {URL: b.URL}}}
	cfg.Sticky.Hash = "index"
	cfg.ReadTimeout = Duration(300 * time.Millisecond)
	cfg.MaxFails = 100 // keep the hanging backend eligible: every request meets it
	_, url := startProxy(t, cfg)
	c := newClient()
	t.Run("idempotent retried elsewhere", func(t *testing.T) {
		status, body, sc := get(t, c, url, "route=0")
		if status != 200 || body != "b" || cookieValue(sc, "route") != "1" {
			t.Errorf("got %d %q Set-Cookie %q; want 200 from b, cookie re-pointed to 1", status, body, sc)
		}
	})
	t.Run("non-idempotent not resent", func(t *testing.T) {
		req, _ := http.NewRequest("POST", url, strings.NewReader("x"))
		req.Header.Set("Cookie", "route=0")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 504 {
			t.Errorf("POST to hanging backend: got %d; want 504", resp.StatusCode)
		}
	})
}

// TestDeadKeepAliveConnection: a backend that closes every connection right
// after answering (without saying so) leaves dead connections in the pool;
// reusing one must not fail the request, even a POST.
func TestDeadKeepAliveConnection(t *testing.T) {
	var served atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		served.Add(1)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_ = buf.Flush()
		time.AfterFunc(20*time.Millisecond, func() { conn.Close() })
	}))
	t.Cleanup(s.Close)
	p, url := startProxy(t, backendsConfig(s))
	c := newClient()
	for i := range 6 {
		resp, err := c.Post(url, "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("request %d: got %d %q; want 200 ok", i, resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	be := p.state.Load().backends[0]
	if f := be.failures.Load(); f != 0 {
		t.Errorf("backend failures: got %d; want 0 (dead pooled connections are not failures)", f)
	}
	if r := be.retries.Load(); r == 0 {
		t.Errorf("retries on a fresh connection: got 0; want some (the test did not hit a dead connection)")
	}
}

func TestPassiveHealth(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.MaxFails = 2
	cfg.FailTimeout = Duration(time.Minute)
	p, url := startProxy(t, cfg)
	a.Close()
	c := newClient()
	st := p.state.Load()
	for i := range 4 {
		if status, body, _ := get(t, c, url, ""); status != 200 || body != "b" {
			t.Fatalf("request %d: got %d %q; want 200 from b", i, status, body)
		}
	}
	if st.backends[0].available(time.Now()) {
		t.Errorf("a after 2 connect failures with max_fails 2: available; want down")
	}
	if got := st.backends[0].failures.Load(); got != 2 {
		t.Errorf("a failures: got %d; want 2 (down backends get no more attempts)", got)
	}
}

func TestActiveHealth(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hc" && !healthy.Load() {
			w.WriteHeader(503)
			return
		}
		_, _ = io.WriteString(w, "a")
	}))
	t.Cleanup(a.Close)
	b := namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.Sticky.Hash = "index"
	cfg.HealthCheck = HealthCheck{Path: "/hc", Interval: Duration(20 * time.Millisecond), Fall: 2, Rise: 2}
	p, url := startProxy(t, cfg)
	be := p.state.Load().backends[0]
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	healthy.Store(false)
	waitFor("a marked down", func() bool { return be.activeDown.Load() })
	c := newClient()
	if _, body, sc := get(t, c, url, "route=0"); body != "b" || cookieValue(sc, "route") != "1" {
		t.Errorf("sticky to a while a is down: got %q, Set-Cookie %q; want b and route=1", body, sc)
	}
	healthy.Store(true)
	waitFor("a up again", func() bool { return !be.activeDown.Load() })
	if _, body, _ := get(t, c, url, "route=0"); body != "a" {
		t.Errorf("sticky to a after recovery: got %q; want a", body)
	}
}

// TestSmugglingRefused sends a request with both Content-Length and
// Transfer-Encoding: it must be refused, not forwarded.
func TestSmugglingRefused(t *testing.T) {
	var hits atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	tests := []struct{ name, req string }{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG"},
		{"two CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{"bad TE", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, tt.req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("got %d; want 400", resp.StatusCode)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("backend got %d requests; want 0", n)
	}
}

// cuttableBackend is a keep-alive HTTP backend that, once cut, goes silent
// like a host whose link was cut: requests on existing connections and new
// connections get no answer and no reset.
func cuttableBackend(t *testing.T, name string) (url string, cut func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var silent atomic.Bool
	var mu sync.Mutex
	var conns []net.Conn
	serve := func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if silent.Load() {
				return // keep the connection open, answer nothing
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+fmt.Sprint(len(name))+"\r\n\r\n"+name)
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String(), func() { silent.Store(true) }
}

// TestHostCutOffUnderLoad: a backend goes silent mid-load (no RST, no
// answer). Idempotent requests stuck on it are retried elsewhere after the
// read timeout; no client sees an error.
func TestHostCutOffUnderLoad(t *testing.T) {
	aURL, cut := cuttableBackend(t, "a")
	b := namedBackend(t, "b")
	cfg := Config{Backends: []Backend{{URL: aURL}, {URL: b.URL}}}
	cfg.ReadTimeout = Duration(300 * time.Millisecond)
	p, url := startProxy(t, cfg)
	stop := make(chan struct{})
	total, failed, wait := load(t, url, 4, false, stop)
	time.Sleep(400 * time.Millisecond)
	cut()
	time.Sleep(1600 * time.Millisecond)
	close(stop)
	wait()
	if failed.Load() != 0 || total.Load() == 0 {
		t.Errorf("got %d failed of %d requests; want 0 failed", failed.Load(), total.Load())
	}
	if f := p.state.Load().backends[0].failures.Load(); f == 0 {
		t.Errorf("silent backend failures: got 0; want some (the cut was not exercised)")
	}
}
