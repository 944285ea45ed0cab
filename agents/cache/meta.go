package cache

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// metaKnown are the flags of memcached 1.6's shared meta flag pass: mg,
// ms, md and ma all accept every one of them, and each gives meaning to
// some and ignores the rest. Anything else is an invalid flag, and so is
// a flag given twice.
const metaKnown = "bcfhklqstuvCDFIJLMNOPRT"

// maxOpaque is the longest O token, the O included.
const maxOpaque = 32

// metaReq is a parsed meta command: its key, its flag tokens and the
// values of its valued flags, each parsed once by parseMeta.
type metaReq struct {
	key    []byte // decoded key
	rawKey []byte // key as sent (base64 when b is set)
	b      bool
	q      bool
	flags  [][]byte
	set    uint64 // flags present, one bit per letter (flagBit)

	cas            uint64 // C
	delta, initial uint64 // D, J
	clientFlags    uint32 // F
	ttl            int32  // T
	vivify         int32  // N
	recache        int32  // R
	mode           byte   // M
}

// flagBit is flag letter c's bit in metaReq.set.
func flagBit(c byte) uint64 {
	if c >= 'a' {
		return 1 << (c - 'a' + 26)
	}
	return 1 << (c - 'A')
}

// has reports whether flag c was given.
func (r *metaReq) has(c byte) bool { return r.set&flagBit(c) != 0 }

// parseMeta checks the key and flags of mg, ms, md or ma as memcached
// does: the key's length first, then every flag and the value of each
// valued flag, then a base64 key, then the opaque's length. On failure it
// returns the error line to send; md and ma (generic) answer every flag
// error with the same line, mg and ms say what was wrong. keyErr reports
// that the key itself was refused (ms then reads no data block).
func parseMeta(key []byte, flags [][]byte, generic bool) (r metaReq, bad string, keyErr bool) {
	r = metaReq{key: key, rawKey: key, flags: flags}
	if len(key) > maxKeyLen {
		return r, "CLIENT_ERROR bad command line format\r\n", true
	}
	fail := func(msg string) (metaReq, string, bool) {
		if generic {
			return r, "CLIENT_ERROR invalid or duplicate flag\r\n", false
		}
		return r, "CLIENT_ERROR " + msg + "\r\n", false
	}
	for _, f := range flags {
		c := f[0]
		if c >= 128 || !strings.ContainsRune(metaKnown, rune(c)) {
			return fail("invalid flag")
		}
		if r.has(c) {
			return fail("duplicate flag")
		}
		r.set |= flagBit(c)
		arg := f[1:]
		ok := true
		switch c {
		case 'b':
			r.b = true
		case 'q':
			r.q = true
		case 'C':
			r.cas, ok = parseUint64(arg)
		case 'D':
			if r.delta, ok = parseUint64(arg); !ok {
				return fail("invalid numeric delta value")
			}
		case 'F':
			if r.clientFlags, ok = parseUint32(arg); !ok {
				return fail("bad command line format")
			}
		case 'J':
			if r.initial, ok = parseUint64(arg); !ok {
				return fail("invalid numeric initial value")
			}
		case 'M':
			if len(arg) != 1 {
				return fail("incorrect length for M token")
			}
			r.mode = arg[0]
		case 'N':
			r.vivify, ok = parseInt32(arg)
		case 'R':
			r.recache, ok = parseInt32(arg)
		case 'T':
			r.ttl, ok = parseInt32(arg)
		}
		if !ok {
			return fail("bad token in command line format")
		}
	}
	if r.b {
		dec, err := decodeKey(key)
		if err != nil {
			return fail("error decoding key")
		}
		r.key = dec
	}
	if len(r.key) == 0 {
		return r, "CLIENT_ERROR bad command line format\r\n", true
	}
	for _, f := range flags {
		if f[0] == 'O' && len(f) > maxOpaque {
			return r, "CLIENT_ERROR opaque token too long\r\n", false
		}
	}
	return r, "", false
}

// decodeKey decodes a base64 key (the b flag) as memcached does, which
// skips characters outside the alphabet.
func decodeKey(key []byte) ([]byte, error) {
	clean := make([]byte, 0, len(key))
	for _, c := range key {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
			clean = append(clean, c)
		}
	}
	return base64.StdEncoding.DecodeString(string(clean))
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

// appendEcho appends the O (opaque) and k (key) return flags, which every
// meta reply carries when asked for; other returned flags go through fn.
func (r *metaReq) appendFlags(b []byte, fn func(b []byte, f byte) []byte) []byte {
	for _, tok := range r.flags {
		switch tok[0] {
		case 'O':
			b = append(append(b, " O"...), tok[1:]...)
		case 'k':
			b = append(b, " k"...)
			if r.b {
				// memcached encodes the key it decoded, which drops
				// characters outside the alphabet.
				b = append(base64.StdEncoding.AppendEncode(b, r.key), " b"...)
			} else {
				b = append(b, r.rawKey...)
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
	r, bad, _ := parseMeta(t[1], t[2:], false)
	if bad != "" {
		c.reply(bad)
		return
	}
	o := metaGetOpts{touch: r.has('T'), vivify: r.has('N'), recache: r.has('R'), recacheLeft: int64(r.recache)}
	if o.touch {
		o.exptime = c.srv.expiry(r.ttl)
	}
	if o.vivify {
		o.vivifyExp = c.srv.expiry(r.vivify)
	}
	snap, hit := c.st.metaGet(r.key, o, &c.got)
	if !hit {
		if !r.q {
			c.w.Write(append(r.appendFlags(append(c.num[:0:0], "EN"...), nil), '\r', '\n'))
		}
		return
	}
	now := c.st.now()
	withValue := r.has('v')
	val := snap.it.value()
	var b []byte
	if withValue {
		b = strconv.AppendInt(append(b, "VA "...), int64(len(val)), 10)
	} else {
		b = append(b, "HD"...)
	}
	vivified := false // memcached sets a created item's expiry at its N flag
	b = r.appendFlags(b, func(b []byte, f byte) []byte {
		switch f {
		case 'N':
			vivified = true
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
			if snap.created && !vivified {
				return appendTTL(b, 0, now)
			}
			return appendTTL(b, snap.exptime, now)
		}
		return b
	})
	// Stale-while-revalidate, in memcached's order: Z (another client
	// is recaching), X (stale), W (this client should recache).
	if snap.sent {
		b = append(b, " Z"...)
	}
	if snap.stale {
		b = append(b, " X"...)
	}
	if snap.won {
		b = append(b, " W"...)
	}
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

// metaDebug answers "me <key> [b]" with the item's metadata, in
// memcached's format (all items are in one class here). Like memcached,
// it looks at no flag but b.
func (c *conn) metaDebug(t [][]byte) {
	if len(t) < 2 {
		c.reply("ERROR\r\n")
		return
	}
	r := metaReq{key: t[1], rawKey: t[1]}
	for _, f := range t[2:] {
		r.b = r.b || f[0] == 'b'
	}
	if r.b {
		dec, err := decodeKey(r.key)
		if err != nil {
			c.reply("CLIENT_ERROR bad command line format\r\n")
			return
		}
		r.key = dec
	}
	if len(r.key) > maxKeyLen || len(r.key) == 0 {
		c.reply("CLIENT_ERROR bad command line format\r\n")
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
