package cache

import (
	"strconv"
	"time"
)

// Storage modes of the text protocol's storage commands.
type storeMode uint8

const (
	modeSet storeMode = iota
	modeAdd
	modeReplace
	modeAppend
	modePrepend
	modeCAS
	// modeCASStale is ms's C with I: a cas older than the item's still
	// stores the value, marked stale (stale-while-revalidate).
	modeCASStale
)

// Outcomes of storage, delete and touch commands, named by their reply.
type result uint8

const (
	resStored result = iota
	resNotStored
	resExists
	resNotFound
	resDeleted
	resTouched
	resNonNumeric
	resNoMemory
)

var resultLines = [...]string{
	resStored:     "STORED\r\n",
	resNotStored:  "NOT_STORED\r\n",
	resExists:     "EXISTS\r\n",
	resNotFound:   "NOT_FOUND\r\n",
	resDeleted:    "DELETED\r\n",
	resTouched:    "TOUCHED\r\n",
	resNonNumeric: "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
	resNoMemory:   "SERVER_ERROR out of memory storing object\r\n",
}

// load copies the record at off (header h) into dst, reusing its buffer.
func (s *store) load(sh *shard, off uint64, h *recHeader, dst *item) {
	n := int(h.hlen) + int(h.vlen) + 2
	dst.data = grown(dst.data, n)
	s.copyOut(sh, off+uint64(recHdrLen), dst.data)
	dst.klen, dst.hdr = int32(h.klen), int32(h.hlen)-2
	dst.flags, dst.exptime, dst.time, dst.cas = h.flags, h.exptime, h.time, h.cas
	dst.atime, dst.size, dst.fetched = h.atime, int64(h.size), h.state&recFetched != 0
}

// get copies the live item for key into dst, touching its expiry first
// when touch is set (gat). It reports false on a miss.
func (s *store) get(key []byte, touch bool, exptime int64, dst *item) bool {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	sh.st.cmdGet++
	if touch {
		sh.st.cmdTouch++
	}
	off, h, why := s.lookupState(sh, key, kh, now)
	if h == nil {
		sh.countMiss(why)
		if touch {
			sh.st.touchMisses++
		}
		sh.mu.Unlock()
		return false
	}
	sh.st.getHits++
	if touch {
		sh.st.touchHits++
		h.exptime = exptime
	}
	h.state |= recFetched
	off, h = s.bump(sh, kh, off, h)
	s.load(sh, off, h, dst)
	sh.mu.Unlock()
	return true
}

// store publishes it (whose value the caller has filled in) under mode.
// For modeCAS and modeCASStale, cas is the unique value the client last
// saw; a non-zero cas also guards an append or prepend. It returns the
// outcome and, when stored, the new item's cas value.
func (s *store) store(mode storeMode, it *item, cas uint64) (result, uint64) {
	key := it.keyBytes()
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	it.time = now
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdSet++
	off, old := s.lookup(sh, key, kh, now)
	res, stale := resStored, false
	switch mode {
	case modeAdd:
		if old != nil {
			s.bump(sh, kh, off, old)
			res = resNotStored
		}
	case modeReplace:
		if old == nil {
			res = resNotStored
		}
	case modeAppend, modePrepend:
		switch {
		case old == nil || itemTotal(len(key), int(old.vlen)+len(it.value())) > s.maxItem:
			// memcached refuses an append that outgrows -I the same way.
			res = resNotStored
		case cas != 0 && old.cas != cas:
			// Only the binary protocol sends a cas with an append.
			res = resExists
		default:
			var cur item
			s.load(sh, off, old, &cur)
			it = joined(&cur, it, mode == modeAppend)
			it.time = now
		}
	case modeCAS, modeCASStale:
		switch {
		case old == nil:
			sh.st.casMisses++
			res = resNotFound
		case old.cas == cas:
			sh.st.casHits++
		case mode == modeCASStale && cas < old.cas:
			sh.st.casHits++
			stale = true
		default:
			sh.st.casBadval++
			res = resExists
		}
	}
	if res != resStored {
		return res, 0
	}
	h := s.put(sh, kh, it)
	if h == nil {
		return resNoMemory, 0
	}
	if stale {
		h.state |= recStale
	}
	return resStored, it.cas
}

