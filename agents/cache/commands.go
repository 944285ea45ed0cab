package cache

import (
	"math"
	"strconv"
)

// retrieve answers get, gets, gat and gats.
func (c *conn) retrieve(t [][]byte, withCAS, touch bool) bool {
	keys := t[1:]
	var exp int64
	if touch && len(keys) > 0 {
		e, ok := parseInt32(keys[0])
		if !ok {
			c.reply("CLIENT_ERROR invalid exptime argument\r\n")
			return true
		}
		exp = c.srv.expiry(e)
		keys = keys[1:]
	} else if len(keys) == 0 {
		c.reply("ERROR\r\n")
		return true
	}
	for _, k := range keys {
		if len(k) > maxKeyLen {
			c.reply("CLIENT_ERROR bad command line format\r\n")
			return true
		}
	}
	for _, k := range keys {
		it := &c.got
		if !c.st.get(k, touch, exp, it) {
			continue
		}
		if !withCAS {
			c.w.Write(it.data)
			continue
		}
		c.w.Write(it.data[:it.hdr])
		c.w.WriteByte(' ')
		c.w.Write(strconv.AppendUint(c.num[:0], it.cas, 10))
		c.w.Write(it.data[it.hdr:])
	}
	c.w.WriteString("END\r\n")
	return true
}

// update answers set, add, replace, append, prepend and cas. It returns
// false when the connection broke while reading the data block.
func (c *conn) update(t [][]byte, mode storeMode) bool {
	want := 5
	if mode == modeCAS {
		want = 6
	}
	if len(t) != want && len(t) != want+1 {
		c.reply("ERROR\r\n")
		return true
	}
	c.setNoreply(t)
	key := t[1]
	flags, okF := parseUint32(t[2])
	exptime, okE := parseInt32(t[3])
	vlen, okL := parseInt32(t[4])
	var cas uint64
	okC := true
	if mode == modeCAS {
		cas, okC = parseUint64(t[5])
	}
	if len(key) > maxKeyLen || !okF || !okE || !okL || !okC || vlen < 0 || vlen > math.MaxInt32-2 {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return true
	}
	if itemTotal(len(key), int(vlen)) > c.srv.cfg.MaxItemSize {
		return c.tooLarge(key, int(vlen), mode)
	}
	if !c.r.has(int(vlen) + 2) {
		return false
	}
	it := &c.put
	it.build(key, flags, int(vlen))
	it.exptime = c.srv.expiry(exptime)
	data := it.valueCRLF()
	if err := c.r.readFull(data); err != nil {
		return false
	}
	if data[len(data)-2] != '\r' || data[len(data)-1] != '\n' {
		c.reply("CLIENT_ERROR bad data chunk\r\n")
		return true
	}
	res, _ := c.st.store(mode, it, cas)
	c.reply(resultLines[res])
	return true
}

// itemTotal is memcached's size of an item (header with cas, key and its
// NUL, value and its CRLF), which -I bounds.
func itemTotal(klen, vlen int) int {
	return 56 + klen + 1 + vlen + 2
}

// tooLarge refuses an oversize value: it reads and discards the data so
// the connection stays in step, and, like memcached, a failed set also
// drops the key's old value so that no stale data outlives the write.
func (c *conn) tooLarge(key []byte, vlen int, mode storeMode) bool {
	c.srv.tooLarge.Add(1)
	k := string(key)
	if _, err := c.r.Discard(vlen + 2); err != nil {
		return false
	}
	if mode == modeSet {
		c.st.del([]byte(k), 0)
	}
	c.reply("SERVER_ERROR object too large for cache\r\n")
	return true
}

// arith answers incr and decr.
func (c *conn) arith(t [][]byte, incr bool) {
	if len(t) != 3 && len(t) != 4 {
		c.reply("ERROR\r\n")
		return
	}
	c.setNoreply(t)
	if len(t[1]) > maxKeyLen {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return
	}
	d, ok := parseUint64(t[2])
	if !ok {
		c.reply("CLIENT_ERROR invalid numeric delta argument\r\n")
		return
	}
	ctr, res := c.st.delta(t[1], incr, d, nil, 0)
	if res != resStored {
		c.reply(resultLines[res])
		return
	}
	if !c.noreply {
		c.w.Write(append(strconv.AppendUint(c.num[:0], ctr.value, 10), '\r', '\n'))
	}
}

// delete answers "delete <key> [0] [noreply]"; the 0 is an old hold time
// memcached still accepts.
func (c *conn) delete(t [][]byte) {
	if len(t) < 2 || len(t) > 4 {
		c.reply("ERROR\r\n")
		return
	}
	if len(t) > 2 {
		c.setNoreply(t)
		zero := string(t[2]) == "0"
		valid := (len(t) == 3 && (zero || c.noreply)) || (len(t) == 4 && zero && c.noreply)
		if !valid {
			c.reply("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")
			return
		}
	}
	if len(t[1]) > maxKeyLen {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return
	}
	c.reply(resultLines[c.st.del(t[1], 0)])
}

func (c *conn) touch(t [][]byte) {
	if len(t) != 3 && len(t) != 4 {
		c.reply("ERROR\r\n")
		return
	}
	c.setNoreply(t)
	if len(t[1]) > maxKeyLen {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return
	}
	e, ok := parseInt32(t[2])
	if !ok {
		c.reply("CLIENT_ERROR invalid exptime argument\r\n")
		return
	}
	c.reply(resultLines[c.st.touch(t[1], c.srv.expiry(e))])
}

// flushAll answers "flush_all [delay] [noreply]".
func (c *conn) flushAll(t [][]byte) {
	if len(t) > 3 {
		c.reply("ERROR\r\n")
		return
	}
	c.setNoreply(t)
	var delay int32
	bare := 1
	if c.noreply {
		bare = 2
	}
	if len(t) != bare {
		d, ok := parseInt32(t[1])
		if !ok {
			c.reply("CLIENT_ERROR invalid exptime argument\r\n")
			return
		}
		delay = d
	}
	c.srv.flushes.Add(1)
	if delay > 0 {
		c.st.flush(c.srv.expiry(delay))
	} else {
		c.st.flush(0)
	}
	c.reply("OK\r\n")
}

func (c *conn) verbosity(t [][]byte) {
	if len(t) != 2 && len(t) != 3 {
		c.reply("ERROR\r\n")
		return
	}
	c.setNoreply(t)
	v, ok := parseUint32(t[1])
	if !ok {
		c.reply("CLIENT_ERROR bad command line format\r\n")
		return
	}
	c.srv.verbose.Store(int32(v))
	c.reply("OK\r\n")
}
