package cache

import "errors"

// errShort says a request is not all there yet: the connection must wait
// for more bytes and then parse the request again from its start.
var errShort = errors.New("cache: request incomplete")

// inBuf is the input a connection has received and not yet consumed. It
// never blocks: a read that wants more bytes than are buffered fails with
// errShort and records how many it wanted, and the connection rolls back
// to the start of the request (see conn.process). Requests therefore read
// all their input before they change anything.
type inBuf struct {
	b     []byte
	r     int  // read position in b
	short bool // a read wanted more than b holds
	need  int  // then: the absolute position in b it wanted to reach
	skip  int  // bytes still to drop as they arrive (an oversize value)
}

// Buffered is how many unread bytes are held.
func (in *inBuf) Buffered() int { return len(in.b) - in.r }

func (in *inBuf) fail(n int) error {
	in.short = true
	in.need = in.r + n
	return errShort
}

// Peek returns the next n bytes without consuming them.
func (in *inBuf) Peek(n int) ([]byte, error) {
	if in.Buffered() < n {
		return nil, in.fail(n)
	}
	return in.b[in.r : in.r+n], nil
}

// has reports whether n bytes are buffered, marking the request short
// when they are not, so a caller can check before allocating.
func (in *inBuf) has(n int) bool {
	if in.Buffered() < n {
		in.fail(n)
		return false
	}
	return true
}

// readFull fills p from the buffer, or fails without consuming anything.
func (in *inBuf) readFull(p []byte) error {
	if in.Buffered() < len(p) {
		return in.fail(len(p))
	}
	in.r += copy(p, in.b[in.r:])
	return nil
}

// Discard drops n bytes: those buffered now and the rest as they arrive,
// so an oversize value is never held in memory. It cannot fail.
func (in *inBuf) Discard(n int) (int, error) {
	if avail := in.Buffered(); n > avail {
		in.skip += n - avail
		n = avail
	}
	in.r += n
	return n, nil
}

// dropSkipped consumes buffered bytes still owed to an earlier Discard.
func (in *inBuf) dropSkipped() {
	n := min(in.skip, in.Buffered())
	in.r += n
	in.skip -= n
}

// outBuf collects a connection's replies until they are written in one go.
type outBuf struct {
	b []byte
}

func (w *outBuf) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *outBuf) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

func (w *outBuf) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}

// reset empties the buffer once written, letting a large one go.
func (w *outBuf) reset() {
	if cap(w.b) > 1<<20 {
		w.b = nil
	} else {
		w.b = w.b[:0]
	}
}

// outHighWater is how much reply a connection may build up before it
// stops taking requests until the client has read some: pipelined gets of
// large values cannot grow the buffer without bound.
const outHighWater = 256 << 10

// Protocols of a connection, chosen by its first byte as in memcached.
const (
	protoUnknown = iota
	protoText
	protoBinary
)

// process answers the complete requests at the start of src, appending
// replies to c.w. It returns how many bytes it consumed; the caller keeps
// the rest and calls again with more. keep is false once the connection
// must close (quit, a protocol error or a line without end). It stops
// early, with c.stalled set, when the replies pass outHighWater.
func (c *conn) process(src []byte) (used int, keep bool) {
	c.r = inBuf{b: src, skip: c.r.skip}
	c.stalled = false
	c.want = 0
	for {
		c.r.dropSkipped()
		if c.r.Buffered() == 0 {
			return c.r.r, true
		}
		if len(c.w.b) >= outHighWater {
			c.stalled = true
			return c.r.r, true
		}
		mark, omark := c.r.r, len(c.w.b)
		ok := c.step()
		if c.r.short {
			// Roll back; nothing was changed before the short read.
			c.want = c.r.need - mark
			c.r.r, c.r.short = mark, false
			c.w.b = c.w.b[:omark]
			return mark, true
		}
		if !ok {
			return c.r.r, false
		}
	}
}

// step answers one request; false means close the connection.
func (c *conn) step() bool {
	if c.proto == protoUnknown {
		c.proto = protoText
		if c.r.b[c.r.r] == binReqMagic {
			c.proto = protoBinary
		}
	}
	if c.proto == protoBinary {
		h, err := c.readBinHeader()
		if err != nil || h.magic != binReqMagic {
			return false
		}
		return c.binDispatch(h)
	}
	line, err := c.readLine()
	if err != nil {
		return false
	}
	return c.dispatch(line)
}

// pending is a connection's received but unanswered input, kept between
// reads in its own buffer.
type pending struct {
	b []byte
}

// consume drops the first n held bytes, after process used them.
func (p *pending) consume(n int) {
	p.b = p.b[:copy(p.b, p.b[n:])]
	p.shrink()
}

// hold keeps rest, the unconsumed tail of a read into shared scratch
// space, which the next connection's read reuses.
func (p *pending) hold(rest []byte) {
	p.b = append(p.b[:0], rest...)
	p.shrink()
}

// shrink lets a large value's buffer go once it is empty.
func (p *pending) shrink() {
	if len(p.b) == 0 && cap(p.b) > 64<<10 {
		p.b = nil
	}
}

// space returns room to read into after the held bytes: at least want
// bytes in all (the size of the request being assembled) and at least
// minRead free.
func (p *pending) space(want, minRead int) []byte {
	need := max(want, len(p.b)+minRead)
	if cap(p.b) < need {
		nb := make([]byte, len(p.b), max(need, 2*cap(p.b)))
		copy(nb, p.b)
		p.b = nb
	}
	return p.b[len(p.b):cap(p.b)]
}
