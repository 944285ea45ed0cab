package cache

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A binReq is one binary-protocol request of a conformance case. Its
// opaque is its index in the case plus one, so responses show which
// request they answer. useCAS sends the cas of the last response that
// carried one; raw, when set, is sent instead of an encoded request.
type binReq struct {
	op            byte
	key, ext, val string
	cas           uint64
	useCAS        bool
	keyLen        int    // added to the encoded key length, to break framing
	bodyExtra     uint32 // added (wrapping) to the encoded body length
	raw           []byte
}

// exp encodes the extras of set/add/replace.
func exp(flags, exptime uint32) string {
	b := binary.BigEndian.AppendUint32(nil, flags)
	return string(binary.BigEndian.AppendUint32(b, exptime))
}

// deltaExt encodes the extras of increment/decrement.
func deltaExt(delta, initial uint64, exptime uint32) string {
	b := binary.BigEndian.AppendUint64(nil, delta)
	b = binary.BigEndian.AppendUint64(b, initial)
	return string(binary.BigEndian.AppendUint32(b, exptime))
}

func u32(v uint32) string { return string(binary.BigEndian.AppendUint32(nil, v)) }

func (r binReq) encode(opaque uint32, cas uint64) []byte {
	if r.raw != nil {
		return r.raw
	}
	if !r.useCAS {
		cas = r.cas
	}
	b := make([]byte, binHdrLen)
	b[0], b[1] = binReqMagic, r.op
	binary.BigEndian.PutUint16(b[2:], uint16(len(r.key)+r.keyLen))
	b[4] = byte(len(r.ext))
	binary.BigEndian.PutUint32(b[8:], uint32(len(r.ext)+len(r.key)+len(r.val))+r.bodyExtra)
	binary.BigEndian.PutUint32(b[12:], opaque)
	binary.BigEndian.PutUint64(b[16:], cas)
	return append(append(append(b, r.ext...), r.key...), r.val...)
}

type binCase struct {
	name string
	reqs []binReq
	want []string // formatted responses; "<EOF>" when the server hangs up
}

// noopOpaque marks the no-op appended to every case, whose answer shows
// that all earlier replies (and nothing more) have arrived.
const noopOpaque = 0xfeedface

// fmtResp renders a response as "#opaque op status cas ext key value"
// with cas shown only as zero or not (its value differs between servers)
// and the version text hidden.
func fmtResp(hdr, body []byte) string {
	klen, elen := int(binary.BigEndian.Uint16(hdr[2:])), int(hdr[4])
	cas := "cas0"
	if binary.BigEndian.Uint64(hdr[16:]) != 0 {
		cas = "cas"
	}
	ext, key, val := body[:elen], body[elen:elen+klen], string(body[elen+klen:])
	if hdr[1] == opVersion {
		val = "*"
	}
	s := fmt.Sprintf("#%d %02x %04x %s", binary.BigEndian.Uint32(hdr[12:]), hdr[1], binary.BigEndian.Uint16(hdr[6:]), cas)
	if len(ext) > 0 {
		s += fmt.Sprintf(" ext=%x", ext)
	}
	if len(key) > 0 {
		s += fmt.Sprintf(" key=%q", key)
	}
	if len(val) > 0 {
		s += fmt.Sprintf(" val=%q", abbrev(val))
	}
	return s
}

var big = strings.Repeat("x", 2000000)

