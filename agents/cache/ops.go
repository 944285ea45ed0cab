package cache

import "strconv"

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
	it := s.lookup(sh, key, now)
	if it == nil {
		sh.st.getMisses++
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
	s.bump(sh, it)
	sh.mu.Unlock()
	return it
}

// store publishes it (whose value the caller has filled in) under mode.
// For modeCAS, cas is the unique value the client last saw.
func (s *store) store(mode storeMode, it *item, cas uint64) result {
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
		if old == nil {
			res = resNotStored
		} else {
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
	if res == resStored {
		s.link(sh, it, old)
	}
	sh.mu.Unlock()
	if res == resStored && s.used.Load() > s.limit {
		s.makeRoom()
	}
	return res
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

// del deletes key; the reply is DELETED or NOT_FOUND.
func (s *store) del(key []byte) result {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it := s.lookup(sh, key, now)
	if it == nil {
		sh.st.deleteMisses++
		return resNotFound
	}
	sh.st.deleteHits++
	s.unlink(sh, it)
	return resDeleted
}

// touch sets a new expiry on key; the reply is TOUCHED or NOT_FOUND.
func (s *store) touch(key []byte, exptime int64) result {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.st.cmdTouch++
	it := s.lookup(sh, key, now)
	if it == nil {
		sh.st.touchMisses++
		return resNotFound
	}
	sh.st.touchHits++
	it.exptime = exptime
	s.bump(sh, it)
	return resTouched
}

// delta applies incr (or decr) to the decimal value of key. incr wraps at
// 2^64, decr stops at 0. As in memcached, a result no longer than the old
// value keeps the old length, padded with spaces.
func (s *store) delta(key []byte, incr bool, d uint64) (uint64, result) {
	sh := s.shardFor(key)
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	it := s.lookup(sh, key, now)
	if it == nil {
		if incr {
			sh.st.incrMisses++
		} else {
			sh.st.decrMisses++
		}
		return 0, resNotFound
	}
	v, ok := parseStoredUint(it.value())
	if !ok {
		return 0, resNonNumeric
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
	// A longer number can push the shard over the limit; the next store
	// evicts, which keeps eviction out of this locked section.
	return v, resStored
}
