package cache

import (
	"strconv"
	"unsafe"
)

// An item is one cached value. Its data holds the complete "get" response
// for it, "VALUE <key> <flags> <bytes>\r\n<value>\r\n", built once when the
// item is stored, so a hit is answered with a single copy. data is never
// modified after the item is published; updates build a new item.
type item struct {
	data    []byte
	klen    int32
	hdr     int32  // index of the "\r\n" that ends the VALUE line
	flags   uint32 // client flags
	exptime int64  // unix seconds; 0 never expires
	time    int64  // unix seconds when stored, for delayed flush_all
	cas     uint64
	size    int64 // bytes charged against the memory limit
	atime   int64 // store clock() at the last store or hit, for eviction
	fetched bool  // read at least once (meta get's h flag)
	prev    *item // towards the most recently used end of the LRU
	next    *item
}

// itemOverhead is what one item costs beyond its data: the item struct and
// its map entry (key header, pointer, hash bits and load-factor slack).
const itemOverhead = int64(unsafe.Sizeof(item{})) + 64

// newItem allocates an item for key with room for a value of vlen bytes,
// which the caller fills through value() before publishing the item.
func newItem(key []byte, flags uint32, vlen int) *item {
	var num [20]byte
	f := strconv.AppendUint(num[:0], uint64(flags), 10)
	hdr := len("VALUE ") + len(key) + 1 + len(f) + 1 + decimalLen(uint64(vlen))
	data := make([]byte, hdr+2+vlen+2)
	b := append(data[:0], "VALUE "...)
	b = append(b, key...)
	b = append(b, ' ')
	b = append(b, f...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(vlen), 10)
	b = append(b, "\r\n"...)
	data[len(data)-2], data[len(data)-1] = '\r', '\n'
	_ = b
	it := &item{data: data, klen: int32(len(key)), hdr: int32(hdr), flags: flags}
	it.size = itemOverhead + allocSize(len(data))
	return it
}

// key returns the item's key; it aliases data, which never changes.
func (it *item) key() string {
	return unsafe.String(&it.data[len("VALUE ")], int(it.klen))
}

// value returns the value bytes (without the trailing "\r\n").
func (it *item) value() []byte {
	return it.data[it.hdr+2 : len(it.data)-2]
}

// valueCRLF returns the value followed by its "\r\n", the region a client's
// data block is read into.
func (it *item) valueCRLF() []byte {
	return it.data[it.hdr+2:]
}

// allocSize estimates what the Go allocator really hands out for an n-byte
// allocation: small sizes round up to 16 bytes, mid sizes to one eighth of
// their power of two (the size-class spacing), large ones to whole 8 KiB pages.
func allocSize(n int) int64 {
	switch {
	case n <= 256:
		return int64((n + 15) &^ 15)
	case n <= 32<<10:
		step := 1
		for step*8 < n {
			step <<= 1
		}
		return int64((n + step - 1) / step * step)
	default:
		return int64((n + 8191) &^ 8191)
	}
}

func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
