package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawClient dials the proxy at url for hand-written requests.
func rawClient(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return conn, bufio.NewReader(conn)
}

// readResponses reads n responses and returns their status codes and bodies.
func readResponses(t *testing.T, br *bufio.Reader, method string, n int) []string {
	t.Helper()
	var got []string
	for range n {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("response %d: %v", len(got)+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, resp.Status[:3]+" "+string(b))
	}
	return got
}

// TestConnectionPaths: requests on one connection take the event loop
// (plain GETs, pipelined or arriving byte by byte) and the goroutine path
// (a body) in any order, each answered once and in order.
func TestConnectionPaths(t *testing.T) {
	s := namedBackend(t, "a")
	_, url := startProxy(t, backendsConfig(s))
	conn, br := rawClient(t, url)
	get := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(conn, get+get+get); err != nil {
		t.Fatal(err)
	}
	if got := readResponses(t, br, "GET", 3); strings.Join(got, ",") != "200 a,200 a,200 a" {
		t.Errorf("pipelined GETs: got %q; want three 200 a", got)
	}
	for i := range len(get) {
		if _, err := io.WriteString(conn, get[i:i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if got := readResponses(t, br, "GET", 1); got[0] != "200 a" {
		t.Errorf("GET sent byte by byte: got %q; want 200 a", got)
	}
	post := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	if _, err := io.WriteString(conn, post+get); err != nil {
		t.Fatal(err)
	}
	if got := readResponses(t, br, "GET", 2); strings.Join(got, ",") != "200 a,200 a" {
		t.Errorf("POST then GET: got %q; want two 200 a", got)
	}
}

// TestResponseHeadersKept: the proxy adds no Content-Type of its own, and a
// body arriving in pieces is passed on whole.
func TestResponseHeadersKept(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no sniffed type
		w.Header().Set("Content-Length", "10")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "01234")
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		_, _ = io.WriteString(w, "56789")
	}))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	for range 2 { // first and later requests on a connection
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "0123456789" || resp.Header.Get("Content-Type") != "" {
			t.Errorf("got body %q, Content-Type %q; want 0123456789 and none", b, resp.Header.Get("Content-Type"))
		}
	}
}

// TestSlowReader: a client that sends many requests before reading any
// answer (so answers wait for room in its socket) gets them all, in order.
func TestSlowReader(t *testing.T) {
	body := strings.Repeat("x", 60<<10)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	_, url := startProxy(t, backendsConfig(s))
	conn, br := rawClient(t, url)
	const n = 100
	if _, err := io.WriteString(conn, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", n)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the proxy's writes hit a full socket
	for i, got := range readResponses(t, br, "GET", n) {
		if got != "200 "+body {
			t.Fatalf("response %d: got %.20q (%d bytes); want 200 and the body", i+1, got, len(got))
		}
	}
}

// TestDrain: when Serve's context ends (SIGTERM), requests in flight on
// either path are answered, kept-alive connections are closed after their
// answer, and new connections are refused.
func TestDrain(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "slow")
	}))
	t.Cleanup(s.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := backendsConfig(s)
	cfg.Listen, cfg.AdminListen = ln.Addr().String(), "off"
	p, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln, 5*time.Second) }()
	url := "http://" + ln.Addr().String()
	requests := map[string]string{
		"GET":  "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST": "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
	}
	answers := make(chan string, len(requests))
	for method, req := range requests {
		conn, br := rawClient(t, url)
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		go func() {
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				answers <- method + " " + err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, err = br.ReadByte() // the proxy closes the connection after the answer
			answers <- method + " " + resp.Status[:3] + " " + string(b) + " " + fmt.Sprint(err)
		}()
	}
	time.Sleep(100 * time.Millisecond) // both requests are at the backend
	cancel()
	for range requests {
		if got := <-answers; !strings.HasSuffix(got, " 200 slow EOF") {
			t.Errorf("request in flight at shutdown: got %q; want 200 slow, then EOF", got)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("connect after shutdown: succeeded; want refused")
	}
}

// A client whose bytes and end of input reach the proxy together (one
// epoll edge) is still seen to have gone: its connection is closed at once,
// not kept until the header or idle timeout.
func TestLoopClosesClientsThatLeftWithTheirBytes(t *testing.T) {
	p, url := startProxy(t, backendsConfig(namedBackend(t, "a")))
	addr := strings.TrimPrefix(url, "http://")
	sends := []string{"GET / HT", "\x00\x01garbage", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ""}
	for i := 0; i < 40; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		// Before the proxy has even registered the socket: data and FIN
		// are both waiting when it first looks.
		if s := sends[i%len(sends)]; s != "" {
			if _, err := io.WriteString(nc, s); err != nil {
				t.Fatal(err)
			}
		}
		nc.(*net.TCPConn).CloseWrite()
		defer nc.Close()
	}
	deadline := time.Now().Add(10 * time.Second) // far below the 60s header and 75s idle timeouts
	for p.Status().Clients != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d client connections still open after their clients left", p.Status().Clients)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A backend that dies halfway through a response, its last bytes and its
// FIN arriving together, fails the request at once (502 with no other
// backend), not after the read timeout.
func TestLoopSeesBackendCloseWithItsLastBytes(t *testing.T) {
	be := tcpBackend(t, func(nc net.Conn) {
		defer nc.Close()
		if _, err := http.ReadRequest(bufio.NewReader(nc)); err != nil {
			return
		}
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	})
	cfg := Config{Backends: []Backend{{URL: be, Weight: 1}}, ReadTimeout: Duration(time.Minute)}
	_, url := startProxy(t, cfg)
	c := newClient()
	c.Timeout = 20 * time.Second // far below the read timeout
	for i := 0; i < 10; i++ {
		status, _, _ := get(t, c, url+"/", "")
		if status != http.StatusBadGateway {
			t.Fatalf("request %d: got %d; want 502 for a truncated response", i, status)
		}
	}
}
