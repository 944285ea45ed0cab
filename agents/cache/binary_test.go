package cache

import (
	"bufio"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBinaryStats asks both servers for their statistics over the binary
// protocol: one response per stat, echoing the opaque, then an empty one.
func TestBinaryStats(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			for _, tc := range []struct {
				group string
				want  []string
			}{
				{"", []string{"pid", "uptime", "version", "curr_connections", "cmd_get", "get_hits", "curr_items", "limit_maxbytes", "threads"}},
				{"settings", []string{"maxbytes", "maxconns", "item_size_max"}},
			} {
				t.Run("group "+tc.group, func(t *testing.T) {
					stats := binStats(t, tg.addr, tc.group)
					for _, name := range tc.want {
						if _, ok := stats[name]; !ok {
							t.Errorf("stat %q: missing from %v", name, stats)
						}
					}
				})
			}
		})
	}
}

// binStats sends a stat request and returns the stats it got, failing
// the test unless every response is well formed and the list ends.
func binStats(t *testing.T, addr, group string) map[string]string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(binReq{op: opStat, key: group}.encode(77, 0)); err != nil {
		t.Fatalf("write: %v", err)
	}
	stats := map[string]string{}
	for {
		hdr, body, err := readResp(c)
		if err != nil {
			t.Fatalf("read after %d stats: %v", len(stats), err)
		}
		if hdr[0] != binResMagic || hdr[1] != opStat || binary.BigEndian.Uint32(hdr[12:]) != 77 || binary.BigEndian.Uint16(hdr[6:]) != 0 {
			t.Fatalf("response header %x: want magic 81, opcode 10, status 0, opaque 77", hdr)
		}
		klen := int(binary.BigEndian.Uint16(hdr[2:]))
		if klen == 0 && len(body) == 0 {
			return stats
		}
		stats[string(body[:klen])] = string(body[klen:])
	}
}

// TestBinaryAndTextShareTheStore writes over one protocol and reads over
// the other: one store and one set of counters serve both.
func TestBinaryAndTextShareTheStore(t *testing.T) {
	tg := startAgent(t, ServerConfig{})
	got := binExchange(t, tg.addr, []binReq{{op: opSet, key: "shared", ext: exp(7, 0), val: "bin"}, {op: opGet, key: "shared"}})
	want := []string{"#1 01 0000 cas", `#2 00 0000 cas ext=00000007 val="bin"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("binary set and get: got %q; want %q", got, want)
	}
	c, err := net.Dial("tcp", tg.addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if reply := roundTrip(t, c, "get shared\r\n", false); reply != "VALUE shared 7 3\r\nbin\r\nEND\r\n" {
		t.Errorf("text get: got %q; want the binary-stored value", reply)
	}
	stats := binStats(t, tg.addr, "")
	for name, want := range map[string]string{"cmd_set": "1", "get_hits": "2", "curr_items": "1"} {
		if stats[name] != want {
			t.Errorf("stat %s: got %q; want %q", name, stats[name], want)
		}
	}
}

// TestBinaryFraming covers what the agent does beyond memcached with
// garbage framing: an unknown command's body is skipped (memcached
// 1.6.18 stops answering), and a body length no request can need closes
// the connection before anything is allocated or skipped.
func TestBinaryFraming(t *testing.T) {
	tg := startAgent(t, ServerConfig{})
	cases := []binCase{
		{"unknown command's body is skipped", []binReq{{op: 0x50, key: "k", ext: "e", val: "body"}, {op: opVersion}},
			[]string{`#1 50 0081 cas0 val="Unknown command"`, `#2 0b 0000 cas0 val="*"`}},
		{"huge body length closes", []binReq{{op: 0x50, bodyExtra: 1<<32 - 1}, {op: opNoop}},
			[]string{`#1 50 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
		{"huge set closes", []binReq{{op: opSet, key: "k", ext: exp(0, 0), bodyExtra: 1 << 30}, {op: opNoop}},
			[]string{`#1 01 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
		{"bad magic closes", []binReq{{op: opNoop}, {raw: append([]byte{binResMagic}, make([]byte, 23)...)}},
			[]string{"#1 0a 0000 cas0", "<EOF>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := binExchange(t, tg.addr, tc.reqs)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestBinaryHalfHeader checks that a connection closed mid-header ends
// quietly, with no response.
func TestBinaryHalfHeader(t *testing.T) {
	tg := startAgent(t, ServerConfig{})
	c, err := net.Dial("tcp", tg.addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte{binReqMagic, opGet, 0, 1})
	c.(*net.TCPConn).CloseWrite()
	if b, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Errorf("got byte %#x; want the connection closed with no reply", b)
	}
}
