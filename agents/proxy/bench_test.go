package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// fixedBackend answers every request on a keep-alive connection with the
// same small response, allocating nothing per request, so a benchmark's
// allocations are the proxy's.
func fixedBackend(b *testing.B) string {
	b.Helper()
	return tcpBackend(b, serveFixed)
}

// tcpBackend serves each connection of a loopback listener with serve, in
// its own goroutine, until the test ends; it returns the backend's URL.
func tcpBackend(tb testing.TB, serve func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// serveFixed answers each request head (no bodies) on c with "ok".
func serveFixed(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// BenchmarkProxyGet measures one sticky GET through the proxy over a
// kept-alive client connection; -benchmem shows the hot path's allocations
// (the client and backend here allocate nothing per request).
func BenchmarkProxyGet(b *testing.B) {
	cfg := Config{Backends: []Backend{{URL: fixedBackend(b)}, {URL: fixedBackend(b)}}}
	cfg.Sticky.Hash = "index"
	_, url := startProxy(b, cfg)
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nCookie: route=0\r\n\r\n")
	br := bufio.NewReader(c)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := readFixed(br); err != nil {
			b.Fatal(err)
		}
	}
}

// readFixed reads one response with a Content-Length header from br.
func readFixed(br *bufio.Reader) error {
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return err
			}
		}
	}
	if n < 0 {
		return fmt.Errorf("response without Content-Length")
	}
	_, err := br.Discard(n)
	return err
}
