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
)

var resultLines = [...]string{
	resStored:     "STORED\r\n",
	resNotStored:  "NOT_STORED\r\n",
	resExists:     "EXISTS\r\n",
	resNotFound:   "NOT_FOUND\r\n",
	resDeleted:    "DELETED\r\n",
	resTouched:    "TOUCHED\r\n",
	resNonNumeric: "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
}

// get returns the live item for key, touching its expiry first when touch
// is set (gat). The returned item's data is immutable, so the caller may
// write it out after the lock is released.
func (s *store) get(key []byte, touch bool, exptime int64) *item {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	sh.st.cmdGet++
	if touch {
		sh.st.cmdTouch++
	}
	it, why := s.lookupState(sh, key, now)
	if it == nil {
		sh.countMiss(why)
		if touch {
			sh.st.touchMisses++
		}
		sh.mu.Unlock()
		return nil
	}
	sh.st.getHits++
	if touch {
		sh.st.touchHits++
		it.exptime = exptime
	}
	it.fetched = true
	s.bump(sh, it)
	sh.mu.Unlock()
	return it
}

// store publishes it (whose value the caller has filled in) under mode.
// For modeCAS, cas is the unique value the client last saw; a non-zero
// cas also guards an append or prepend. It returns the
// outcome and, when stored, the new item's cas value.
func (s *store) store(mode storeMode, it *item, cas uint64) (result, uint64) {
	key := []byte(it.key())
	sh := s.shardFor(key)
	now := s.now()
	it.time = now
	sh.mu.Lock()
	sh.st.cmdSet++
	old := s.lookup(sh, key, now)
	res := resStored
	switch mode {
	case modeAdd:
		if old != nil {
			s.bump(sh, old)
			res = resNotStored
		}
	case modeReplace:
		if old == nil {
			res = resNotStored
		}
	case modeAppend, modePrepend:
		switch {
		case old == nil || itemTotal(len(key), len(old.value())+len(it.value())) > s.maxItem:
			// memcached refuses an append that outgrows -I the same way.
			res = resNotStored
		case cas != 0 && old.cas != cas:
			// Only the binary protocol sends a cas with an append.
			res = resExists
		default:
			it = joined(old, it, mode == modeAppend)
			it.time = now
		}
	case modeCAS:
		switch {
		case old == nil:
			sh.st.casMisses++
			res = resNotFound
		case old.cas != cas:
			sh.st.casBadval++
			res = resExists
		default:
			sh.st.casHits++
		}
	}
	var newCAS uint64
	if res == resStored {
		s.link(sh, it, old)
		newCAS = it.cas
	}
	sh.mu.Unlock()
	if res == resStored && s.used.Load() > s.limit {
		s.makeRoom()
	}
	return res, newCAS
}

// joined builds the item for an append or prepend of add to old, keeping
// old's flags and expiry as memcached does.
func joined(old, add *item, atEnd bool) *item {
	ov, av := old.value(), add.value()
	it := newItem([]byte(old.key()), old.flags, len(ov)+len(av))
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
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it := s.lookup(sh, key, now)
	if it == nil {
		sh.st.deleteMisses++
		return resNotFound
	}
	if cas != 0 && it.cas != cas {
		return resExists
	}
	sh.st.deleteHits++
	s.unlink(sh, it)
	return resDeleted
}

// touch sets a new expiry on key; the reply is TOUCHED or NOT_FOUND.
func (s *store) touch(key []byte, exptime int64) result {
	if s.touchItem(key, exptime) == nil {
		return resNotFound
	}
	return resTouched
}

// touchItem is touch returning the touched item (nil when missing), whose
// flags and cas the binary protocol's touch reports.
func (s *store) touchItem(key []byte, exptime int64) *item {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdTouch++
	it := s.lookup(sh, key, now)
	if it == nil {
		sh.st.touchMisses++
		return nil
	}
	sh.st.touchHits++
	it.exptime = exptime
	s.bump(sh, it)
	return it
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
}

// delta applies incr (or decr) to the decimal value of key. incr wraps at
// 2^64, decr stops at 0. As in memcached, a result no longer than the old
// value keeps the old length, padded with spaces. A missing key is
// NOT_FOUND unless viv asks to create it with its initial value.
func (s *store) delta(key []byte, incr bool, d uint64, viv *vivify) (counter, result) {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it := s.lookup(sh, key, now)
	if it == nil && viv != nil {
		digits := strconv.AppendUint(nil, viv.initial, 10)
		nit := newItem(key, 0, len(digits))
		copy(nit.value(), digits)
		nit.exptime, nit.time = viv.exptime, now
		s.link(sh, nit, nil)
		return counter{viv.initial, nit.cas, nit.exptime}, resStored
	}
	if it == nil {
		if incr {
			sh.st.incrMisses++
		} else {
			sh.st.decrMisses++
		}
		return counter{}, resNotFound
	}
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
	nit := newItem([]byte(it.key()), it.flags, n)
	val := nit.value()
	for i := copy(val, digits); i < n; i++ {
		val[i] = ' '
	}
	nit.exptime, nit.time = it.exptime, now
	s.link(sh, nit, it)
	// A longer number can push the store over the limit; the next store
	// evicts, which keeps eviction out of this locked section.
	return counter{v, nit.cas, nit.exptime}, resStored
}

// snapshot is what meta get reports about a hit, copied under the lock.
type snapshot struct {
	it         *item
	cas        uint64
	exptime    int64
	fetched    bool  // had been fetched before this get
	lastAccess int64 // seconds since the previous access
}

// metaGet is get for "mg": it also reports whether the item had been
// fetched before and how long ago it was last accessed.
func (s *store) metaGet(key []byte, touch bool, exptime int64) (snapshot, bool) {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdGet++
	it, why := s.lookupState(sh, key, now)
	if it == nil {
		sh.countMiss(why)
		return snapshot{}, false
	}
	sh.st.getHits++
	if touch {
		sh.st.cmdTouch++
		sh.st.touchHits++
		it.exptime = exptime
	}
	snap := snapshot{it: it, cas: it.cas, exptime: it.exptime, fetched: it.fetched,
		lastAccess: (s.clock() - it.atime) / int64(time.Second)}
	it.fetched = true
	s.bump(sh, it)
	return snap, true
}

// peek reports on key without counting or bumping it ("me").
func (s *store) peek(key []byte) (snapshot, bool) {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it := s.lookup(sh, key, now)
	if it == nil {
		return snapshot{}, false
	}
	return snapshot{it: it, cas: it.cas, exptime: it.exptime, fetched: it.fetched,
		lastAccess: (s.clock() - it.atime) / int64(time.Second)}, true
}

// dump lists live items, most recently used first within each shard, up
// to limit items (0: no limit) and maxBytes of output.
func (s *store) dump(limit, maxBytes int) []byte {
	var out []byte
	now := s.now()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for it := sh.head; it != nil; it = it.next {
			if (limit > 0 && n >= limit) || len(out) > maxBytes {
				sh.mu.Unlock()
				return out
			}
			if s.dead(it, now) {
				continue
			}
			out = append(append(out, "ITEM "...), it.key()...)
			out = strconv.AppendInt(append(out, " ["...), int64(len(it.value())), 10)
			out = strconv.AppendInt(append(out, " b; "...), it.exptime, 10)
			out = append(out, " s]\r\n"...)
			n++
		}
		sh.mu.Unlock()
	}
	return out
}
