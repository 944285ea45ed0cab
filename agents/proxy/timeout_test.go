package proxy

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSlowClientsCut: a client that stops mid-header or mid-body loses its
// connection after the client timeouts instead of holding it forever.
func TestSlowClientsCut(t *testing.T) {
	s := namedBackend(t, "a")
	cfg := backendsConfig(s)
	cfg.ClientHeaderTimeout = Duration(200 * time.Millisecond)
	cfg.ClientBodyTimeout = Duration(200 * time.Millisecond)
	p, url := startProxy(t, cfg)
	tests := []struct{ name, send string }{
		{"stalled header", "GET / HTTP/1.1\r\nHost: x\r\n"},
		{"stalled large body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("x", 100000)},
		{"stalled chunked body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.send); err != nil {
				t.Fatal(err)
			}
			// The test's own deadline only guards against a hang; the
			// proxy must close long before it.
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, conn)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("connection still open after 20s; want it closed by the client timeouts")
			}
		})
	}
	// A slow client is not the backend's fault.
	if f := p.state.Load().backends[0].failures.Load(); f != 0 {
		t.Errorf("backend failures: got %d; want 0", f)
	}
}

func TestHead(t *testing.T) {
	s := namedBackend(t, "abc")
	_, url := startProxy(t, backendsConfig(s))
	c := newClient()
	for range 3 { // the connection must stay usable after a body-less answer
		resp, err := c.Head(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 3 {
			t.Errorf("HEAD: got %d, Content-Length %d; want 200, 3", resp.StatusCode, resp.ContentLength)
		}
		if status, body, _ := get(t, c, url, ""); status != 200 || body != "abc" {
			t.Errorf("GET after HEAD: got %d %q; want 200 abc", status, body)
		}
	}
}
