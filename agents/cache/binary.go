package cache

import (
	"encoding/binary"
)

// memcached's binary protocol (protocol_binary.h): every request and
// response starts with a 24-byte header; the body is extras, key, value.
const (
	binReqMagic = 0x80
	binResMagic = 0x81
	binHdrLen   = 24
	// binSlack is what a request body may carry beyond the largest item
	// (key and extras) before the connection is deemed out of step.
	// Larger values than -max-item-size are still read and discarded,
	// as memcached does, up to twice that size.
	binSlack = 4096
)

// Binary opcodes. Quiet variants are folded onto their base opcode by
// quietBase; responses echo the opcode the client sent.
const (
	opGet       = 0x00
	opSet       = 0x01
	opAdd       = 0x02
	opReplace   = 0x03
	opDelete    = 0x04
	opIncrement = 0x05
	opDecrement = 0x06
	opQuit      = 0x07
	opFlush     = 0x08
	opGetQ      = 0x09
	opNoop      = 0x0a
	opVersion   = 0x0b
	opGetK      = 0x0c
	opGetKQ     = 0x0d
	opAppend    = 0x0e
	opPrepend   = 0x0f
	opStat      = 0x10
	opSetQ      = 0x11
	opAddQ      = 0x12
	opReplaceQ  = 0x13
	opDeleteQ   = 0x14
	opIncrQ     = 0x15
	opDecrQ     = 0x16
	opQuitQ     = 0x17
	opFlushQ    = 0x18
	opAppendQ   = 0x19
	opPrependQ  = 0x1a
	opTouch     = 0x1c
	opGAT       = 0x1d
	opGATQ      = 0x1e
	opGATK      = 0x23
	opGATKQ     = 0x24
)

// Binary response statuses and the texts memcached sends with them.
const (
	stOK          = 0x0000
	stNotFound    = 0x0001
	stExists      = 0x0002
	stTooLarge    = 0x0003
	stInvalid     = 0x0004
	stNotStored   = 0x0005
	stNonNumeric  = 0x0006
	stUnknownCmd  = 0x0081
	stOutOfMemory = 0x0082
)

var statusText = map[uint16]string{
	stNotFound:    "Not found",
	stExists:      "Data exists for key.",
	stTooLarge:    "Too large.",
	stInvalid:     "Invalid arguments",
	stNotStored:   "Not stored.",
	stNonNumeric:  "Non-numeric server-side value for incr or decr",
	stUnknownCmd:  "Unknown command",
	stOutOfMemory: "Out of memory",
}

// quietBase returns the base opcode of op and whether op is quiet.
func quietBase(op byte) (byte, bool) {
	switch op {
	case opGetQ:
		return opGet, true
	case opGetKQ:
		return opGetK, true
	case opSetQ:
		return opSet, true
	case opAddQ:
		return opAdd, true
	case opReplaceQ:
		return opReplace, true
	case opDeleteQ:
		return opDelete, true
	case opIncrQ:
		return opIncrement, true
	case opDecrQ:
		return opDecrement, true
	case opQuitQ:
		return opQuit, true
	case opFlushQ:
		return opFlush, true
	case opAppendQ:
		return opAppend, true
	case opPrependQ:
		return opPrepend, true
	case opGATQ:
		return opGAT, true
	case opGATKQ:
		return opGATK, true
	}
	return op, false
}

// binHeader is a decoded request header.
type binHeader struct {
	magic, opcode byte
	keyLen        uint16
	extLen        uint8
	bodyLen       uint32
	opaque        uint32
	cas           uint64
}

// binRequest is a request whose extras and key have been read; the value,
// if any, is still waiting on the connection (valueLen bytes).
type binRequest struct {
	binHeader
	base     byte
	quiet    bool
	extras   []byte
	key      []byte
	valueLen int
}

// readBinHeader reads the next request header.
func (c *conn) readBinHeader() (binHeader, error) {
	b, err := c.r.Peek(binHdrLen)
	if err != nil {
		return binHeader{}, err
	}
	h := binHeader{
		magic:   b[0],
		opcode:  b[1],
		keyLen:  binary.BigEndian.Uint16(b[2:]),
		extLen:  b[4],
		bodyLen: binary.BigEndian.Uint32(b[8:]),
		opaque:  binary.BigEndian.Uint32(b[12:]),
		cas:     binary.BigEndian.Uint64(b[16:]),
	}
	c.r.Discard(binHdrLen)
	return h, nil
}

