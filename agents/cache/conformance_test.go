package cache

import (
	"bytes"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// An exchange sends raw protocol and expects a raw reply. "{cas}" in send
// is replaced by the cas value of the case's last gets/gats reply. When want
// ends in "<EOF>" the server must hang up; otherwise the client appends
// "mn\r\n" and reads up to "MN\r\n", so a reply is known to be complete
// (and nothing extra) without sleeping.
type exchange struct {
	send, want string
}

type conformanceCase struct {
	name  string
	steps []exchange
}

var casRe = regexp.MustCompile(`(?m)^(VALUE \S+ \d+ \d+) (\d+)\r$`)

// metaCASRe matches the c flag of a meta reply line with a CAS value
// (not c0), which differs between servers; runCase shows it as "cCAS".
var metaCASRe = regexp.MustCompile(`(?m)^((?:HD|VA \d+|NS|EX|NF|EN)(?: \S+)*?) c[1-9][0-9]*(\s)`)

var conformanceCases = []conformanceCase{
	{"set and get", []exchange{{"set k1 5 0 3\r\nabc\r\nget k1\r\n", "STORED\r\nVALUE k1 5 3\r\nabc\r\nEND\r\n"}}},
	{"get miss", []exchange{{"get nosuchkey\r\n", "END\r\n"}}},
	{"multi get keeps order and skips misses", []exchange{{"set m1 0 0 1\r\na\r\nset m2 1 0 2\r\nbb\r\nget m2 nokey m1 m2\r\n",
		"STORED\r\nSTORED\r\nVALUE m2 1 2\r\nbb\r\nVALUE m1 0 1\r\na\r\nVALUE m2 1 2\r\nbb\r\nEND\r\n"}}},
	{"gets then cas", []exchange{
		{"set c1 0 0 1\r\nx\r\ngets c1\r\n", "STORED\r\nVALUE c1 0 1 CAS\r\nx\r\nEND\r\n"},
		{"cas c1 3 0 1 {cas}\r\ny\r\ncas c1 0 0 1 {cas}\r\nz\r\nget c1\r\n", "STORED\r\nEXISTS\r\nVALUE c1 3 1\r\ny\r\nEND\r\n"},
		{"cas nokey 0 0 1 1\r\nx\r\n", "NOT_FOUND\r\n"},
	}},
	{"cas values are unique per write", []exchange{
		{"set u1 0 0 1\r\na\r\ngets u1\r\n", "STORED\r\nVALUE u1 0 1 CAS\r\na\r\nEND\r\n"},
		{"set u1 0 0 1\r\nb\r\ncas u1 0 0 1 {cas}\r\nc\r\n", "STORED\r\nEXISTS\r\n"},
	}},
	{"empty value", []exchange{{"set e1 0 0 0\r\n\r\nget e1\r\n", "STORED\r\nVALUE e1 0 0\r\n\r\nEND\r\n"}}},
	{"binary value with CRLF inside", []exchange{{"set b1 0 0 4\r\n\r\n\r\n\r\nget b1\r\n", "STORED\r\nVALUE b1 0 4\r\n\r\n\r\n\r\nEND\r\n"}}},
	{"max flags and truncated flags", []exchange{{"set f1 4294967295 0 1\r\nx\r\nset f2 4294967296 0 1\r\nx\r\nget f1 f2\r\n",
		"STORED\r\nSTORED\r\nVALUE f1 4294967295 1\r\nx\r\nVALUE f2 0 1\r\nx\r\nEND\r\n"}}},
	{"add", []exchange{{"add a1 0 0 1\r\nx\r\nadd a1 0 0 1\r\ny\r\nget a1\r\n", "STORED\r\nNOT_STORED\r\nVALUE a1 0 1\r\nx\r\nEND\r\n"}}},
	{"replace", []exchange{{"replace r1 0 0 1\r\nx\r\nset r1 0 0 1\r\nx\r\nreplace r1 7 0 1\r\ny\r\nget r1\r\n",
		"NOT_STORED\r\nSTORED\r\nSTORED\r\nVALUE r1 7 1\r\ny\r\nEND\r\n"}}},
	{"append and prepend keep flags", []exchange{{"append p1 0 0 1\r\nx\r\nset p1 9 0 1\r\nb\r\nappend p1 1 1 1\r\nc\r\nprepend p1 2 2 1\r\na\r\nget p1\r\n",
		"NOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nVALUE p1 9 3\r\nabc\r\nEND\r\n"}}},
	{"delete", []exchange{{"set d1 0 0 1\r\nx\r\ndelete d1\r\ndelete d1\r\ndelete d1 0\r\nget d1\r\n", "STORED\r\nDELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\nEND\r\n"}}},
	{"delete with a hold time", []exchange{{"delete d2 5\r\n", "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"}}},
	{"incr and decr", []exchange{{"incr i1 1\r\nset i1 0 0 2\r\n10\r\nincr i1 5\r\ndecr i1 100\r\nincr i1 18446744073709551615\r\nincr i1 2\r\n",
		"NOT_FOUND\r\nSTORED\r\n15\r\n0\r\n18446744073709551615\r\n1\r\n"}}},
	{"decr keeps length with spaces", []exchange{{"set i2 0 0 3\r\n100\r\ndecr i2 1\r\nget i2\r\nincr i2 1\r\nget i2\r\n",
		"STORED\r\n99\r\nVALUE i2 0 3\r\n99 \r\nEND\r\n100\r\nVALUE i2 0 3\r\n100\r\nEND\r\n"}}},
	{"incr grows the value", []exchange{{"set i3 5 0 1\r\n9\r\nincr i3 1\r\nget i3\r\n", "STORED\r\n10\r\nVALUE i3 5 2\r\n10\r\nEND\r\n"}}},
	{"incr wraps at 2^64", []exchange{{"set i4 0 0 20\r\n18446744073709551615\r\nincr i4 1\r\n", "STORED\r\n0\r\n"}}},
	{"incr non-numeric", []exchange{{"set i5 0 0 2\r\nab\r\nincr i5 1\r\nset i6 0 0 2\r\n-5\r\ndecr i6 1\r\nset i7 0 0 0\r\n\r\nincr i7 1\r\n",
		"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"}}},
	{"incr bad delta", []exchange{{"set i8 0 0 1\r\n1\r\nincr i8 abc\r\nincr i8 -1\r\nincr i8 +2\r\n",
		"STORED\r\nCLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\n3\r\n"}}},
	{"touch", []exchange{{"touch t1 10\r\nset t1 0 0 1\r\nx\r\ntouch t1 100\r\ntouch t1 abc\r\n", "NOT_FOUND\r\nSTORED\r\nTOUCHED\r\nCLIENT_ERROR invalid exptime argument\r\n"}}},
	{"touch with negative expiry removes", []exchange{{"set t2 0 0 1\r\nx\r\ntouch t2 -1\r\nget t2\r\n", "STORED\r\nTOUCHED\r\nEND\r\n"}}},
	{"gat and gats", []exchange{{"set g1 3 0 1\r\nx\r\ngat 100 g1 nokey\r\ngats 100 g1\r\ngat abc g1\r\ngat 0\r\n",
		"STORED\r\nVALUE g1 3 1\r\nx\r\nEND\r\nVALUE g1 3 1 CAS\r\nx\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\nEND\r\n"}}},
	{"negative exptime is expired", []exchange{{"set x1 0 -1 1\r\nx\r\nget x1\r\n", "STORED\r\nEND\r\n"}}},
	{"absolute exptime in the past", []exchange{{"set x2 0 2592001 1\r\nx\r\nget x2\r\n", "STORED\r\nEND\r\n"}}},
	{"relative exptime in range", []exchange{{"set x3 0 2592000 1\r\nx\r\nget x3\r\n", "STORED\r\nVALUE x3 0 1\r\nx\r\nEND\r\n"}}},
	{"exptime wraps at 32 bits", []exchange{{"set x4 0 4294967396 1\r\nx\r\nget x4\r\n", "STORED\r\nVALUE x4 0 1\r\nx\r\nEND\r\n"}}},
	{"noreply everywhere", []exchange{{"set n1 0 0 1 noreply\r\n1\r\nadd n1 0 0 1 noreply\r\nx\r\nreplace n1 0 0 1 noreply\r\n2\r\nappend n1 0 0 1 noreply\r\n3\r\n" +
		"prepend n1 0 0 1 noreply\r\n4\r\nincr n1 1 noreply\r\ndecr n1 2 noreply\r\ntouch n1 100 noreply\r\ncas n1 0 0 1 1 noreply\r\nx\r\n" +
		"incr n1 abc noreply\r\nget n1\r\ndelete n1 noreply\r\ndelete n1 0 noreply\r\nget n1\r\nverbosity 1 noreply\r\nflush_all 0 noreply\r\n",
		"VALUE n1 0 3\r\n422\r\nEND\r\nEND\r\n"}}},
	{"noreply hides errors", []exchange{{"set n2 0 0 1 noreply\r\nxy\r\nset n2 0 0 2000000 noreply\r\n" + strings.Repeat("z", 2000000) + "\r\n", "ERROR\r\n"}}},
	{"unknown token after value is not noreply", []exchange{{"set n3 0 0 1 garbage\r\nx\r\n", "STORED\r\n"}}},
	{"unknown command", []exchange{{"bogus\r\nSET a 0 0 1\r\n\r\n", "ERROR\r\nERROR\r\nERROR\r\n"}}},
	{"wrong token counts", []exchange{{"get\r\ngets\r\nincr\r\ntouch a\r\nset a 0 0\r\ncas a 0 0 1\r\nverbosity\r\nset n4 0 0 1 noreply extra\r\n",
		"ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n"}}},
	{"bad command line format", []exchange{{"set k 0 0 abc\r\nset k abc 0 1\r\nset k 0 abc 1\r\nset k 0 0 -1\r\nset k -1 0 1\r\nset k 18446744073709551616 0 1\r\ncas k 0 0 1 abc\r\nverbosity abc\r\n",
		strings.Repeat("CLIENT_ERROR bad command line format\r\n", 8)}}},
	{"bad data chunk keeps the connection", []exchange{{"set bd 0 0 1\r\nxy\r\nset bd 0 0 1\r\nz\r\nget bd\r\n",
		"CLIENT_ERROR bad data chunk\r\nERROR\r\nSTORED\r\nVALUE bd 0 1\r\nz\r\nEND\r\n"}}},
	{"lone LF ends a command line but not a data block", []exchange{{"set lf 0 0 1\r\nq\r\nget lf\nset lf 0 0 1\nx\nget lf\r\n",
		"STORED\r\nVALUE lf 0 1\r\nq\r\nEND\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\n"}}},
	// memcached drops replies still queued on the connection when a get
	// fails, so each too-long get goes in its own round trip.
	{"key too long", []exchange{
		{"set " + strings.Repeat("k", 251) + " 0 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n"},
		{"get " + strings.Repeat("k", 251) + "\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"get " + strings.Repeat("k", 250) + "\r\n", "END\r\n"},
		{"incr " + strings.Repeat("k", 251) + " 1\r\ntouch " + strings.Repeat("k", 251) + " 1\r\ndelete " + strings.Repeat("k", 251) + "\r\n",
			strings.Repeat("CLIENT_ERROR bad command line format\r\n", 3)},
	}},
	{"key too long in a multi get drops the whole reply", []exchange{
		{"set kl 0 0 1\r\nx\r\n", "STORED\r\n"},
		{"get kl " + strings.Repeat("k", 251) + " kl\r\n", "CLIENT_ERROR bad command line format\r\n"},
	}},
	{"control characters in keys are allowed", []exchange{{"set a\x01b 0 0 1\r\nx\r\nget a\x01b\r\n", "STORED\r\nVALUE a\x01b 0 1\r\nx\r\nEND\r\n"}}},
	{"object too large is read and discarded", []exchange{{"set big 0 0 1\r\nx\r\nset big 0 0 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nget big\r\n",
		"STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n"}}},
	{"append too large keeps the old value", []exchange{{"set big2 0 0 1\r\nx\r\nappend big2 0 0 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nget big2\r\n",
		"STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE big2 0 1\r\nx\r\nEND\r\n"}}},
	{"largest item that fits", []exchange{{"set L 0 0 1048516\r\n" + strings.Repeat("v", 1048516) + "\r\nset L 0 0 1048518\r\n" + strings.Repeat("v", 1048518) + "\r\n",
		"STORED\r\nSERVER_ERROR object too large for cache\r\n"}}},
	{"append past the item size limit", []exchange{{"set apl 0 0 1048000\r\n" + strings.Repeat("x", 1048000) + "\r\nappend apl 0 0 1000\r\n" + strings.Repeat("y", 1000) + "\r\nmg apl s\r\n",
		"STORED\r\nNOT_STORED\r\nHD s1048000\r\n"}}},
	{"value length past INT_MAX-2", []exchange{{"set k 0 0 2147483646\r\n", "CLIENT_ERROR bad command line format\r\n"}}},
	{"version and verbosity", []exchange{{"verbosity 1\r\nverbosity 1 2 3\r\n", "OK\r\nERROR\r\n"}}},
	{"flush_all", []exchange{{"set fl 0 0 1\r\nx\r\nflush_all\r\nget fl\r\nset fl 0 0 1\r\ny\r\nget fl\r\nflush_all abc\r\nflush_all 0\r\nflush_all -1\r\n",
		"STORED\r\nOK\r\nEND\r\nSTORED\r\nVALUE fl 0 1\r\ny\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\nOK\r\nOK\r\n"}}},
	{"flush_all with a delay keeps items until then", []exchange{{"set fd 0 0 1\r\nx\r\nflush_all 100\r\nget fd\r\nflush_all 0\r\nget fd\r\n",
		"STORED\r\nOK\r\nVALUE fd 0 1\r\nx\r\nEND\r\nOK\r\nEND\r\n"}}},
	{"stats reset and sizes", []exchange{{"stats reset\r\nstats sizes\r\nstats nonsense\r\n", "RESET\r\nSTAT sizes_status disabled\r\nEND\r\nERROR\r\n"}}},
	{"shutdown is refused", []exchange{{"shutdown\r\n", "ERROR: shutdown not enabled\r\n"}}},
	{"pipelined requests answered in order", []exchange{{strings.Repeat("set pp 0 0 1\r\n1\r\nincr pp 1\r\nget pp\r\n", 50),
		strings.Repeat("STORED\r\n2\r\nVALUE pp 0 1\r\n2\r\nEND\r\n", 50)}}},
	{"meta get flags", []exchange{{"ms mk 5 F3 T0\r\nhello\r\nmg mk v\r\nmg mk s f t v\r\nmg mk k v Oabc\r\nmg mk\r\nmg mk h\r\n",
		"HD\r\nVA 5\r\nhello\r\nVA 5 s5 f3 t-1\r\nhello\r\nVA 5 kmk Oabc\r\nhello\r\nHD\r\nHD h1\r\n"}}},
	{"meta get miss", []exchange{{"mg mmiss v\r\nmg mmiss v q\r\nmg mmiss v Oxy k\r\n", "EN\r\nEN Oxy kmmiss\r\n"}}},
	{"meta get touches", []exchange{{"ms mt 1 T0\r\nx\r\nmg mt t v\r\nmg mt T30 t\r\nmg mt t\r\nms mt2 1 T-1\r\nx\r\nmg mt2 v\r\n",
		"HD\r\nVA 1 t-1\r\nx\r\nHD t30\r\nHD t30\r\nHD\r\nEN\r\n"}}},
	{"meta set modes", []exchange{{"ms ms1 1\r\na\r\nms ms1 1 MA\r\nb\r\nms ms1 1 MP\r\nz\r\nmg ms1 v\r\nms ms2 1 MR\r\nx\r\nms ms2 1 ME\r\nx\r\nms ms2 1 ME\r\ny\r\nms ms2 1 q\r\nq\r\nms ms3 1 MA\r\nx\r\nmg ms2 v\r\n",
		"HD\r\nHD\r\nHD\r\nVA 3\r\nzab\r\nNS\r\nHD\r\nNS\r\nNS\r\nVA 1\r\nq\r\n"}}},
	{"meta set compare and swap", []exchange{
		{"ms mc 1\r\na\r\ngets mc\r\n", "HD\r\nVALUE mc 0 1 CAS\r\na\r\nEND\r\n"},
		{"ms mc 1 C{cas}\r\nb\r\nms mc 1 C{cas}\r\nc\r\nmg mc v\r\n", "HD\r\nEX\r\nVA 1\r\nb\r\n"},
	}},
	{"meta set errors", []exchange{{"ms mk\r\nms mk abc\r\nms mk 1 Zbad\r\nx\r\nmg mk zz\r\nms " + strings.Repeat("k", 251) + " 1\r\nx\r\nms mbd 1\r\nxy\r\n",
		"CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\n"}}},
	{"meta set too large", []exchange{{"ms mbig 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nmg mbig v\r\n", "SERVER_ERROR object too large for cache\r\nEN\r\n"}}},
	{"meta base64 keys", []exchange{{"ms b64 1 b\r\nx\r\nms Zm9v 3 b\r\nbar\r\nmg foo v\r\nmg Zm9v b v k\r\n",
		"CLIENT_ERROR error decoding key\r\nHD\r\nVA 3\r\nbar\r\nVA 3 kZm9v b\r\nbar\r\n"}}},
	{"meta flags every meta command accepts", []exchange{{"ms mi 1 f h l t u v P L\r\nx\r\nmg mi C1 D1 F1 J1 L M1 P v\r\nmd mi2 c f h l s t u v D1 F1 J1 L M1 P\r\nma mi2 f h l s u I F1 L P\r\n",
		"HD\r\nVA 1\r\nx\r\nNF\r\nNF\r\n"}}},
	{"meta flags refused", []exchange{{"mg mi E1\r\nmg mi v v\r\nms mi 1 S1\r\nx\r\nms mi 1 T1 T2\r\nx\r\nmd mi x\r\nmd mi q q\r\nma mi N0 N0\r\nmg mi v O" + strings.Repeat("o", 32) + "\r\nmd mi O" + strings.Repeat("o", 32) + "\r\n",
		"CLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\n" +
			"CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n" +
			"CLIENT_ERROR opaque token too long\r\nCLIENT_ERROR opaque token too long\r\n"}}},
	{"meta flag values", []exchange{{"mg mi Cx\r\nmg mi Dx\r\nmg mi Fx\r\nmg mi Jx\r\nmg mi MSS\r\nmg mi Nx\r\nms mi 1 Fx\r\nx\r\nms mi 1 MX\r\nx\r\nmd mi Cx\r\nma mi Dx\r\nma mi MX\r\n",
		"CLIENT_ERROR bad token in command line format\r\nCLIENT_ERROR invalid numeric delta value\r\nCLIENT_ERROR bad command line format\r\n" +
			"CLIENT_ERROR invalid numeric initial value\r\nCLIENT_ERROR incorrect length for M token\r\nCLIENT_ERROR bad token in command line format\r\n" +
			"CLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid mode for ms M token\r\n" +
			"CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid mode for ma M token\r\n"}}},
	{"meta set returns c0 when nothing was stored", []exchange{{"ms mc0 1 c MR\r\nx\r\nms mc0 1 c ME\r\nx\r\nms mc0 1 c ME\r\ny\r\n",
		"NS c0\r\nHD cCAS\r\nNS c0\r\n"}}},
	{"meta compare and swap in every mode", []exchange{
		{"ms mcs1 1 C1 MR\r\nx\r\nms mcs2 1 C1 ME\r\nx\r\nms mcs2 1 C1 MR\r\ny\r\nms mcs2 1 C1 MA\r\ny\r\nms mcs2 1 C1 ME\r\ny\r\nms mcs3 1\r\n5\r\nma mcs3 C1\r\nma mcs3 C0 v\r\ngets mcs2\r\n",
			"NF\r\nHD\r\nEX\r\nEX\r\nNS\r\nHD\r\nEX\r\nVA 1\r\n6\r\nVALUE mcs2 0 1 CAS\r\nx\r\nEND\r\n"},
		{"ms mcs2 1 C{cas} MR\r\nz\r\nmg mcs2 v\r\n", "HD\r\nVA 1\r\nz\r\n"},
	}},
	{"meta arithmetic q reports a created counter", []exchange{{"ma maq1 q N0\r\nma maq1 q\r\nma maq2 q N0 J7 v\r\nma maq3 q\r\n",
		"HD\r\nVA 1\r\n7\r\nNF\r\n"}}},
	{"meta stale-while-revalidate", []exchange{{"mg sw1 N30 v t\r\nmg sw1 N30 v t\r\nmg sw1 q\r\nget sw1\r\nms sw1 1\r\nx\r\nmg sw1 v\r\n" +
		"md sw1 I\r\nmg sw1 v\r\nmg sw1 v\r\nget sw1\r\nms sw1 1\r\ny\r\nmg sw1 v\r\n" +
		"ms sw2 1 T10\r\nx\r\nmg sw2 R30 t\r\nmg sw2 R30\r\nms sw3 1 T100\r\nx\r\nmg sw3 R30\r\n" +
		"md sw4 I\r\nms sw4 1\r\nx\r\nmd sw4 I T30 q\r\nmg sw4 t k\r\nmd sw4 I\r\nmg sw4\r\nmd sw4\r\nmg sw4\r\nmg sw5 t N30\r\nmg sw6 N30 t\r\n",
		"VA 0 t30 W\r\n\r\nVA 0 t30 Z\r\n\r\nHD Z\r\nVALUE sw1 0 0\r\n\r\nEND\r\nHD\r\nVA 1\r\nx\r\n" +
			"HD\r\nVA 1 X W\r\nx\r\nVA 1 Z X\r\nx\r\nVALUE sw1 0 1\r\nx\r\nEND\r\nHD\r\nVA 1\r\ny\r\n" +
			"HD\r\nHD t10 W\r\nHD Z\r\nHD\r\nHD\r\n" +
			"NF\r\nHD\r\nHD t30 ksw4 X W\r\nHD\r\nHD X W\r\nHD\r\nEN\r\nHD t-1 W\r\nHD t30 W\r\n"}}},
	{"meta set with an older cas and I stores a stale value", []exchange{
		{"ms si1 1\r\na\r\nms si1 1\r\nb\r\ngets si1\r\n", "HD\r\nHD\r\nVALUE si1 0 1 CAS\r\nb\r\nEND\r\n"},
		{"ms si1 1 I C1\r\nz\r\nmg si1 v\r\nmg si1 v\r\nms si1 1 C1\r\ny\r\nms si2 1 I C1\r\nx\r\nms si1 1\r\nw\r\nmg si1 v\r\n",
			"HD\r\nVA 1 X W\r\nz\r\nVA 1 Z X\r\nz\r\nEX\r\nNF\r\nHD\r\nVA 1\r\nw\r\n"},
	}},
	{"meta base64 keys skip characters outside the alphabet", []exchange{{"ms Zm9vYmF6!! 1 b k\r\nx\r\nmg foobaz v\r\nmd lk b\r\nme Zm9 b\r\n",
		"HD kZm9vYmF6 b\r\nVA 1\r\nx\r\nCLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR bad command line format\r\n"}}},
	{"meta delete", []exchange{{"ms md1 1\r\na\r\nmd md1 C1\r\nmd md1 q\r\nmd md1\r\nmd md1 q Oz\r\nmd\r\n",
		"HD\r\nEX\r\nNF\r\nNF Oz\r\nERROR\r\n"}}},
	{"meta arithmetic", []exchange{{"ma ma1\r\nma ma1 N0 J10\r\nma ma1 v\r\nma ma1 D5 v\r\nma ma1 MD D100 v\r\nma ma1 M- D1 v t\r\nms ma2 1\r\nx\r\nma ma2\r\nma ma1 q\r\nma ma1 MI D3 v q\r\nmg ma1 v\r\nma\r\n",
		"NF\r\nHD\r\nVA 2\r\n11\r\nVA 2\r\n16\r\nVA 1\r\n0\r\nVA 1 t-1\r\n0\r\nHD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nVA 2\r\n4 \r\nERROR\r\n"}}},
	{"meta debug", []exchange{{"me nokey\r\n", "EN\r\n"}}},
	{"quit closes", []exchange{{"version\r\nquit\r\nget a\r\n", "VERSION *\r\n<EOF>"}}},
	{"HTTP request closes", []exchange{{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "<EOF>"}}},
	{"HTTP-less GET is an error", []exchange{{"GET /\r\n", "ERROR\r\n"}}},
	{"line too long without newline closes", []exchange{{strings.Repeat("x", 5000), "<EOF>"}}},
	{"long multi get", []exchange{{"set lg 0 0 1\r\nx\r\nget" + strings.Repeat(" nokey", 2000) + " lg\r\n", "STORED\r\nVALUE lg 0 1\r\nx\r\nEND\r\n"}}},
}

// TestConformance runs the same raw protocol exchanges against the agent
// and against real memcached; memcached defines the right answer.
func TestConformance(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					runCase(t, tg.addr, tc)
				})
			}
		})
	}
}

