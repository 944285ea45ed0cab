package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// longRead is a read timeout no test may wait out: a request that
// completes proves it was retried when its backend went down, not when
// the timeout fired.
const longRead = Duration(30 * time.Second)

// waitFor polls cond until it holds, failing the test after a generous
// bound (a hang, not a timing threshold).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCutHostAbortsWaits: a backend goes silent mid-load with a read
// timeout of 30s. Active checks mark it down; the GETs waiting on it are
// retried on the other backend then, not after 30s, and no client fails.
func TestCutHostAbortsWaits(t *testing.T) {
	aURL, cut := cuttableBackend(t, "a")
	b := namedBackend(t, "b")
	cfg := Config{Backends: []Backend{{URL: aURL}, {URL: b.URL}}, ReadTimeout: longRead}
	cfg.HealthCheck = HealthCheck{Path: "/health", Interval: Duration(50 * time.Millisecond), Timeout: Duration(200 * time.Millisecond), Fall: 2, Rise: 2}
	p, url := startProxy(t, cfg)
	a := p.state.Load().backends[0]
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopLoad := func() { stopOnce.Do(func() { close(stop) }) }
	total, failed, wait := load(t, url, 4, false, stop)
	t.Cleanup(func() { stopLoad(); wait() }) // also when a check below ends the test early
	waitFor(t, "requests served by a", func() bool { return a.requests.Load() > 20 })
	cut()
	waitFor(t, "a marked down", func() bool { return a.activeDown.Load() })
	before := total.Load()
	waitFor(t, "requests after a went down", func() bool { return total.Load() > before+20 })
	stopLoad()
	waitDone := make(chan struct{})
	go func() { wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(time.Duration(longRead) / 2):
		t.Fatalf("clients still waiting long after a went down: waits were not aborted")
	}
	if failed.Load() != 0 {
		t.Errorf("got %d failed of %d requests; want 0 failed", failed.Load(), total.Load())
	}
	if n := a.aborted.Load(); n == 0 {
		t.Errorf("aborted waits on a: got 0; want some (the cut caught no request in flight)")
	}
	if n := a.failures.Load(); n != 0 {
		t.Errorf("read timeouts on a: got %d; want 0 (aborted waits are retried, not timed out)", n)
	}
	if st := p.Status(); st.Backends[0].Aborted != a.aborted.Load() {
		t.Errorf("status aborted: got %d; want %d", st.Backends[0].Aborted, a.aborted.Load())
	}
}

// silentBackend accepts connections, reads requests and never answers;
// each request read is announced on the returned channel, and so is how
// its connection ended ("reset" or "closed"). stopListening closes the
// listener (new connects are refused) and keeps connections.
func silentBackend(t *testing.T) (url string, got <-chan string, stopListening func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reqs := make(chan string, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if errors.Is(err, syscall.ECONNRESET) {
						reqs <- "reset"
					}
					if err != nil {
						reqs <- "closed"
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					reqs <- req.Method
				}
			}()
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
	return "http://" + ln.Addr().String(), reqs, func() { ln.Close() }
}

// TestPassiveDownAbortsWaits: without active checks, a connect failure
// that marks a backend down (max_fails 1) retries at once the GET or PUT
// already waiting on it, and the retried answer re-points the route cookie
// to the backend that served it (else the client would return to a's stale
// state once a is back); a POST waiting there is not replayed.
func TestPassiveDownAbortsWaits(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		wantStatus int
		wantBody   string
		wantAbort  uint64
		wantRoute  string
	}{
		{"GET retried on b", "GET", 200, "b", 1, "1"},
		{"PUT retried on b", "PUT", 200, "b", 1, "1"},
		{"POST not replayed", "POST", 504, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aURL, got, stopListening := silentBackend(t)
			b := namedBackend(t, "b")
			cfg := Config{Backends: []Backend{{URL: aURL}, {URL: b.URL}}, ReadTimeout: longRead}
			cfg.Sticky.Hash = "index"
			if tt.method == "POST" {
				// The POST must wait out its read timeout: keep it short.
				cfg.ReadTimeout = Duration(time.Second)
			}
			p, url := startProxy(t, cfg)
			a := p.state.Load().backends[0]
			type result struct {
				status int
				body   string
				route  string
			}
			res := make(chan result, 1)
			go func() {
				req, _ := http.NewRequest(tt.method, url, strings.NewReader("x"))
				req.Header.Set("Cookie", "route=0")
				resp, err := newClient().Do(req)
				if err != nil {
					res <- result{status: -1, body: err.Error()}
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				res <- result{resp.StatusCode, string(body), cookieValue(resp.Header.Get("Set-Cookie"), "route")}
			}()
			if m := <-got; m != tt.method {
				t.Fatalf("silent backend got %s; want %s", m, tt.method)
			}
			stopListening()
			// The pool has no idle connection to a: this GET dials, is
			// refused, and marks a down.
			if status, body, _ := get(t, newClient(), url, "route=0"); status != 200 || body != "b" {
				t.Fatalf("GET while a refuses: got %d %q; want 200 from b", status, body)
			}
			r := <-res
			if r.status != tt.wantStatus || (tt.wantBody != "" && r.body != tt.wantBody) {
				t.Errorf("waiting %s: got %d %q; want %d %q", tt.method, r.status, r.body, tt.wantStatus, tt.wantBody)
			}
			if r.route != tt.wantRoute {
				t.Errorf("waiting %s: got route cookie %q; want %q", tt.method, r.route, tt.wantRoute)
			}
			if n := a.aborted.Load(); n != tt.wantAbort {
				t.Errorf("aborted waits: got %d; want %d", n, tt.wantAbort)
			}
			// Given up on, the request must not reach a later (a cut
			// host would get it when the link is back): the connection
			// is reset, which drops unsent bytes, not closed.
			if end := <-got; end != "reset" {
				t.Errorf("a's connection after the proxy gave up: got %q; want reset", end)
			}
		})
	}
}