// joined builds the item for an append or prepend of add to old, keeping
// old's flags and expiry as memcached does.
func joined(old, add *item, atEnd bool) *item {
	ov, av := old.value(), add.value()
	it := newItem(old.keyBytes(), old.flags, len(ov)+len(av))
	v := it.value()
	if atEnd {
		copy(v[copy(v, ov):], av)
	} else {
		copy(v[copy(v, av):], ov)
	}
	it.exptime = old.exptime
	return it
}

// del deletes key; the reply is DELETED or NOT_FOUND, or EXISTS when cas
// is not zero and differs from the item's.
func (s *store) del(key []byte, cas uint64) result {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, h := s.lookup(sh, key, kh, now)
	if h == nil {
		sh.st.deleteMisses++
		return resNotFound
	}
	if cas != 0 && h.cas != cas {
		return resExists
	}
	sh.st.deleteHits++
	s.unlink(sh, kh, h)
	return resDeleted
}

// touch sets a new expiry on key; the reply is TOUCHED or NOT_FOUND.
func (s *store) touch(key []byte, exptime int64) result {
	var it item
	if !s.touchItem(key, exptime, &it) {
		return resNotFound
	}
	return resTouched
}

// touchItem is touch copying the touched item into dst (whose flags and
// cas the binary protocol's touch reports); false when missing.
func (s *store) touchItem(key []byte, exptime int64, dst *item) bool {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdTouch++
	off, h := s.lookup(sh, key, kh, now)
	if h == nil {
		sh.st.touchMisses++
		return false
	}
	sh.st.touchHits++
	h.exptime = exptime
	off, h = s.bump(sh, kh, off, h)
	s.load(sh, off, h, dst)
	return true
}

// vivify asks delta to create a missing counter (meta "ma N<ttl>").
type vivify struct {
	initial uint64
	exptime int64
}

// counter is what delta reports about the item it changed or created.
type counter struct {
	value   uint64
	cas     uint64
	exptime int64
	created bool // the key was missing and viv created it
}

// delta applies incr (or decr) to the decimal value of key. incr wraps at
// 2^64, decr stops at 0. As in memcached, a result no longer than the old
// value keeps the old length, padded with spaces. A missing key is
// NOT_FOUND unless viv asks to create it with its initial value. A
// non-zero cas that is not the item's is EXISTS (the binary protocol's and
// ma's compare-and-swap).
func (s *store) delta(key []byte, incr bool, d uint64, viv *vivify, cas uint64) (counter, result) {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	off, h := s.lookup(sh, key, kh, now)
	if h == nil && viv != nil {
		digits := strconv.AppendUint(nil, viv.initial, 10)
		nit := newItem(key, 0, len(digits))
		copy(nit.value(), digits)
		nit.exptime, nit.time = viv.exptime, now
		if s.put(sh, kh, nit) == nil {
			return counter{}, resNoMemory
		}
		return counter{viv.initial, nit.cas, nit.exptime, true}, resStored
	}
	if h == nil {
		if incr {
			sh.st.incrMisses++
		} else {
			sh.st.decrMisses++
		}
		return counter{}, resNotFound
	}
	if cas != 0 && h.cas != cas {
		return counter{}, resExists
	}
	var it item
	s.load(sh, off, h, &it)
	v, ok := parseStoredUint(it.value())
	if !ok {
		return counter{}, resNonNumeric
	}
	if incr {
		v += d
		sh.st.incrHits++
	} else {
		v -= min(v, d)
		sh.st.decrHits++
	}
	var num [20]byte
	digits := strconv.AppendUint(num[:0], v, 10)
	n := max(len(digits), len(it.value()))
	nit := newItem(key, it.flags, n)
	val := nit.value()
	for i := copy(val, digits); i < n; i++ {
		val[i] = ' '
	}
	nit.exptime, nit.time = it.exptime, now
	if s.put(sh, kh, nit) == nil {
		return counter{}, resNoMemory
	}
	return counter{v, nit.cas, nit.exptime, false}, resStored
}

// snapshot is what meta get reports about a hit, copied under the lock.
type snapshot struct {
	it         *item
	cas        uint64
	exptime    int64
	fetched    bool  // had been fetched before this get
	lastAccess int64 // seconds since the previous access
	// Stale-while-revalidate: won is set when this get was handed the
	// win token (it should recache the item), sent when another get had
	// it already, stale when md I invalidated the item; created when N
	// made the item for this get.
	won, sent, stale, created bool
}

