package cache

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// scriptConn is a net.Conn whose reads return the script at most chunk
// bytes at a time, then EOF, and whose writes are collected.
type scriptConn struct {
	net.Conn // nil; only the methods below are used
	in       []byte
	chunk    int
	out      bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.chunk)], c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *scriptConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *scriptConn) Close() error                { return nil }

// serveScript runs one connection over input delivered in reads of at
// most chunk bytes and returns everything the server wrote.
func serveScript(t testing.TB, srv *Server, input []byte, chunk int) []byte {
	t.Helper()
	c := &scriptConn{in: input, chunk: chunk}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.serveConn(c)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("connection still busy after 10s on input %q (chunk %d)", abbrev(string(input)), chunk)
	}
	return c.out.Bytes()
}

var fuzzSeeds = []string{
	"set a 0 0 1\r\nx\r\nget a\r\n",
	"gets a b c\r\ncas a 0 0 1 1\r\ny\r\n",
	"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n abc\r\n",
	"append a 0 0 1\r\nz\r\nprepend a 0 0 1\r\nw\r\ntouch a 10\r\ngat 10 a\r\ngats 1 a\r\n",
	"set big 0 0 2147483645\r\nxx",
	"set a 0 0 -1\r\nset a 0 0 4294967297\r\nx\r\n",
	"flush_all 10\r\nflush_all\r\nstats\r\nstats settings\r\nstats items\r\nverbosity 1\r\nversion\r\n",
	"delete a 0 noreply\r\ndelete a 5\r\nmn\r\nquit\r\n",
	"GET / HTTP/1.1\r\n",
	"get " + strings.Repeat("k ", 3000) + "\r\n",
	strings.Repeat("x", 3000),
	"set a 0 0 1 noreply\r\nxy\r\n\r\n\n\r\n \r\n",
	"ms m 2 T0 F1 c k Oq\r\nhi\r\nmg m v s f t k O1 h l\r\nma c N0 J5 v\r\nma c MD D9 q\r\nmd m C1\r\nme m\r\n",
	"ms Zm9v 1 b MA\r\nx\r\nms m 99999999 Z\r\nmg\r\nma m M? D-1\r\n",
}

// FuzzProtocol feeds arbitrary bytes, split at an arbitrary chunk size, to
// a connection: the server must neither panic nor hang, and splitting the
// same input differently must not change the reply.
func FuzzProtocol(f *testing.F) {
	for _, s := range append(fuzzSeeds, binFuzzSeeds()...) {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(7))
	}
	srv := NewServer(ServerConfig{MemoryBytes: 8 << 20, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	f.Cleanup(func() { srv.Close() })
	f.Fuzz(func(t *testing.T, input []byte, chunk uint8) {
		reset(srv)
		whole := serveScript(t, srv, input, len(input)+1)
		reset(srv)
		split := serveScript(t, srv, input, int(chunk)+1)
		if comparable(input) && !bytes.Equal(whole, split) {
			t.Errorf("reply depends on how the input is split:\nwhole %q\nsplit %q", whole, split)
		}
	})
}

// TestSplitAtEveryByte sends a script one byte per read and in one piece,
// and expects identical replies.
func TestSplitAtEveryByte(t *testing.T) {
	script := []byte("set a 0 0 5\r\nhello\r\nget a b\r\nappend a 0 0 1\r\n!\r\nincr n 1\r\nset n 0 0 1\r\n7\r\nincr n 3\r\n" +
		"set a 0 0 2\r\nxyz\r\ndelete a\r\nbogus\r\nget " + strings.Repeat("k", 300) + "\r\nversion\r\nquit\r\n")
	srv := NewServer(ServerConfig{})
	defer srv.Close()
	whole := serveScript(t, srv, script, len(script))
	for chunk := 1; chunk <= 3; chunk++ {
		reset(srv)
		if got := serveScript(t, srv, script, chunk); !bytes.Equal(got, whole) {
			t.Errorf("chunk %d: got %q; want %q", chunk, got, whole)
		}
	}
	want := "STORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\nSTORED\r\nNOT_FOUND\r\nSTORED\r\n10\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\nDELETED\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nVERSION 1.6.18\r\n"
	if string(whole) != want {
		t.Errorf("reply: got %q; want %q", whole, want)
	}
}

// binFuzzSeeds are binary-protocol sessions: every opcode, quiet forms,
// a too-large value, framing errors and lengths near their limits.
func binFuzzSeeds() []string {
	session := func(reqs ...binReq) string {
		var b []byte
		for i, r := range reqs {
			b = append(b, r.encode(uint32(i), 0)...)
		}
		return string(b)
	}
	return []string{
		session(binReq{op: opSet, key: "a", ext: exp(1, 0), val: "v"}, binReq{op: opGet, key: "a"}, binReq{op: opGetK, key: "a"},
			binReq{op: opGetQ, key: "b"}, binReq{op: opGetKQ, key: "a"}, binReq{op: opNoop}, binReq{op: opVersion}),
		session(binReq{op: opAddQ, key: "a", ext: exp(0, 0), val: "1"}, binReq{op: opReplace, key: "a", ext: exp(0, 0), val: "2", cas: 1},
			binReq{op: opAppend, key: "a", val: "3"}, binReq{op: opPrependQ, key: "a", val: "0"}, binReq{op: opDelete, key: "a", cas: 2}, binReq{op: opDeleteQ, key: "a"}),
		session(binReq{op: opIncrement, key: "n", ext: deltaExt(1, 5, 0)}, binReq{op: opDecrQ, key: "n", ext: deltaExt(9, 0, binNoCreate)},
			binReq{op: opIncrQ, key: "m", ext: deltaExt(1, 0, binNoCreate)}, binReq{op: opTouch, key: "n", ext: u32(5)},
			binReq{op: opGATKQ, key: "n", ext: u32(0)}, binReq{op: opGAT, key: "z", ext: u32(1)}),
		session(binReq{op: opFlush, ext: u32(10)}, binReq{op: opFlushQ}, binReq{op: opStat, key: "items"}, binReq{op: opStat, key: "x"}, binReq{op: opQuitQ}),
		session(binReq{op: opSet, key: "big", ext: exp(0, 0), val: strings.Repeat("x", 1<<20)}, binReq{op: opGet, key: "big"}),
		session(binReq{op: 0x50, key: "k", val: "v"}, binReq{op: opGet, key: "k", ext: "e"}),
		session(binReq{op: opGet, key: "k", keyLen: 300}),
		session(binReq{op: opSet, key: "k", ext: exp(0, 0), bodyExtra: 1<<32 - 20}),
		session(binReq{op: opNoop}) + "get a\r\n",
		session(binReq{op: opQuit}, binReq{op: opNoop}),
	}
}

// reset empties the server and restarts its cas counter, so that two runs
// of one script give the same replies.
func reset(srv *Server) {
	srv.st.flush(0)
	srv.st.lastCAS.Store(0)
}

// comparable reports whether input's reply must not depend on splitting:
// stats replies differ between runs, and a line over
// maxLine is refused only when it arrives without its newline (as in
// memcached).
func comparable(input []byte) bool {
	if bytes.Contains(input, []byte("stats")) {
		return false
	}
	if len(input) > 0 && input[0] == binReqMagic {
		// A binary stat request (opcode 0x10) may hide anywhere.
		return bytes.IndexByte(input, opStat) < 0
	}
	for _, line := range bytes.Split(input, []byte("\n")) {
		if len(line) > maxLine {
			return false
		}
	}
	return true
}
