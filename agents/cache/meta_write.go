package cache

import (
	"strconv"
	"strings"
)

// metaResults are the meta protocol's two-letter replies for each result.
var metaResults = [...]string{
	resStored:    "HD",
	resNotStored: "NS",
	resExists:    "EX",
	resNotFound:  "NF",
	resDeleted:   "HD",
}

// metaSet answers "ms <key> <datalen> <flags>*" and its data block. It
// returns false when the connection broke while reading the data.
func (c *conn) metaSet(t [][]byte) bool {
	if len(t) < 3 {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return true
	}
	vlen, ok := parseInt32(t[2])
	if !ok || vlen < 0 || vlen > 1<<31-3 {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return true
	}
	r, bad, keyErr := parseMeta(t[1], t[3:], false)
	if bad == "" {
		bad = r.setOptions()
	}
	if bad != "" {
		// memcached reads past the data block of an ms it refuses,
		// unless it refused the key itself.
		if !keyErr {
			if _, err := c.r.Discard(int(vlen) + 2); err != nil {
				return false
			}
		}
		c.reply(bad)
		return true
	}
	mode := r.setMode()
	// The key and flags point into the read buffer, which reading the
	// data block reuses: keep copies for the reply.
	r.detach()
	if itemTotal(len(r.key), int(vlen)) > c.srv.cfg.MaxItemSize {
		c.noreply = false
		return c.tooLarge(r.key, int(vlen), mode)
	}
	if !c.r.has(int(vlen) + 2) {
		return false
	}
	it := &c.put
	it.build(r.key, r.clientFlags, int(vlen))
	it.exptime = c.srv.expiry(r.ttl)
	data := it.valueCRLF()
	if err := c.r.readFull(data); err != nil {
		return false
	}
	if data[len(data)-2] != '\r' || data[len(data)-1] != '\n' {
		c.reply("CLIENT_ERROR bad data chunk\r\n")
		return true
	}
	res, newCAS := c.st.store(mode, it, r.cas)
	if res == resNoMemory {
		c.reply(resultLines[res])
		return true
	}
	if res == resStored && r.q {
		return true
	}
	// newCAS is 0 when nothing was stored, which memcached's c reports.
	b := r.appendFlags(append(c.num[:0:0], metaResults[res]...), func(b []byte, f byte) []byte {
		if f != 'c' {
			return b
		}
		return strconv.AppendUint(append(b, " c"...), newCAS, 10)
	})
	c.w.Write(append(b, '\r', '\n'))
	return true
}

// setOptions checks ms's mode (parseMeta checked the other valued flags
// and that M has one letter).
func (r *metaReq) setOptions() string {
	if r.has('M') && !strings.ContainsRune("SsEeAaPpRr", rune(r.mode)) {
		return "CLIENT_ERROR invalid mode for ms M token\r\n"
	}
	return ""
}

// setMode maps ms's flags to a storage mode.
func (r *metaReq) setMode() storeMode {
	mode := modeSet
	switch r.mode {
	case 'E', 'e':
		mode = modeAdd
	case 'A', 'a':
		mode = modeAppend
	case 'P', 'p':
		mode = modePrepend
	case 'R', 'r':
		mode = modeReplace
	}
	// As in memcached, a cas turns a set or a replace into a
	// compare-and-swap (with I, an older cas stores a stale value) and
	// guards an append or prepend; an add ignores it.
	if r.has('C') && (mode == modeSet || mode == modeReplace) {
		mode = modeCAS
		if r.has('I') {
			mode = modeCASStale
		}
	}
	return mode
}

// metaDelete answers "md <key> <flags>*": it deletes the item, or with I
// marks it stale (stale-while-revalidate).
func (c *conn) metaDelete(t [][]byte) {
	if len(t) < 2 {
		c.reply("ERROR\r\n")
		return
	}
	r, bad, _ := parseMeta(t[1], t[2:], true)
	if bad != "" {
		c.reply(bad)
		return
	}
	var res result
	if r.has('I') {
		res = c.st.invalidate(r.key, r.cas, r.has('T'), c.srv.expiry(r.ttl))
	} else {
		res = c.st.del(r.key, r.cas)
	}
	if res == resDeleted && r.q {
		return
	}
	c.w.Write(append(r.appendFlags(append(c.num[:0:0], metaResults[res]...), nil), '\r', '\n'))
}

// metaArith answers "ma <key> <flags>*": incr or decr with optional
// creation of a missing counter.
func (c *conn) metaArith(t [][]byte) {
	if len(t) < 2 {
		c.reply("ERROR\r\n")
		return
	}
	r, bad, _ := parseMeta(t[1], t[2:], true)
	if bad != "" {
		c.reply(bad)
		return
	}
	incr, delta, viv, bad := c.arithOptions(&r)
	if bad != "" {
		c.reply(bad)
		return
	}
	ctr, res := c.st.delta(r.key, incr, delta, viv, r.cas)
	if res == resNonNumeric || res == resNoMemory {
		c.reply(resultLines[res])
		return
	}
	if res != resStored {
		c.w.Write(append(r.appendFlags(append(c.num[:0:0], metaResults[res]...), nil), '\r', '\n'))
		return
	}
	if r.q && !ctr.created {
		return // memcached's q still reports a counter that N created
	}
	num := strconv.AppendUint(nil, ctr.value, 10)
	withValue := r.has('v')
	var b []byte
	if withValue {
		b = strconv.AppendInt(append(b, "VA "...), int64(len(num)), 10)
	} else {
		b = append(b, "HD"...)
	}
	now := c.st.now()
	b = r.appendFlags(b, func(b []byte, f byte) []byte {
		switch f {
		case 't':
			return appendTTL(b, ctr.exptime, now)
		case 'c':
			return strconv.AppendUint(append(b, " c"...), ctr.cas, 10)
		}
		return b
	})
	b = append(b, '\r', '\n')
	if withValue {
		b = append(append(b, num...), '\r', '\n')
	}
	c.w.Write(b)
}

// arithOptions reads ma's mode, delta and auto-create flags.
func (c *conn) arithOptions(r *metaReq) (incr bool, delta uint64, viv *vivify, bad string) {
	incr, delta = true, 1
	switch {
	case !r.has('M') || strings.ContainsRune("Ii+", rune(r.mode)):
	case strings.ContainsRune("Dd-", rune(r.mode)):
		incr = false
	default:
		return false, 0, nil, "CLIENT_ERROR invalid mode for ma M token\r\n"
	}
	if r.has('D') {
		delta = r.delta
	}
	if r.has('N') {
		viv = &vivify{exptime: c.srv.expiry(r.vivify), initial: r.initial}
	}
	return incr, delta, viv, ""
}
