package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// nShards spreads keys over independent locks so that connections on
// different cores rarely wait for each other.
const nShards = 16

// A store holds the items in one arena of exactly limit bytes, outside
// the garbage-collected heap, cut into pages. Each shard has its own lock,
// index and log: its items are records appended to the pages it owns, in
// the order they were written; when the arena is full a shard drops the
// oldest page of its log (or of another's, when it has none to spare),
// evicting the items still live in it, and reuses the page. Resident
// memory is therefore the arena plus the indexes and connection buffers,
// whatever is written, and the collector never scans an item.
//
// Eviction order approximates LRU the way a second-chance clock does: a
// hit on an item in the oldest quarter of its shard's log copies it to the
// head of the log, so items in use are not evicted.
type store struct {
	seed     maphash.Seed
	base     time.Time // origin of clock()
	limit    int64
	maxItem  int // largest item (itemTotal), for append and prepend
	now      func() int64
	arena    []byte
	mapped   bool // arena is our own mapping, whose pages can be released
	pageSize uint64
	used     atomic.Int64 // bytes of live records
	items    atomic.Int64 // live items, whose index entries count against limit
	inUse    atomic.Int64 // pages out of the pool
	nPages   int64
	flushAt  atomic.Int64  // pending delayed flush_all time; 0 none
	lastCAS  atomic.Uint64 // cas values count up from 1, as memcached's do
	poolMu   sync.Mutex
	pool     []int32 // free pages
	shards   [nShards]shard
}

// A shard's log is a run of virtual offsets [tail, head), mapped onto its
// pages: pages[i] holds [base + i*pageSize, base + (i+1)*pageSize).
type shard struct {
	mu    sync.Mutex
	idx   map[uint64]uint64 // key hash -> offset of the item's record
	pages []int32
	base  uint64
	tail  uint64 // oldest record not yet dropped
	head  uint64 // where the next record goes
	st    shardStats
	tmp   []byte   // a record being moved
	_     [64]byte // keep neighbouring shards' locks off one cache line
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
	noMemory                                   int64
}

// indexCost is what one item's index entry costs on the heap, on average
// over the map's growth (16-byte slots, 8 control bytes per 8 slots, load
// between 7/16 and 7/8). It counts against the limit, so that resident
// memory stays within it however small the items are.
const indexCost = 32

// A record is a recHeader followed by the item's data (its "VALUE" line,
// value and "\r\n"), padded to 8 bytes. The header and the VALUE line are
// always in one page; the value may run on into the next pages.
type recHeader struct {
	size    uint32 // whole record, padded
	vlen    uint32
	hlen    uint16 // length of the VALUE line with its "\r\n"
	klen    uint8
	state   uint8 // recFetched, recWinSent, recStale
	flags   uint32
	exptime int64 // unix seconds; 0 never expires
	time    int64 // unix seconds when stored, for delayed flush_all
	cas     uint64
	atime   int64 // store clock() at the last store or hit
}

// Bits of recHeader.state. A record starts with none: a new value clears
// them.
const (
	recFetched = 1 << iota // read at least once (meta get's h flag)
	recWinSent             // a meta get was handed the win token (W)
	recStale               // invalidated by md I: served, marked X
)

const (
	recHdrLen = int(unsafe.Sizeof(recHeader{}))
	// minContig is the room a record's start needs in one page: the
	// header and the longest VALUE line.
	minContig = recHdrLen + len("VALUE ") + maxKeyLen + len(" 4294967295 4294967295\r\n")
)

// pageSizeFor picks pages small enough that every shard owns a few dozen
// of them, so dropping one evicts little, and large enough to waste little
// at their ends.
func pageSizeFor(limit int64) uint64 {
	p := uint64(4 << 10)
	for p < 64<<10 && int64(p)*2*nShards*32 <= limit {
		p *= 2
	}
	return p
}

