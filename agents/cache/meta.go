package cache

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Flags each meta command accepts (memcached 1.6's sets). Accepted flags
// this server gives no meaning (stale-while-revalidate's I, R, N on mg,
// E's explicit cas) are ignored rather than refused.
const (
	mgFlags = "bcfhklOqstuvENRT"
	msFlags = "bcCEFIkOqsSTMN"
	mdFlags = "bCEIkOqTx"
	maFlags = "bCENJDTMOqtcvk"
)

// metaReq is a parsed meta command: its key and flag tokens.
type metaReq struct {
	key    []byte // decoded key
	rawKey []byte // key as sent (base64 when b is set)
	b      bool
	q      bool
	flags  [][]byte
}

// parseMeta checks the key and flags of a meta command. On failure it
// returns the error line to send.
func parseMeta(key []byte, flags [][]byte, valid string) (metaReq, string) {
	r := metaReq{key: key, rawKey: key, flags: flags}
	for _, f := range flags {
		if !strings.ContainsRune(valid, rune(f[0])) {
			return r, "CLIENT_ERROR invalid flag\r\n"
		}
		switch f[0] {
		case 'b':
			r.b = true
		case 'q':
			r.q = true
		}
	}
	if r.b {
		dec, err := base64.StdEncoding.DecodeString(string(key))
		if err != nil {
			return r, "CLIENT_ERROR error decoding key\r\n"
		}
		r.key = dec
	}
	if len(r.key) > maxKeyLen || len(r.key) == 0 {
		return r, "CLIENT_ERROR bad command line format\r\n"
	}
	return r, ""
}

// detach copies the request's raw key and flags out of the read buffer.
func (r *metaReq) detach() {
	n := len(r.rawKey)
	for _, f := range r.flags {
		n += len(f)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, r.rawKey...)
	r.rawKey = buf[:len(r.rawKey):len(r.rawKey)]
	flags := make([][]byte, len(r.flags))
	for i, f := range r.flags {
		start := len(buf)
		buf = append(buf, f...)
		flags[i] = buf[start:len(buf):len(buf)]
	}
	r.flags = flags
}

// flag returns the argument of the last flag f, if present.
func (r *metaReq) flag(f byte) ([]byte, bool) {
	var arg []byte
	found := false
	for _, tok := range r.flags {
		if tok[0] == f {
			arg, found = tok[1:], true
		}
	}
	return arg, found
}

// appendEcho appends the O (opaque) and k (key) return flags, which every
// meta reply carries when asked for; other returned flags go through fn.
func (r *metaReq) appendFlags(b []byte, fn func(b []byte, f byte) []byte) []byte {
	for _, tok := range r.flags {
		switch tok[0] {
		case 'O':
			b = append(append(b, " O"...), tok[1:]...)
		case 'k':
			b = append(append(b, " k"...), r.rawKey...)
			if r.b {
				b = append(b, " b"...)
			}
		default:
			if fn != nil {
				b = fn(b, tok[0])
			}
		}
	}
	return b
}

// metaGet answers "mg <key> <flags>*".
func (c *conn) metaGet(t [][]byte) {
	if len(t) < 2 {
		c.reply("ERROR\r\n")
		return
	}
	r, bad := parseMeta(t[1], t[2:], mgFlags)
	if bad != "" {
		c.reply(bad)
		return
	}
	var exp int64
	ttlArg, touch := r.flag('T')
	if touch {
		e, ok := parseInt32(ttlArg)
		if !ok {
			c.reply("CLIENT_ERROR bad token in command line format\r\n")
			return
		}
		exp = c.srv.expiry(e)
	}
	snap, hit := c.st.metaGet(r.key, touch, exp, &c.got)
	if !hit {
		if !r.q {
			c.w.Write(append(r.appendFlags(append(c.num[:0:0], "EN"...), nil), '\r', '\n'))
		}
		return
	}
	now := c.st.now()
	_, withValue := r.flag('v')
	val := snap.it.value()
	var b []byte
	if withValue {
		b = strconv.AppendInt(append(b, "VA "...), int64(len(val)), 10)
	} else {
		b = append(b, "HD"...)
	}
	b = r.appendFlags(b, func(b []byte, f byte) []byte {
		switch f {
		case 'c':
			return strconv.AppendUint(append(b, " c"...), snap.cas, 10)
		case 'f':
			return strconv.AppendUint(append(b, " f"...), uint64(snap.it.flags), 10)
		case 'h':
			if snap.fetched {
				return append(b, " h1"...)
			}
			return append(b, " h0"...)
		case 'l':
			return strconv.AppendInt(append(b, " l"...), snap.lastAccess, 10)
		case 's':
			return strconv.AppendInt(append(b, " s"...), int64(len(val)), 10)
		case 't':
			return appendTTL(b, snap.exptime, now)
		}
		return b
	})
	b = append(b, '\r', '\n')
	c.w.Write(b)
	if withValue {
		c.w.Write(snap.it.valueCRLF())
	}
}

// appendTTL appends " t<seconds left>", -1 for an item that never expires.
func appendTTL(b []byte, exptime, now int64) []byte {
	if exptime == 0 {
		return append(b, " t-1"...)
	}
	return strconv.AppendInt(append(b, " t"...), exptime-now, 10)
}

// metaDebug answers "me <key>" with the item's metadata, in memcached's
// format (all items are in one class here).
func (c *conn) metaDebug(t [][]byte) {
	if len(t) < 2 {
		c.reply("ERROR\r\n")
		return
	}
	r, bad := parseMeta(t[1], t[2:], "b")
	if bad != "" {
		c.reply(bad)
		return
	}
	snap, hit := c.st.peek(r.key)
	if !hit {
		c.reply("EN\r\n")
		return
	}
	exp := int64(-1)
	if snap.exptime != 0 {
		exp = snap.exptime - c.st.now()
	}
	fetch := "no"
	if snap.fetched {
		fetch = "yes"
	}
	c.reply(fmt.Sprintf("ME %s exp=%d la=%d cas=%d fetch=%s cls=1 size=%d\r\n",
		r.rawKey, exp, snap.lastAccess, snap.cas, fetch, snap.it.size))
}
