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
	mode, flags, exptime, cas := r.setMode()
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
	it.build(r.key, flags, int(vlen))
	it.exptime = c.srv.expiry(exptime)
	data := it.valueCRLF()
	if err := c.r.readFull(data); err != nil {
		return false
	}
	if data[len(data)-2] != '\r' || data[len(data)-1] != '\n' {
		c.reply("CLIENT_ERROR bad data chunk\r\n")
		return true
	}
	res, newCAS := c.st.store(mode, it, cas)
	if res == resNoMemory {
		c.reply(resultLines[res])
		return true
	}
	if res == resStored && r.q {
		return true
	}
	b := r.appendFlags(append(c.num[:0:0], metaResults[res]...), func(b []byte, f byte) []byte {
		if f != 'c' {
			return b
		}
		if res != resStored {
			newCAS = 0 // memcached's answer when nothing was stored
		}
		return strconv.AppendUint(append(b, " c"...), newCAS, 10)
	})
	c.w.Write(append(b, '\r', '\n'))
	return true
}

// setOptions checks ms's mode (parseMeta checked the other valued flags
// and that M has one letter).
func (r *metaReq) setOptions() string {
	if m, ok := r.flag('M'); ok && !strings.ContainsRune("SsEeAaPpRr", rune(m[0])) {
		return "CLIENT_ERROR invalid mode for ms M token\r\n"
	}
	return ""
}

// setMode maps ms's flags to a storage mode and its arguments.
func (r *metaReq) setMode() (mode storeMode, flags uint32, exptime int32, cas uint64) {
	if f, ok := r.flag('F'); ok {
		flags, _ = parseUint32(f)
	}
	if tt, ok := r.flag('T'); ok {
		exptime, _ = parseInt32(tt)
	}
	m, _ := r.flag('M')
	switch {
	case len(m) == 0 || m[0] == 'S' || m[0] == 's':
		mode = modeSet
	case m[0] == 'E' || m[0] == 'e':
		mode = modeAdd
	case m[0] == 'A' || m[0] == 'a':
		mode = modeAppend
	case m[0] == 'P' || m[0] == 'p':
		mode = modePrepend
	default:
		mode = modeReplace
	}
	if cs, ok := r.flag('C'); ok {
		// As in memcached, a cas turns a set or a replace into a
		// compare-and-swap and guards an append or prepend; an add
		// ignores it.
		cas, _ = parseUint64(cs)
		if mode == modeSet || mode == modeReplace {
			mode = modeCAS
			if _, ok := r.flag('I'); ok {
				mode = modeCASStale
			}
		}
	}
	return mode, flags, exptime, cas
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
	var cas uint64
	if cs, ok := r.flag('C'); ok {
		cas, _ = parseUint64(cs) // checked by parseMeta
	}
	var res result
	if _, ok := r.flag('I'); ok {
		tt, touch := r.flag('T')
		e, _ := parseInt32(tt)
		res = c.st.invalidate(r.key, cas, touch, c.srv.expiry(e))
	} else {
		res = c.st.del(r.key, cas)
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
	var cas uint64
	if cs, ok := r.flag('C'); ok {
		cas, _ = parseUint64(cs) // checked by parseMeta
	}
	ctr, res := c.st.delta(r.key, incr, delta, viv, cas)
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
	_, withValue := r.flag('v')
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

// arithOptions reads ma's mode, delta and auto-create flags (parseMeta
// checked their values).
func (c *conn) arithOptions(r *metaReq) (incr bool, delta uint64, viv *vivify, bad string) {
	incr, delta = true, 1
	if m, ok := r.flag('M'); ok {
		switch {
		case strings.ContainsRune("Ii+", rune(m[0])):
		case strings.ContainsRune("Dd-", rune(m[0])):
			incr = false
		default:
			return false, 0, nil, "CLIENT_ERROR invalid mode for ma M token\r\n"
		}
	}
	if d, ok := r.flag('D'); ok {
		delta, _ = parseUint64(d)
	}
	if n, ok := r.flag('N'); ok {
		e, _ := parseInt32(n)
		viv = &vivify{exptime: c.srv.expiry(e)}
		if j, ok := r.flag('J'); ok {
			viv.initial, _ = parseUint64(j)
		}
	}
	return incr, delta, viv, ""
}
