package cache

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRequestsSplitAcrossReads sends requests over TCP a few bytes per
// write, so that the server's reads end mid-line and mid-value, and
// expects the replies one whole write gets. (Through the event loops on
// Linux; TestSplitAtEveryByte covers the goroutine-per-connection path.)
func TestRequestsSplitAcrossReads(t *testing.T) {
	script := "set a 0 0 5\r\nhello\r\nget a b\r\nappend a 0 0 1\r\n!\r\nincr n 1\r\nset n 0 0 1\r\n7\r\nincr n 3\r\n" +
		"set a 0 0 2\r\nxyz\r\ndelete a\r\nbogus\r\nget " + strings.Repeat("k", 300) + "\r\n" +
		"set big 0 0 100000\r\n" + strings.Repeat("b", 100000) + "\r\nmg big s v\r\n" +
		"set huge 0 0 2000000\r\n" + strings.Repeat("h", 2000000) + "\r\nversion\r\nquit\r\n"
	tg := startAgent(t, ServerConfig{})
	whole := roundTrip(t, dialSession(t, tg.addr).c, script, true)
	if !strings.Contains(whole, "SERVER_ERROR object too large for cache\r\nVERSION") {
		t.Errorf("whole script: got %q; want the oversize value refused and the next command answered", abbrev(whole))
	}
	if err := tg.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 7, 4096} {
		tg := startAgent(t, ServerConfig{})
		c := dialSession(t, tg.addr).c
		c.(*net.TCPConn).SetNoDelay(true)
		done := make(chan error, 1)
		go func() {
			// The small requests go chunk bytes a write, the large
			// values (from "set big" on) at least 4 KiB a write.
			s, big := script, strings.Index(script, "set big")
			for len(s) > 0 {
				n := chunk
				if len(script)-len(s) >= big {
					n = max(chunk, 4096)
				}
				n = min(n, len(s))
				if _, err := io.WriteString(c, s[:n]); err != nil {
					done <- err
					return
				}
				s = s[n:]
			}
			done <- nil
		}()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("chunk %d: read: %v", chunk, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("chunk %d: write: %v", chunk, err)
		}
		if string(got)+"<EOF>" != whole {
			t.Errorf("chunk %d: got %q; want %q", chunk, abbrev(string(got)), abbrev(whole))
		}
	}
}

// TestPipelinedRepliesOutgrowTheSocket pipelines gets of a large value
// without reading: the server must stop at its reply high-water mark, wait
// until the client reads, and then answer everything in order.
func TestPipelinedRepliesOutgrowTheSocket(t *testing.T) {
	tg := startAgent(t, ServerConfig{})
	s := dialSession(t, tg.addr)
	value := bytes.Repeat([]byte("0123456789abcdef"), 500<<10/16)
	s.expect(fmt.Sprintf("set v 0 0 %d\r\n%s\r\n", len(value), value), "STORED\r\n")
	const gets = 40 // 20 MB of replies
	var req bytes.Buffer
	for i := 0; i < gets; i++ {
		fmt.Fprintf(&req, "get v\r\nmn\r\n")
	}
	if _, err := s.c.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server fills the socket and waits
	s.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReaderSize(s.c, 1<<20)
	want := fmt.Sprintf("VALUE v 0 %d\r\n", len(value))
	for i := 0; i < gets; i++ {
		line, err := r.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("reply %d: got %q, %v; want %q", i, abbrev(line), err, want)
		}
		got := make([]byte, len(value)+2)
		if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got[:len(value)], value) {
			t.Fatalf("reply %d: value differs or short (%v)", i, err)
		}
		for _, w := range []string{"END\r\n", "MN\r\n"} {
			if line, err := r.ReadString('\n'); err != nil || line != w {
				t.Fatalf("reply %d: got %q, %v; want %q", i, line, err, w)
			}
		}
	}
}