// metaGetOpts are mg's flags that change the item: T (touch), N (create
// a missing item, empty, expiring at vivifyExp) and R (win the recache
// token when fewer than recacheLeft seconds are left).
type metaGetOpts struct {
	touch, vivify, recache bool
	exptime, vivifyExp     int64
	recacheLeft            int64
}

// metaGet is get for "mg": it also reports whether the item had been
// fetched before, how long ago it was last accessed and who should
// recache it. The item is copied into dst.
func (s *store) metaGet(key []byte, o metaGetOpts, dst *item) (snapshot, bool) {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdGet++
	off, h, why := s.lookupState(sh, key, kh, now)
	if h == nil {
		sh.countMiss(why)
		if !o.vivify {
			return snapshot{}, false
		}
		// memcached's vivify: an empty item stands in for the value the
		// winner is about to compute; later gets see it with Z.
		it := newItem(key, 0, 0)
		it.exptime, it.time = o.vivifyExp, now
		if h = s.put(sh, kh, it); h == nil {
			return snapshot{}, false
		}
		h.state |= recFetched | recWinSent
		*dst = *it
		return snapshot{it: dst, cas: h.cas, exptime: h.exptime, won: true, created: true}, true
	}
	sh.st.getHits++
	if o.touch {
		sh.st.cmdTouch++
		sh.st.touchHits++
		h.exptime = o.exptime
	}
	snap := snapshot{it: dst, cas: h.cas, exptime: h.exptime, fetched: h.state&recFetched != 0,
		lastAccess: (s.clock() - h.atime) / int64(time.Second),
		sent:       h.state&recWinSent != 0, stale: h.state&recStale != 0}
	if !snap.sent && (snap.stale || o.recache && h.exptime != 0 && h.exptime-now < o.recacheLeft) {
		snap.won = true
		h.state |= recWinSent
	}
	h.state |= recFetched
	off, h = s.bump(sh, kh, off, h)
	s.load(sh, off, h, dst)
	return snap, true
}

// invalidate is md's I: the item stays, marked stale, and the next meta
// get wins the token to recache it; with touch its expiry changes too.
// The reply is HD, NF, or EX when cas is not zero and not the item's.
func (s *store) invalidate(key []byte, cas uint64, touch bool, exptime int64) result {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, h := s.lookup(sh, key, kh, now)
	switch {
	case h == nil:
		return resNotFound
	case cas != 0 && h.cas != cas:
		return resExists
	}
	h.state = h.state&^recWinSent | recStale
	if touch {
		h.exptime = exptime
	}
	return resDeleted
}

// peek reports on key without counting or bumping it ("me").
func (s *store) peek(key []byte) (snapshot, bool) {
	kh := s.hash(key)
	sh := s.shardFor(kh)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	off, h := s.lookup(sh, key, kh, now)
	if h == nil {
		return snapshot{}, false
	}
	it := &item{}
	s.load(sh, off, h, it)
	return snapshot{it: it, cas: h.cas, exptime: h.exptime, fetched: h.state&recFetched != 0,
		lastAccess: (s.clock() - h.atime) / int64(time.Second)}, true
}

// dump lists live items, newest first within each shard, up to limit
// items (0: no limit) and maxBytes of output.
func (s *store) dump(limit, maxBytes int) []byte {
	var out []byte
	now := s.now()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		var offs []uint64
		for off := sh.tail; off < sh.head; {
			off = s.startAt(sh, off)
			if off >= sh.head {
				break
			}
			offs = append(offs, off)
			off += uint64(s.header(sh, off).size)
		}
		for j := len(offs) - 1; j >= 0; j-- {
			if (limit > 0 && n >= limit) || len(out) > maxBytes {
				sh.mu.Unlock()
				return out
			}
			off := offs[j]
			h := s.header(sh, off)
			key := s.keyAt(sh, off, h)
			if cur, ok := sh.idx[s.hash(key)]; !ok || cur != off || s.state(h, now) != alive {
				continue
			}
			out = append(append(out, "ITEM "...), key...)
			out = strconv.AppendInt(append(out, " ["...), int64(h.vlen), 10)
			out = strconv.AppendInt(append(out, " b; "...), h.exptime, 10)
			out = append(out, " s]\r\n"...)
			n++
		}
		sh.mu.Unlock()
	}
	return out
}