// TestRiseLiftsPassiveMark: a backend marked down by passive failures for
// a long fail_timeout is used again once rise active checks pass after its
// restart; without active checks nginx's rule stands and it stays down.
func TestRiseLiftsPassiveMark(t *testing.T) {
	tests := []struct {
		name     string
		checks   bool
		wantBody string
	}{
		{"active checks lift it", true, "a"},
		{"passive only keeps it down", false, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := namedBackend(t, "a"), namedBackend(t, "b")
			aAddr := a.Listener.Addr().String()
			cfg := backendsConfig(a, b)
			cfg.Sticky.Hash = "index"
			cfg.FailTimeout = Duration(time.Hour)
			if tt.checks {
				cfg.HealthCheck = HealthCheck{Path: "/health", Interval: Duration(20 * time.Millisecond), Fall: 3, Rise: 2}
			}
			p, url := startProxy(t, cfg)
			be := p.state.Load().backends[0]
			c := newClient()
			a.Close()
			if _, body, _ := get(t, c, url, "route=0"); body != "b" {
				t.Fatalf("while a is stopped: got %q; want b", body)
			}
			if be.available(time.Now()) {
				t.Fatalf("a after a connect failure: available; want marked down")
			}
			restartOn(t, aAddr, "a")
			if tt.checks {
				waitFor(t, "a lifted by active checks", func() bool { return be.available(time.Now()) })
			}
			if _, body, _ := get(t, c, url, "route=0"); body != tt.wantBody {
				t.Errorf("after restart: got %q; want %q", body, tt.wantBody)
			}
		})
	}
}

// restartOn starts a backend answering name on addr, where a stopped one
// listened.
func restartOn(t *testing.T, addr, name string) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen again on %s: %v", addr, err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name)
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// TestConnectFailuresCountTowardFall: with active checks far apart, fall
// failed connects of live traffic mark a backend down for active checks
// (max_fails is high enough that passive accounting alone would not).
func TestConnectFailuresCountTowardFall(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.Sticky.Hash = "index"
	cfg.MaxFails = 100
	cfg.HealthCheck = HealthCheck{Path: "/health", Interval: Duration(time.Hour), Fall: 2, Rise: 2}
	p, url := startProxy(t, cfg)
	be := p.state.Load().backends[0]
	waitFor(t, "first active check of a", func() bool { return be.checkUps.Load() > 0 })
	a.Close()
	c := newClient()
	for i := range 2 {
		if be.activeDown.Load() {
			t.Fatalf("after %d connect failures: down; want up until fall (2)", i)
		}
		if _, body, _ := get(t, c, url, "route=0"); body != "b" {
			t.Fatalf("request %d: got %q; want b", i, body)
		}
	}
	if !be.activeDown.Load() {
		t.Errorf("after 2 connect failures with fall 2: up for active checks; want down")
	}
}

// TestProbeConnectFailureIsPassive: a check that cannot connect counts as
// a passive failure, so with max_fails 1 the backend is down at once even
// though fall is far off, and no request had to fail first.
func TestProbeConnectFailureIsPassive(t *testing.T) {
	a, b := namedBackend(t, "a"), namedBackend(t, "b")
	cfg := backendsConfig(a, b)
	cfg.FailTimeout = Duration(time.Hour)
	cfg.HealthCheck = HealthCheck{Path: "/health", Interval: Duration(20 * time.Millisecond), Fall: 1000, Rise: 2}
	p, _ := startProxy(t, cfg)
	be := p.state.Load().backends[0]
	a.Close()
	waitFor(t, "a marked down by a probe", func() bool { return !be.available(time.Now()) })
	if be.activeDown.Load() {
		t.Errorf("a down for active checks with fall 1000; want only the passive mark")
	}
	if n := be.failures.Load(); n != 0 {
		t.Errorf("request failures on a: got %d; want 0 (probes are not requests)", n)
	}
}
