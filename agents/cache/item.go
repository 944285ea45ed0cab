package cache

import (
	"strconv"
	"unsafe"
)

// An item is one cached value as the protocol code sees it: a copy taken
// out of (or about to go into) the store's arena. Its data holds the
// complete "get" response for it, "VALUE <key> <flags> <bytes>\r\n<value>\r\n",
// built once when the item is stored, so a hit is answered with a single
// copy.
type item struct {
	data    []byte
	klen    int32
	hdr     int32  // index of the "\r\n" that ends the VALUE line
	flags   uint32 // client flags
	exptime int64  // unix seconds; 0 never expires
	time    int64  // unix seconds when stored, for delayed flush_all
	cas     uint64
	atime   int64 // store clock() at the last store or hit
	size    int64 // bytes the item's record takes in the arena
	fetched bool  // read at least once (meta get's h flag)
}

// newItem allocates an item for key with room for a value of vlen bytes,
// which the caller fills through value() before publishing the item.
func newItem(key []byte, flags uint32, vlen int) *item {
	it := &item{}
	it.build(key, flags, vlen)
	return it
}

// build makes it an item for key with room for a value of vlen bytes,
// reusing its data buffer.
func (it *item) build(key []byte, flags uint32, vlen int) {
	var num [20]byte
	f := strconv.AppendUint(num[:0], uint64(flags), 10)
	hdr := len("VALUE ") + len(key) + 1 + len(f) + 1 + decimalLen(uint64(vlen))
	data := grown(it.data, hdr+2+vlen+2)
	b := append(data[:0], "VALUE "...)
	b = append(b, key...)
	b = append(b, ' ')
	b = append(b, f...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(vlen), 10)
	b = append(b, "\r\n"...)
	data[len(data)-2], data[len(data)-1] = '\r', '\n'
	_ = b
	*it = item{data: data, klen: int32(len(key)), hdr: int32(hdr), flags: flags}
}

// grown returns b resized to n bytes, reallocated only when too small; a
// large buffer is not kept for a small item.
func grown(b []byte, n int) []byte {
	if cap(b) < n || (cap(b) > 64<<10 && n < cap(b)/4) {
		return make([]byte, n)
	}
	return b[:n]
}

// key returns the item's key; it aliases data, which never changes.
func (it *item) key() string {
	return unsafe.String(&it.data[len("VALUE ")], int(it.klen))
}

// keyBytes is key as a slice of data.
func (it *item) keyBytes() []byte {
	return it.data[len("VALUE ") : len("VALUE ")+int(it.klen)]
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

func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}
