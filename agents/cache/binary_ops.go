package cache

import (
	"bytes"
	"encoding/binary"
)

// binNoCreate in an increment's expiration asks not to create a missing
// counter.
const binNoCreate = 0xffffffff

// binGet answers get, getk, touch, gat and gatk (and their quiet forms,
// which say nothing on a miss). A hit carries the flags as extras.
func (c *conn) binGet(r *binRequest) {
	touch := r.base == opTouch || r.base == opGAT || r.base == opGATK
	var exp int64
	if touch {
		exp = c.srv.expiryAt(int64(binary.BigEndian.Uint32(r.extras)))
	}
	withKey := r.base == opGetK || r.base == opGATK
	it := &c.got
	var hit bool
	if r.base == opTouch {
		hit = c.st.touchItem(r.key, exp, it) // a touch is no get in the stats
	} else {
		hit = c.st.get(r.key, touch, exp, it)
	}
	if !hit {
		switch {
		case r.quiet:
		case withKey:
			c.binRespond(r.binHeader, stNotFound, 0, nil, r.key, nil)
		default:
			c.binError(r.binHeader, stNotFound)
		}
		return
	}
	flags := c.binExt[:4]
	binary.BigEndian.PutUint32(flags, it.flags)
	var key, value []byte
	if withKey {
		key = r.key
	}
	if r.base != opTouch {
		value = it.value()
	}
	c.binRespond(r.binHeader, stOK, it.cas, flags, key, value)
}

// binStore answers set, add, replace, append and prepend. A non-zero cas
// turns set, add and replace into a compare-and-swap, as in memcached.
// It returns false when the connection broke while reading the value.
func (c *conn) binStore(r *binRequest) bool {
	var flags uint32
	var exp int64
	if len(r.extras) == 8 {
		flags = binary.BigEndian.Uint32(r.extras)
		exp = c.srv.expiryAt(int64(binary.BigEndian.Uint32(r.extras[4:])))
	}
	if itemTotal(len(r.key), r.valueLen) > c.srv.cfg.MaxItemSize {
		c.srv.tooLarge.Add(1)
		if _, err := c.r.Discard(r.valueLen); err != nil {
			return false
		}
		if r.base == opSet {
			c.st.del(r.key, 0) // no stale value outlives a failed set
		}
		c.binError(r.binHeader, stTooLarge)
		return true
	}
	if !c.r.has(r.valueLen) {
		return false
	}
	it := &c.put
	it.build(r.key, flags, r.valueLen)
	it.exptime = exp
	if err := c.r.readFull(it.value()); err != nil {
		return false
	}
	mode := binMode(r.base)
	if r.cas != 0 && mode <= modeReplace {
		mode = modeCAS
	}
	res, cas := c.st.store(mode, it, r.cas)
	if res == resNotStored {
		// memcached reports a failed add as "exists" and a failed
		// replace as "not found".
		switch r.base {
		case opAdd:
			res = resExists
		case opReplace:
			res = resNotFound
		}
	}
	c.binStatus(r, res, cas)
	return true
}

// binMode is the store mode of a binary storage opcode.
func binMode(op byte) storeMode {
	switch op {
	case opAdd:
		return modeAdd
	case opReplace:
		return modeReplace
	case opAppend:
		return modeAppend
	case opPrepend:
		return modePrepend
	}
	return modeSet
}

var binStatuses = [...]uint16{
	resStored:     stOK,
	resNotStored:  stNotStored,
	resExists:     stExists,
	resNotFound:   stNotFound,
	resDeleted:    stOK,
	resTouched:    stOK,
	resNonNumeric: stNonNumeric,
	resNoMemory:   stOutOfMemory,
}

// binStatus answers a mutation: success is silent for quiet requests,
// errors never are.
func (c *conn) binStatus(r *binRequest, res result, cas uint64) {
	st := binStatuses[res]
	if st != stOK {
		c.binError(r.binHeader, st)
		return
	}
	if !r.quiet {
		c.binRespond(r.binHeader, stOK, cas, nil, nil, nil)
	}
}

// binDelta answers increment and decrement; extras are the delta, the
// initial value and the expiration of a counter to create when missing.
func (c *conn) binDelta(r *binRequest) {
	d := binary.BigEndian.Uint64(r.extras)
	var viv *vivify
	if e := binary.BigEndian.Uint32(r.extras[16:]); e != binNoCreate {
		viv = &vivify{initial: binary.BigEndian.Uint64(r.extras[8:]), exptime: c.srv.expiryAt(int64(e))}
	}
	ctr, res := c.st.delta(r.key, r.base == opIncrement, d, viv, r.cas)
	if res != resStored {
		c.binStatus(r, res, 0)
		return
	}
	if !r.quiet {
		v := c.binExt[:8]
		binary.BigEndian.PutUint64(v, ctr.value)
		c.binRespond(r.binHeader, stOK, ctr.cas, nil, nil, v)
	}
}

// binFlush answers flush, with an optional delay in the extras.
func (c *conn) binFlush(r *binRequest) {
	var delay uint32
	if len(r.extras) == 4 {
		delay = binary.BigEndian.Uint32(r.extras)
	}
	c.srv.flushes.Add(1)
	if delay > 0 {
		c.st.flush(c.srv.expiryAt(int64(delay)))
	} else {
		c.st.flush(0)
	}
	if !r.quiet {
		c.binRespond(r.binHeader, stOK, 0, nil, nil, nil)
	}
}

// binStats answers stat: one response per statistic, its name as key and
// its value as value, then one with neither. The key picks a group as the
// text protocol's "stats <group>" does.
func (c *conn) binStats(r *binRequest) {
	var text []byte
	switch string(r.key) {
	case "":
		text = c.srv.generalStats()
	case "settings":
		text = c.srv.settingsStats()
	case "items":
		text = c.srv.itemStats()
	case "slabs":
		text = c.srv.slabStats()
	case "sizes":
		text = []byte("STAT sizes_status disabled\r\n")
	case "reset":
		c.srv.resetStats()
	default:
		c.binError(r.binHeader, stNotFound)
		return
	}
	for _, line := range bytes.Split(text, []byte("\r\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("STAT "))
		if !ok {
			continue
		}
		name, value, _ := bytes.Cut(rest, []byte(" "))
		c.binRespond(r.binHeader, stOK, 0, nil, name, value)
	}
	c.binRespond(r.binHeader, stOK, 0, nil, nil, nil)
}