func newStore(limit int64, maxItem int, now func() int64) *store {
	s := &store{seed: maphash.MakeSeed(), base: time.Now(), limit: limit, maxItem: maxItem, now: now}
	s.pageSize = pageSizeFor(limit)
	pages := max(uint64(limit)/s.pageSize, 2*nShards)
	s.nPages = int64(pages)
	s.arena, s.mapped = allocArena(int(pages * s.pageSize))
	for p := int32(pages) - 1; p >= 0; p-- {
		s.pool = append(s.pool, p)
	}
	for i := range s.shards {
		s.shards[i].idx = make(map[uint64]uint64)
	}
	return s
}

// clock is a monotonic time in nanoseconds for last-access times.
func (s *store) clock() int64 {
	return int64(time.Since(s.base))
}

func (s *store) hash(key []byte) uint64 {
	return maphash.Bytes(s.seed, key)
}

func (s *store) shardFor(h uint64) *shard {
	return &s.shards[h%nShards]
}

// phys is where offset off of sh's log lies in the arena; the byte slice
// runs to the end of its page.
func (s *store) phys(sh *shard, off uint64) []byte {
	rel := off - sh.base
	p := uint64(sh.pages[rel/s.pageSize])
	start := p*s.pageSize + rel%s.pageSize
	return s.arena[start : (p+1)*s.pageSize]
}

func (s *store) header(sh *shard, off uint64) *recHeader {
	return (*recHeader)(unsafe.Pointer(&s.phys(sh, off)[0]))
}

// keyAt returns the key of the record at off; it aliases the arena.
func (s *store) keyAt(sh *shard, off uint64, h *recHeader) []byte {
	b := s.phys(sh, off)
	return b[recHdrLen+len("VALUE ") : recHdrLen+len("VALUE ")+int(h.klen)]
}

// copyOut copies len(dst) bytes of sh's log from off.
func (s *store) copyOut(sh *shard, off uint64, dst []byte) {
	for len(dst) > 0 {
		n := copy(dst, s.phys(sh, off))
		dst, off = dst[n:], off+uint64(n)
	}
}

// copyIn writes src into sh's log at off.
func (s *store) copyIn(sh *shard, off uint64, src []byte) {
	for len(src) > 0 {
		n := copy(s.phys(sh, off), src)
		src, off = src[n:], off+uint64(n)
	}
}

// startAt is where a record starting at or after off can begin: the
// next page when too little of off's page is left.
func (s *store) startAt(sh *shard, off uint64) uint64 {
	if left := s.pageSize - (off-sh.base)%s.pageSize; left < uint64(minContig) {
		off += left
	}
	return off
}

func recSize(dataLen int) uint64 {
	return uint64(recHdrLen+dataLen+7) &^ 7
}

// Reasons an item is no longer visible.
const (
	alive = iota
	expired
	flushed
)

// state reports whether the record h is alive, expired or flushed at now.
func (s *store) state(h *recHeader, now int64) int {
	if h.exptime != 0 && h.exptime <= now {
		return expired
	}
	if f := s.flushAt.Load(); f != 0 && f <= now && h.time < f {
		return flushed
	}
	return alive
}

// find returns the offset and header of key's record, live or not.
func (s *store) find(sh *shard, key []byte, kh uint64) (uint64, *recHeader) {
	off, ok := sh.idx[kh]
	if !ok {
		return 0, nil
	}
	h := s.header(sh, off)
	if string(s.keyAt(sh, off, h)) != string(key) {
		return 0, nil // another key with the same 64-bit hash
	}
	return off, h
}

// lookupState returns key's live record, dropping it when it is dead, and
// says why a present item was not live, for the get_expired and
// get_flushed counters. The caller holds sh.mu.
func (s *store) lookupState(sh *shard, key []byte, kh uint64, now int64) (uint64, *recHeader, int) {
	off, h := s.find(sh, key, kh)
	if h == nil {
		return 0, nil, alive
	}
	if st := s.state(h, now); st != alive {
		s.unlink(sh, kh, h)
		sh.st.reclaimed++
		if h.state&recFetched == 0 {
			sh.st.expiredUnfetched++
		}
		return 0, nil, st
	}
	return off, h, alive
}