func runCase(t *testing.T, addr string, tc conformanceCase) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	lastCAS := ""
	for i, step := range tc.steps {
		send := strings.ReplaceAll(step.send, "{cas}", lastCAS)
		got := roundTrip(t, c, send, strings.HasSuffix(step.want, "<EOF>"))
		if m := casRe.FindAllStringSubmatch(got, -1); len(m) > 0 {
			lastCAS = m[len(m)-1][2]
		}
		got = casRe.ReplaceAllString(got, "$1 CAS\r")
		got = metaCASRe.ReplaceAllString(got, "$1 cCAS$2")
		got = regexp.MustCompile(`VERSION \S+`).ReplaceAllString(got, "VERSION *")
		if got != step.want {
			t.Errorf("step %d: sent %q\ngot  %q\nwant %q", i, abbrev(send), abbrev(got), abbrev(step.want))
		}
	}
}

// roundTrip writes send (plus "mn\r\n" unless the server is to hang up)
// and returns the reply without the trailing "MN\r\n"; a hang-up is
// shown as "<EOF>".
func roundTrip(t *testing.T, c net.Conn, send string, closes bool) string {
	t.Helper()
	if !closes {
		send += "mn\r\n"
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	werr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, send)
		werr <- err
	}()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if !closes && bytes.HasSuffix(got.Bytes(), []byte("MN\r\n")) {
			got.Truncate(got.Len() - 4)
			break
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("no complete reply within 10s; got %q", abbrev(got.String()))
			}
			got.WriteString("<EOF>")
			break
		}
	}
	if err := <-werr; err != nil && !closes {
		t.Fatalf("write: %v", err)
	}
	return got.String()
}

func abbrev(s string) string {
	if len(s) > 600 {
		return s[:300] + "..." + s[len(s)-300:]
	}
	return s
}