// binShape reports whether a request's lengths fit its opcode, following
// memcached's dispatch_bin_command; known is false for unknown opcodes.
func binShape(base byte, h binHeader) (valid, known bool) {
	ext, key, body := int(h.extLen), int(h.keyLen), int(h.bodyLen)
	switch base {
	case opVersion, opNoop, opQuit:
		return ext == 0 && key == 0 && body == 0, true
	case opFlush:
		return key == 0 && body == ext && (ext == 0 || ext == 4), true
	case opSet, opAdd, opReplace:
		return ext == 8 && key > 0, true
	case opAppend, opPrepend:
		return ext == 0 && key > 0, true
	case opGet, opGetK, opDelete:
		return ext == 0 && key > 0 && body == key, true
	case opIncrement, opDecrement:
		return ext == 20 && key > 0 && body == key+ext, true
	case opTouch, opGAT, opGATK:
		return ext == 4 && key > 0 && body == key+ext, true
	case opStat:
		return ext == 0 && body == key, true
	}
	return false, false
}

// binDispatch answers one request; false means close the connection.
func (c *conn) binDispatch(h binHeader) bool {
	if int(h.keyLen)+int(h.extLen) > int(h.bodyLen) {
		c.binError(h, stUnknownCmd)
		return false
	}
	if int64(h.bodyLen) > 2*int64(c.srv.cfg.MaxItemSize)+binSlack {
		c.binError(h, stInvalid)
		return false
	}
	base, quiet := quietBase(h.opcode)
	valid, known := binShape(base, h)
	if !known {
		c.binError(h, stUnknownCmd)
		_, err := c.r.Discard(int(h.bodyLen))
		return err == nil
	}
	if !valid || h.keyLen > maxKeyLen {
		c.binError(h, stInvalid)
		return false
	}
	req := binRequest{binHeader: h, base: base, quiet: quiet}
	head := c.binHead[:int(h.extLen)+int(h.keyLen)]
	if err := c.r.readFull(head); err != nil {
		return false
	}
	req.extras, req.key = head[:h.extLen], head[h.extLen:]
	req.valueLen = int(h.bodyLen) - len(head)
	return c.binRun(&req)
}

// binRun runs a well-formed request; false means close the connection.
func (c *conn) binRun(r *binRequest) bool {
	switch r.base {
	case opGet, opGetK, opTouch, opGAT, opGATK:
		c.binGet(r)
	case opSet, opAdd, opReplace, opAppend, opPrepend:
		return c.binStore(r)
	case opDelete:
		c.binStatus(r, c.st.del(r.key, r.cas), 0)
	case opIncrement, opDecrement:
		c.binDelta(r)
	case opFlush:
		c.binFlush(r)
	case opStat:
		c.binStats(r)
	case opNoop:
		c.binRespond(r.binHeader, stOK, 0, nil, nil, nil)
	case opVersion:
		c.binRespond(r.binHeader, stOK, 0, nil, nil, []byte(c.srv.cfg.Version))
	case opQuit:
		if !r.quiet {
			c.binRespond(r.binHeader, stOK, 0, nil, nil, nil)
		}
		return false
	}
	return true
}

// binRespond writes one response header and body.
func (c *conn) binRespond(h binHeader, status uint16, cas uint64, extras, key, value []byte) {
	c.binResHeader(h, status, cas, len(extras), len(key), len(value))
	c.w.Write(extras)
	c.w.Write(key)
	c.w.Write(value)
}

// binResHeader writes a response header; it is built in the connection's
// scratch space, so that answering allocates nothing.
func (c *conn) binResHeader(h binHeader, status uint16, cas uint64, elen, klen, vlen int) {
	b := c.binOut[:]
	b[0], b[1] = binResMagic, h.opcode
	binary.BigEndian.PutUint16(b[2:], uint16(klen))
	b[4], b[5] = byte(elen), 0
	binary.BigEndian.PutUint16(b[6:], status)
	binary.BigEndian.PutUint32(b[8:], uint32(elen+klen+vlen))
	binary.BigEndian.PutUint32(b[12:], h.opaque)
	binary.BigEndian.PutUint64(b[16:], cas)
	c.w.Write(b)
}

// binError writes an error response with memcached's text for status.
func (c *conn) binError(h binHeader, status uint16) {
	text := statusText[status]
	c.binResHeader(h, status, 0, 0, 0, len(text))
	c.w.WriteString(text)
}