func (s *store) lookup(sh *shard, key []byte, kh uint64, now int64) (uint64, *recHeader) {
	off, h, _ := s.lookupState(sh, key, kh, now)
	return off, h
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

// unlink forgets the record h of key hash kh; its bytes are reclaimed
// when its page is dropped.
func (s *store) unlink(sh *shard, kh uint64, h *recHeader) {
	delete(sh.idx, kh)
	s.items.Add(-1)
	sh.st.items--
	sh.st.bytes -= int64(h.size)
	s.used.Add(-int64(h.size))
}

// put appends it as key's newest record, replacing any older one, and
// returns the new record's header, or nil when no memory could be freed
// for it. Called with sh.mu held.
func (s *store) put(sh *shard, kh uint64, it *item) *recHeader {
	size := recSize(len(it.data))
	off, ok := s.alloc(sh, size)
	if !ok {
		sh.st.noMemory++
		return nil
	}
	// The key's old record (which allocating may have dropped already),
	// or another key's with the same hash, gives way.
	if cur, ok := sh.idx[kh]; ok {
		s.unlink(sh, kh, s.header(sh, cur))
	}
	h := s.header(sh, off)
	*h = recHeader{size: uint32(size), vlen: uint32(len(it.data)) - uint32(it.hdr) - 4,
		hlen: uint16(it.hdr + 2), klen: uint8(it.klen), flags: it.flags,
		exptime: it.exptime, time: it.time, cas: s.lastCAS.Add(1), atime: s.clock()}
	s.copyIn(sh, off+uint64(recHdrLen), it.data)
	sh.idx[kh] = off
	s.items.Add(1)
	sh.st.items++
	sh.st.totalItems++
	sh.st.bytes += int64(size)
	s.used.Add(int64(size))
	it.cas = h.cas
	return h
}

// alloc reserves size bytes at the head of sh's log, taking free pages
// or dropping old ones as needed. Called with sh.mu held.
func (s *store) alloc(sh *shard, size uint64) (uint64, bool) {
	for {
		off := sh.head
		if len(sh.pages) > 0 {
			off = s.startAt(sh, off)
		}
		if off+size <= sh.base+uint64(len(sh.pages))*s.pageSize {
			sh.head = off + size
			return off, true
		}
		if !s.grow(sh) {
			return 0, false
		}
	}
}

// grow gives sh one more page: a free one while the pages in use and the
// index stay within the limit, else one freed by dropping the oldest page
// of sh's log or, when sh has nothing to drop, of another shard's (taken
// only if its lock is free at once, so that two shards never wait for
// each other). When nothing at all can be dropped it takes a free page
// over the budget.
func (s *store) grow(sh *shard) bool {
	for tries := 0; ; tries++ {
		last := tries >= 4*nShards
		if last || s.fits() {
			if p, ok := s.takePage(); ok {
				if len(sh.pages) == 0 {
					sh.base, sh.tail, sh.head = 0, 0, 0
				}
				sh.pages = append(sh.pages, p)
				return true
			}
			if last {
				return false
			}
		}
		if sh.tail < sh.head {
			s.dropPage(sh)
			continue
		}
		for i := range s.shards {
			o := &s.shards[(uintptr(unsafe.Pointer(sh))/unsafe.Sizeof(shard{})+uintptr(i+tries))%nShards]
			if o == sh || !o.mu.TryLock() {
				continue
			}
			dropped := false
			if o.tail < o.head {
				s.dropPage(o)
				dropped = true
			}
			o.mu.Unlock()
			if dropped {
				break
			}
		}
	}
}

// nearlyFull reports whether the pages in use and the index take more
// than seven eighths of the limit.
func (s *store) nearlyFull() bool {
	return s.inUse.Load()*int64(s.pageSize)+s.items.Load()*indexCost > s.limit-s.limit/8
}

// fits reports whether one more page keeps the arena in use and the
// index within the limit.
func (s *store) fits() bool {
	return (s.inUse.Load()+1)*int64(s.pageSize)+s.items.Load()*indexCost <= s.limit
}

func (s *store) takePage() (int32, bool) {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	n := len(s.pool)
	if n == 0 {
		return 0, false
	}
	p := s.pool[n-1]
	s.pool = s.pool[:n-1]
	s.inUse.Add(1)
	return p, true
}

// freePages returns pages to the pool, their memory to the kernel.
func (s *store) freePages(ps []int32) {
	if s.mapped {
		for _, p := range ps {
			releasePages(s.arena[uint64(p)*s.pageSize : uint64(p+1)*s.pageSize])
		}
	}
	s.poolMu.Lock()
	s.pool = append(s.pool, ps...)
	s.inUse.Add(-int64(len(ps)))
	s.poolMu.Unlock()
}

// dropPage evicts the records that start in the oldest page of sh's log
// and frees every page wholly behind them. Called with sh.mu held.
func (s *store) dropPage(sh *shard) {
	end := sh.base + s.pageSize
	now := s.now()
	off := sh.tail
	for off < end && off < sh.head {
		off = s.startAt(sh, off)
		if off >= end || off >= sh.head {
			break
		}
		h := s.header(sh, off)
		kh := s.hash(s.keyAt(sh, off, h))
		if cur, ok := sh.idx[kh]; ok && cur == off {
			if s.state(h, now) != alive {
				sh.st.reclaimed++
			} else {
				sh.st.evictions++
			}
			s.unlink(sh, kh, h)
		}
		off += uint64(h.size)
	}
	sh.tail = min(off, sh.head)
	if sh.tail >= sh.head {
		// Nothing left: start the next record on a fresh page.
		sh.tail = sh.base + uint64(len(sh.pages))*s.pageSize
		sh.head = sh.tail
	}
	n := 0
	for n < len(sh.pages) && sh.base+uint64(n+1)*s.pageSize <= sh.tail {
		n++
	}
	s.freePages(sh.pages[:n])
	sh.pages = append(sh.pages[:0], sh.pages[n:]...)
	sh.base += uint64(n) * s.pageSize
}

// bump marks the record at off as just used; when it has drifted into the
// oldest quarter of the log while the arena is nearly full (so that its
// page may soon be dropped), it is copied to the head so that dropping
// old pages spares it. It returns the record's current offset and header.
func (s *store) bump(sh *shard, kh, off uint64, h *recHeader) (uint64, *recHeader) {
	h.atime = s.clock()
	span := sh.head - sh.tail
	if off-sh.tail >= span/4 || span < 4*s.pageSize || !s.nearlyFull() {
		return off, h
	}
	size := uint64(h.size)
	sh.tmp = grown(sh.tmp, int(size))
	tmp := sh.tmp
	s.copyOut(sh, off, tmp)
	noff, ok := s.alloc(sh, size)
	if !ok {
		return off, h
	}
	if cur, ok := sh.idx[kh]; !ok || cur != off {
		// Making room dropped the record itself; put it back.
		sh.st.items++
		s.items.Add(1)
		sh.st.bytes += int64(size)
		s.used.Add(int64(size))
		sh.st.evictions--
	}
	s.copyIn(sh, noff, tmp)
	sh.idx[kh] = noff
	return noff, s.header(sh, noff)
}

// sweep reclaims up to budget dead items from each shard. Go's map
// iteration starts at a random place, so repeated sweeps cover the map.
func (s *store) sweep(budget int) {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := 0
		for kh, off := range sh.idx {
			if n >= budget {
				break
			}
			n++
			if h := s.header(sh, off); s.state(h, now) != alive {
				s.unlink(sh, kh, h)
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
		s.items.Add(-int64(len(sh.idx)))
		clear(sh.idx)
		s.freePages(sh.pages)
		sh.pages = sh.pages[:0]
		sh.base, sh.tail, sh.head = 0, 0, 0
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
	t.noMemory += o.noMemory
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
