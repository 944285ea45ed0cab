package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// nShards spreads keys over independent locks so that connections on
// different cores rarely wait for each other.
const nShards = 64

// A store holds the items, bounded to limit bytes of accounted memory.
// Each shard has its own lock, map and LRU list; the only shared state on
// the hot path is the atomic byte count used to decide when to evict.
type store struct {
	seed    maphash.Seed
	base    time.Time // origin of clock()
	limit   int64
	maxItem int // largest item (itemTotal), for append and prepend
	now     func() int64
	used    atomic.Int64
	cursor  atomic.Uint32 // next shard to evict from
	flushAt atomic.Int64  // pending delayed flush_all time; 0 none
	lastCAS atomic.Uint64 // cas values count up from 1, as memcached's do
	shards  [nShards]shard
}

type shard struct {
	mu   sync.Mutex
	m    map[string]*item
	head *item // most recently used
	tail *item // least recently used
	st   shardStats
	_    [64]byte // keep neighbouring shards' locks off one cache line
}

// shardStats are counters kept under the shard lock, summed by stats.
type shardStats struct {
	items, totalItems, bytes                   int64
	cmdGet, getHits, getMisses, getExpired     int64
	getFlushed, cmdSet, cmdTouch               int64
	touchHits, touchMisses                     int64
	deleteHits, deleteMisses                   int64
	incrHits, incrMisses, decrHits, decrMisses int64
	casHits, casMisses, casBadval              int64
	evictions, reclaimed, expiredUnfetched     int64
}

func newStore(limit int64, maxItem int, now func() int64) *store {
	s := &store{seed: maphash.MakeSeed(), base: time.Now(), limit: limit, maxItem: maxItem, now: now}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*item)
	}
	return s
}

// clock is a monotonic time in nanoseconds for LRU ordering across shards.
func (s *store) clock() int64 {
	return int64(time.Since(s.base))
}

func (s *store) shardFor(key []byte) *shard {
	return &s.shards[maphash.Bytes(s.seed, key)%nShards]
}

// Reasons an item is no longer visible.
const (
	alive = iota
	expired
	flushed
)

// state reports whether it is alive, expired or flushed at time now.
func (s *store) state(it *item, now int64) int {
	if it.exptime != 0 && it.exptime <= now {
		return expired
	}
	if f := s.flushAt.Load(); f != 0 && f <= now && it.time < f {
		return flushed
	}
	return alive
}

// dead reports whether it has expired or been flushed at time now.
func (s *store) dead(it *item, now int64) bool {
	return s.state(it, now) != alive
}

// lookup returns the live item for key, unlinking it when it is dead.
// The caller holds sh.mu.
func (s *store) lookup(sh *shard, key []byte, now int64) *item {
	it, _ := s.lookupState(sh, key, now)
	return it
}

// lookupState is lookup that also says why a present item was not live,
// for the get_expired and get_flushed counters.
func (s *store) lookupState(sh *shard, key []byte, now int64) (*item, int) {
	it := sh.m[string(key)]
	if it == nil {
		return nil, alive
	}
	if st := s.state(it, now); st != alive {
		s.unlink(sh, it)
		sh.st.reclaimed++
		if !it.fetched {
			sh.st.expiredUnfetched++
		}
		return nil, st
	}
	return it, alive
}

// countMiss counts a get miss and why it missed.
func (sh *shard) countMiss(why int) {
	sh.st.getMisses++
	switch why {
	case expired:
		sh.st.getExpired++
	case flushed:
		sh.st.getFlushed++
	}
}

// link makes it the newest item of sh, replacing old (which may be nil).
// Called with sh.mu held; returns the bytes added.
func (s *store) link(sh *shard, it, old *item) {
	if old != nil {
		s.unlink(sh, old)
	}
	it.cas = s.lastCAS.Add(1)
	sh.m[it.key()] = it
	it.atime = s.clock()
	s.pushFront(sh, it)
	sh.st.items++
	sh.st.totalItems++
	sh.st.bytes += it.size
	s.used.Add(it.size)
}

func (s *store) unlink(sh *shard, it *item) {
	delete(sh.m, it.key())
	s.remove(sh, it)
	sh.st.items--
	sh.st.bytes -= it.size
	s.used.Add(-it.size)
}

