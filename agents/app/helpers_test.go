package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// cacheNode is one session store started by a test on loopback.
type cacheNode struct {
	id, addr string
	stop     func() // kills it (a crash, not a clean shutdown)
	pid      int    // memcached only: for SIGSTOP/SIGCONT (a silent host)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMemcached runs /usr/bin/memcached on a free loopback port and kills
// it (by PID) at cleanup unless the test killed it first.
func startMemcached(t testing.TB, id string) *cacheNode {
	t.Helper()
	return startMemcachedOn(t, id, freePort(t))
}

// startMemcachedOn starts memcached on a given port (to restart a node).
func startMemcachedOn(t testing.TB, id string, port int) *cacheNode {
	t.Helper()
	if _, err := exec.LookPath("memcached"); err != nil {
		t.Skip("memcached not installed (make deps installs it)")
	}
	cmd := exec.Command("memcached", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16", "-t", "1", "-u", "root")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start memcached: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	n := &cacheNode{id: id, addr: "127.0.0.1:" + strconv.Itoa(port), stop: stop, pid: cmd.Process.Pid}
	waitVersion(t, n.addr)
	return n
}

func waitVersion(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(c, "version\r\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "VERSION ") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("cache node %s did not answer version", addr)
}

func nodesFlag(ns ...*cacheNode) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, n.id+":"+n.addr)
	}
	return strings.Join(parts, " ")
}

// testApp is an app agent running in-process on a loopback port.
type testApp struct {
	url  string
	stop func() error // ends ctx (like SIGTERM) and waits for Run to return
}

func startApp(t testing.TB, cfg Config) *testApp {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "app"
	}
	cfg.Listen = "127.0.0.1:0"
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { done <- Run(ctx, cfg, ln, log) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return &testApp{url: "http://" + ln.Addr().String(), stop: stop}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// resp is what a test looks at in an answer.
type resp struct {
	code   int
	body   string
	header http.Header
	cookie *http.Cookie // the session cookie set by the answer, if any
}

// call sends one request with the session cookie value sid ("" for none).
func call(t testing.TB, method, url, sid, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if sid != "" {
		req.Header.Set("Cookie", "JSESSIONID="+sid)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	r, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	out := resp{code: r.StatusCode, body: string(b), header: r.Header}
	for _, c := range r.Cookies() {
		if c.Name == "JSESSIONID" {
			out.cookie = c
		}
	}
	return out
}

// eventually polls cond every 50ms for at most 10s (a bound for a shared,
// slow machine, not a timing assertion).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rawGet reads a key straight from a node, bypassing the agent.
func rawGet(n *cacheNode, key string) ([]byte, bool) {
	c := memcache.New(n.addr)
	c.Timeout = time.Second
	it, err := c.Get(key)
	if err != nil {
		return nil, false
	}
	return it.Value, true
}

// nodeStats reads counters from a node's "stats".
func nodeStats(t testing.TB, n *cacheNode) map[string]int64 {
	t.Helper()
	c, err := net.DialTimeout("tcp", n.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "stats\r\n")
	r := bufio.NewReader(c)
	out := map[string]int64{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stats on %s: %v", n.addr, err)
		}
		line = strings.TrimSpace(line)
		if line == "END" {
			return out
		}
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "STAT" {
			if v, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				out[f[1]] = v
			}
		}
	}
}

func readAll(t testing.TB, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func callForm(t testing.TB, url, sid, form string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "JSESSIONID="+sid)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	return resp{code: r.StatusCode, header: r.Header, body: readAll(t, r)}
}