var binCases = []binCase{
	{"noop", []binReq{{op: opNoop}}, []string{"#1 0a 0000 cas0"}},
	{"set get getk", []binReq{{op: opSet, key: "k", ext: exp(0xdeadbeef, 0), val: "hello"}, {op: opGet, key: "k"}, {op: opGetK, key: "k"}, {op: opGetQ, key: "k"}, {op: opGetKQ, key: "k"}},
		[]string{"#1 01 0000 cas", `#2 00 0000 cas ext=deadbeef val="hello"`, `#3 0c 0000 cas ext=deadbeef key="k" val="hello"`,
			`#4 09 0000 cas ext=deadbeef val="hello"`, `#5 0d 0000 cas ext=deadbeef key="k" val="hello"`}},
	{"get misses", []binReq{{op: opGet, key: "nokey"}, {op: opGetK, key: "nokey"}, {op: opGetQ, key: "nokey"}, {op: opGetKQ, key: "nokey"}},
		[]string{`#1 00 0001 cas0 val="Not found"`, `#2 0c 0001 cas0 key="nokey"`}},
	{"empty value", []binReq{{op: opSet, key: "e", ext: exp(0, 0)}, {op: opGet, key: "e"}},
		[]string{"#1 01 0000 cas", "#2 00 0000 cas ext=00000000"}},
	{"add and replace", []binReq{{op: opAdd, key: "a", ext: exp(1, 0), val: "1"}, {op: opAdd, key: "a", ext: exp(2, 0), val: "2"},
		{op: opReplace, key: "r", ext: exp(0, 0), val: "x"}, {op: opReplace, key: "a", ext: exp(3, 0), val: "3"}, {op: opGet, key: "a"}},
		[]string{"#1 02 0000 cas", `#2 02 0002 cas0 val="Data exists for key."`, `#3 03 0001 cas0 val="Not found"`, "#4 03 0000 cas", `#5 00 0000 cas ext=00000003 val="3"`}},
	{"quiet mutations are silent unless they fail", []binReq{{op: opSetQ, key: "q", ext: exp(0, 0), val: "1"}, {op: opAddQ, key: "q", ext: exp(0, 0), val: "2"},
		{op: opReplaceQ, key: "q", ext: exp(0, 0), val: "3"}, {op: opReplaceQ, key: "noq", ext: exp(0, 0), val: "3"}, {op: opAppendQ, key: "q", val: "4"},
		{op: opPrependQ, key: "q", val: "2"}, {op: opAppendQ, key: "noq", val: "4"}, {op: opIncrQ, key: "n", ext: deltaExt(1, 5, 0)},
		{op: opDecrQ, key: "n", ext: deltaExt(1, 0, 0)}, {op: opDeleteQ, key: "noq"}, {op: opGet, key: "q"}, {op: opGet, key: "n"}, {op: opDeleteQ, key: "q"}, {op: opGet, key: "q"}},
		[]string{`#2 12 0002 cas0 val="Data exists for key."`, `#4 13 0001 cas0 val="Not found"`, `#7 19 0005 cas0 val="Not stored."`,
			`#10 14 0001 cas0 val="Not found"`, `#11 00 0000 cas ext=00000000 val="234"`, `#12 00 0000 cas ext=00000000 val="4"`, `#14 00 0001 cas0 val="Not found"`}},
	{"compare and swap", []binReq{{op: opSet, key: "c", ext: exp(0, 0), val: "1"}, {op: opSet, key: "c", ext: exp(0, 0), val: "2", useCAS: true},
		{op: opSet, key: "c", ext: exp(0, 0), val: "3", cas: 1 << 40}, {op: opReplace, key: "c", ext: exp(0, 0), val: "3", cas: 1 << 40},
		{op: opAdd, key: "c", ext: exp(0, 0), val: "3", cas: 1 << 40}, {op: opSet, key: "nocas", ext: exp(0, 0), val: "3", cas: 1 << 40},
		{op: opAppend, key: "c", val: "3", cas: 1 << 40}, {op: opAppend, key: "c", val: "a", useCAS: true}, {op: opDelete, key: "c", cas: 1 << 40},
		{op: opGet, key: "c"}, {op: opDelete, key: "c", useCAS: true}, {op: opGet, key: "c"}},
		[]string{"#1 01 0000 cas", "#2 01 0000 cas", `#3 01 0002 cas0 val="Data exists for key."`, `#4 03 0002 cas0 val="Data exists for key."`,
			`#5 02 0002 cas0 val="Data exists for key."`, `#6 01 0001 cas0 val="Not found"`, `#7 0e 0002 cas0 val="Data exists for key."`, "#8 0e 0000 cas",
			`#9 04 0002 cas0 val="Data exists for key."`, `#10 00 0000 cas ext=00000000 val="2a"`, "#11 04 0000 cas0", `#12 00 0001 cas0 val="Not found"`}},
	{"delete", []binReq{{op: opSet, key: "d", ext: exp(0, 0), val: "1"}, {op: opDelete, key: "d"}, {op: opDelete, key: "d"}},
		[]string{"#1 01 0000 cas", "#2 04 0000 cas0", `#3 04 0001 cas0 val="Not found"`}},
	{"increment and decrement", []binReq{{op: opIncrement, key: "i", ext: deltaExt(1, 10, binNoCreate)}, {op: opIncrement, key: "i", ext: deltaExt(1, 10, 0)},
		{op: opIncrement, key: "i", ext: deltaExt(5, 0, 0)}, {op: opDecrement, key: "i", ext: deltaExt(100, 0, 0)}, {op: opIncrement, key: "i", ext: deltaExt(1<<64-1, 0, 0)},
		{op: opIncrement, key: "i", ext: deltaExt(2, 0, 0)}, {op: opGet, key: "i"}, {op: opSet, key: "s", ext: exp(0, 0), val: "abc"}, {op: opDecrement, key: "s", ext: deltaExt(1, 0, 0)},
		{op: opDecrement, key: "j", ext: deltaExt(1, 7, 0)}},
		[]string{`#1 05 0001 cas0 val="Not found"`, `#2 05 0000 cas val="\x00\x00\x00\x00\x00\x00\x00\n"`, `#3 05 0000 cas val="\x00\x00\x00\x00\x00\x00\x00\x0f"`,
			`#4 06 0000 cas val="\x00\x00\x00\x00\x00\x00\x00\x00"`, `#5 05 0000 cas val="\xff\xff\xff\xff\xff\xff\xff\xff"`, `#6 05 0000 cas val="\x00\x00\x00\x00\x00\x00\x00\x01"`,
			`#7 00 0000 cas ext=00000000 val="1                   "`, "#8 01 0000 cas", `#9 06 0006 cas0 val="Non-numeric server-side value for incr or decr"`,
			`#10 06 0000 cas val="\x00\x00\x00\x00\x00\x00\x00\a"`}},
	{"append and prepend keep flags", []binReq{{op: opAppend, key: "p", val: "x"}, {op: opSet, key: "p", ext: exp(9, 0), val: "b"},
		{op: opAppend, key: "p", val: "c"}, {op: opPrepend, key: "p", val: "a"}, {op: opGet, key: "p"}},
		[]string{`#1 0e 0005 cas0 val="Not stored."`, "#2 01 0000 cas", "#3 0e 0000 cas", "#4 0f 0000 cas", `#5 00 0000 cas ext=00000009 val="abc"`}},
	{"touch and get-and-touch", []binReq{{op: opTouch, key: "t", ext: u32(10)}, {op: opSet, key: "t", ext: exp(4, 0), val: "v"}, {op: opTouch, key: "t", ext: u32(100)},
		{op: opGAT, key: "t", ext: u32(100)}, {op: opGATK, key: "t", ext: u32(100)}, {op: opGATQ, key: "none", ext: u32(1)}, {op: opGATKQ, key: "t", ext: u32(0)},
		{op: opGAT, key: "none", ext: u32(1)}, {op: opGATK, key: "none", ext: u32(1)}},
		[]string{`#1 1c 0001 cas0 val="Not found"`, "#2 01 0000 cas", "#3 1c 0000 cas ext=00000004", `#4 1d 0000 cas ext=00000004 val="v"`,
			`#5 23 0000 cas ext=00000004 key="t" val="v"`, `#7 24 0000 cas ext=00000004 key="t" val="v"`, `#8 1d 0001 cas0 val="Not found"`, `#9 23 0001 cas0 key="none"`}},
	{"increment with a stale cas", []binReq{{op: opSet, key: "ic", ext: exp(0, 0), val: "5"}, {op: opIncrement, key: "ic", ext: deltaExt(1, 0, binNoCreate), cas: 1 << 40},
		{op: opIncrement, key: "ic", ext: deltaExt(1, 0, binNoCreate)}},
		[]string{"#1 01 0000 cas", `#2 05 0002 cas0 val="Data exists for key."`, `#3 05 0000 cas val="\x00\x00\x00\x00\x00\x00\x00\x06"`}},
	{"touch with a past time expires", []binReq{{op: opSet, key: "tp", ext: exp(0, 0), val: "v"}, {op: opTouch, key: "tp", ext: u32(2592001)}, {op: opGet, key: "tp"}},
		[]string{"#1 01 0000 cas", "#2 1c 0000 cas ext=00000000", `#3 00 0001 cas0 val="Not found"`}},
	{"expiration is unsigned", []binReq{{op: opSet, key: "x", ext: exp(0, 0xffffffff), val: "v"}, {op: opGet, key: "x"}},
		[]string{"#1 01 0000 cas", `#2 00 0000 cas ext=00000000 val="v"`}},
	{"flush", []binReq{{op: opSet, key: "f", ext: exp(0, 0), val: "v"}, {op: opFlush, ext: u32(100)}, {op: opGet, key: "f"}, {op: opFlushQ}, {op: opGet, key: "f"}, {op: opFlush}},
		[]string{"#1 01 0000 cas", "#2 08 0000 cas0", `#3 00 0000 cas ext=00000000 val="v"`, `#5 00 0001 cas0 val="Not found"`, "#6 08 0000 cas0"}},
	{"version", []binReq{{op: opVersion}}, []string{`#1 0b 0000 cas0 val="*"`}},
	{"stat reset and unknown group", []binReq{{op: opStat, key: "reset"}, {op: opStat, key: "nonsense"}},
		[]string{"#1 10 0000 cas0", `#2 10 0001 cas0 val="Not found"`}},
	{"value too large is read and discarded", []binReq{{op: opSet, key: "big", ext: exp(0, 0), val: "x"}, {op: opSet, key: "big", ext: exp(0, 0), val: big}, {op: opGet, key: "big"}},
		[]string{"#1 01 0000 cas", `#2 01 0003 cas0 val="Too large."`, `#3 00 0001 cas0 val="Not found"`}},
	{"too large add, replace or append keeps the old value", []binReq{{op: opSet, key: "tl", ext: exp(0, 0), val: "v"}, {op: opAdd, key: "tl", ext: exp(0, 0), val: big},
		{op: opReplace, key: "tl", ext: exp(0, 0), val: big}, {op: opAppend, key: "tl", val: big}, {op: opGet, key: "tl"}},
		[]string{"#1 01 0000 cas", `#2 02 0003 cas0 val="Too large."`, `#3 03 0003 cas0 val="Too large."`, `#4 0e 0003 cas0 val="Too large."`, `#5 00 0000 cas ext=00000000 val="v"`}},
	{"append past the item size limit", []binReq{{op: opSet, key: "apl", ext: exp(0, 0), val: big[:1048000]}, {op: opAppend, key: "apl", val: big[:1000]}},
		[]string{"#1 01 0000 cas", `#2 0e 0005 cas0 val="Not stored."`}},
	{"unknown command keeps the connection", []binReq{{op: 0x50}, {op: opNoop}}, []string{`#1 50 0081 cas0 val="Unknown command"`, "#2 0a 0000 cas0"}},
	{"quit", []binReq{{op: opQuit}, {op: opNoop}}, []string{"#1 07 0000 cas0", "<EOF>"}},
	{"quitq", []binReq{{op: opQuitQ}, {op: opNoop}}, []string{"<EOF>"}},
	{"wrong extras closes", []binReq{{op: opGet, key: "k", ext: "xxxx"}, {op: opNoop}}, []string{`#1 00 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
	{"set without extras closes", []binReq{{op: opSet, key: "k", val: "v"}, {op: opNoop}}, []string{`#1 01 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
	{"get without a key closes", []binReq{{op: opGet}, {op: opNoop}}, []string{`#1 00 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
	{"key too long closes", []binReq{{op: opGet, key: strings.Repeat("k", 251)}, {op: opNoop}}, []string{`#1 00 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
	{"key longer than the body closes", []binReq{{op: opGet, key: "k", keyLen: 5}, {op: opNoop}},
		[]string{`#1 00 0081 cas0 val="Unknown command"`, "<EOF>"}},
	{"noop with a body closes", []binReq{{op: opNoop, val: "x"}, {op: opNoop}}, []string{`#1 0a 0004 cas0 val="Invalid arguments"`, "<EOF>"}},
	{"text after binary closes", []binReq{{op: opNoop}, {raw: []byte("get k\r\n" + strings.Repeat(" ", 24))}}, []string{"#1 0a 0000 cas0", "<EOF>"}},
}

// TestBinaryConformance runs the binary-protocol cases against the agent
// and real memcached; memcached defines the right answer.
func TestBinaryConformance(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			for _, tc := range binCases {
				t.Run(tc.name, func(t *testing.T) {
					got := binExchange(t, tg.addr, tc.reqs)
					if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
						t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
					}
				})
			}
		})
	}
}

// binExchange sends reqs one at a time (each may need the cas of the
// previous answer), then a no-op, and returns the formatted responses up
// to the no-op's answer, or up to "<EOF>" when the server hangs up.
func binExchange(t *testing.T, addr string, reqs []binReq) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var got []string
	var lastCAS uint64
	for i, r := range reqs {
		if _, err := c.Write(r.encode(uint32(i+1), lastCAS)); err != nil {
			return append(got, "<EOF>")
		}
		if _, err := c.Write(binReq{op: opNoop}.encode(noopOpaque, 0)); err != nil {
			return append(got, "<EOF>")
		}
		for {
			hdr, body, err := readResp(c)
			if err != nil {
				return append(got, "<EOF>")
			}
			if hdr[1] == opNoop && binary.BigEndian.Uint32(hdr[12:]) == noopOpaque {
				break
			}
			if cas := binary.BigEndian.Uint64(hdr[16:]); cas != 0 {
				lastCAS = cas
			}
			got = append(got, fmtResp(hdr, body))
		}
	}
	return got
}

func readResp(c net.Conn) ([]byte, []byte, error) {
	hdr := make([]byte, binHdrLen)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return nil, nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[8:]))
	_, err := io.ReadFull(c, body)
	return hdr, body, err
}