func (s *store) pushFront(sh *shard, it *item) {
	it.prev, it.next = nil, sh.head
	if sh.head != nil {
		sh.head.prev = it
	} else {
		sh.tail = it
	}
	sh.head = it
}

func (s *store) remove(sh *shard, it *item) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		sh.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		sh.tail = it.prev
	}
	it.prev, it.next = nil, nil
}

// bump marks it as just used.
func (s *store) bump(sh *shard, it *item) {
	it.atime = s.clock()
	if sh.head != it {
		s.remove(sh, it)
		s.pushFront(sh, it)
	}
}

// evictSample is how many shards' oldest items are compared to choose
// the one to evict.
const evictSample = 8

// makeRoom evicts items until the accounted bytes fit the limit again.
func (s *store) makeRoom() {
	for s.used.Load() > s.limit && s.evictOne() {
	}
}

// evictOne removes the least recently used of the oldest items of a few
// shards (the next evictSample non-empty ones in turn). Keys hash evenly
// over shards, so this approximates a global LRU without a global lock,
// as sampled LRU does in other caches. It reports false when the store
// is empty.
func (s *store) evictOne() bool {
	start := s.cursor.Add(evictSample)
	var best *shard
	var bestTime int64
	seen := 0
	for i := uint32(0); i < nShards && seen < evictSample; i++ {
		sh := &s.shards[(start+i)%nShards]
		sh.mu.Lock()
		if sh.tail != nil {
			seen++
			if best == nil || sh.tail.atime < bestTime {
				best, bestTime = sh, sh.tail.atime
			}
		}
		sh.mu.Unlock()
	}
	if best == nil {
		return false
	}
	best.mu.Lock()
	if it := best.tail; it != nil {
		if s.dead(it, s.now()) {
			best.st.reclaimed++
		} else {
			best.st.evictions++
		}
		s.unlink(best, it)
	}
	best.mu.Unlock()
	return true
}

// sweep reclaims up to budget dead items from each shard. Go's map
// iteration starts at a random place, so repeated sweeps cover the map.
func (s *store) sweep(budget int) {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := 0
		for _, it := range sh.m {
			if n >= budget {
				break
			}
			n++
			if s.dead(it, now) {
				s.unlink(sh, it)
				sh.st.reclaimed++
			}
		}
		sh.mu.Unlock()
	}
}

// flush drops every item now (delay <= 0) or marks all items stored before
// the absolute time at as dead once at has come.
func (s *store) flush(at int64) {
	if at > 0 {
		s.flushAt.Store(at)
		return
	}
	s.flushAt.Store(0)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.head, sh.tail = nil, nil
		s.used.Add(-sh.st.bytes)
		sh.st.bytes, sh.st.items = 0, 0
		sh.mu.Unlock()
	}
}

// totals sums the shard counters.
func (s *store) totals() shardStats {
	var t shardStats
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st := sh.st
		sh.mu.Unlock()
		t.add(st)
	}
	return t
}

func (t *shardStats) add(o shardStats) {
	t.items += o.items
	t.totalItems += o.totalItems
	t.bytes += o.bytes
	t.cmdGet += o.cmdGet
	t.getHits += o.getHits
	t.getMisses += o.getMisses
	t.getExpired += o.getExpired
	t.getFlushed += o.getFlushed
	t.cmdSet += o.cmdSet
	t.cmdTouch += o.cmdTouch
	t.touchHits += o.touchHits
	t.touchMisses += o.touchMisses
	t.deleteHits += o.deleteHits
	t.deleteMisses += o.deleteMisses
	t.incrHits += o.incrHits
	t.incrMisses += o.incrMisses
	t.decrHits += o.decrHits
	t.decrMisses += o.decrMisses
	t.casHits += o.casHits
	t.casMisses += o.casMisses
	t.casBadval += o.casBadval
	t.evictions += o.evictions
	t.reclaimed += o.reclaimed
	t.expiredUnfetched += o.expiredUnfetched
}

// resetCounters zeroes the command counters (stats reset), keeping the
// item and byte counts, which describe contents rather than history.
func (s *store) resetCounters() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.st = shardStats{items: sh.st.items, bytes: sh.st.bytes}
		sh.mu.Unlock()
	}
}
