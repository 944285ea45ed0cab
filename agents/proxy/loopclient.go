package proxy

import (
	"net"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// clientConn is a client connection served by a loop.
type clientConn struct {
	l   *loop
	fd  int
	gen int32
	ctx *fasthttp.RequestCtx

	in      []byte // received, not yet parsed
	out     []byte // answer not yet written
	mayRead bool   // the socket may hold unread bytes
	hup     bool   // epoll saw the client's end of input: read to EOF
	eof     bool   // the client closed its side

	busy       bool      // a request is between its head and its answer
	closeAfter bool      // close once the answer is written
	since      time.Time // start of the idle wait or of a partial head
	up         *upstream // the backend connection of the request in flight
	x          loopExchange
}

// loopExchange is the request in flight on a clientConn.
type loopExchange struct {
	st       *state
	now      time.Time
	idem     bool
	want     int
	assign   bool
	tried    uint64
	status   int
	backend  *backend
	fresh    bool
	t0       time.Time
	upstream time.Duration
	head     []byte
}

// addrConn gives a RequestCtx its connection's addresses.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *addrConn) LocalAddr() net.Addr  { return c.local }
func (c *addrConn) RemoteAddr() net.Addr { return c.remote }

func (l *loop) addClient(a acceptedConn) {
	c := &clientConn{l: l, fd: a.fd, ctx: &fasthttp.RequestCtx{}, in: make([]byte, 0, loopMaxRequestHead), since: time.Now(), mayRead: true}
	c.ctx.Init2(&addrConn{local: a.local, remote: a.remote}, fasthttpLogger{l.p.log}, false)
	c.ctx.Response.Header.DisableNormalizing()
	c.ctx.Response.Header.SetNoDefaultContentType(true)
	gen, err := l.register(a.fd, c)
	if err != nil {
		syscall.Close(a.fd)
		l.load.Add(-1)
		l.p.loopClients.Add(-1)
		return
	}
	c.gen = gen
	l.clients[c] = struct{}{}
	c.read()
}

func (c *clientConn) event(ev uint32) {
	if ev&(syscall.EPOLLIN|syscall.EPOLLERR|syscall.EPOLLHUP|syscall.EPOLLRDHUP) != 0 {
		c.mayRead = true
	}
	if ev&(syscall.EPOLLERR|syscall.EPOLLHUP|syscall.EPOLLRDHUP) != 0 {
		c.hup = true
	}
	if ev&syscall.EPOLLOUT != 0 && len(c.out) > 0 {
		if !c.flush() {
			return
		}
		c.since = time.Now()
	}
	c.read() // also serves requests that waited for the answer to go out
}

// read takes what the socket holds (as far as the buffer allows) and
// serves complete requests.
func (c *clientConn) read() {
	for c.mayRead && len(c.in) < cap(c.in) && !c.eof {
		buf := c.in[len(c.in):cap(c.in)]
		n, e := rawRead(c.fd, buf)
		switch {
		case e == syscall.EAGAIN:
			c.mayRead = false
		case e != 0:
			c.close()
			return
		case n == 0:
			c.eof = true
			c.mayRead = false
		default:
			if len(c.in) == 0 && !c.busy {
				c.since = time.Now() // the head's time starts with its first byte
			}
			c.in = c.in[:len(c.in)+n]
			// A short read emptied the socket: the next edge tells of more.
			// Not of an end of input that came with these bytes, though:
			// that edge is this one, so then read on to the EOF.
			c.mayRead = n == len(buf) || c.hup
		}
	}
	c.serve()
}

// serve starts the next complete request, if the connection is free.
func (c *clientConn) serve() {
	if c.busy || len(c.out) > 0 {
		return
	}
	if len(c.in) == 0 {
		if c.eof || c.closeAfter {
			c.close()
		}
		return
	}
	end := headEnd(c.in)
	if end < 0 {
		if len(c.in) == cap(c.in) || c.eof {
			c.handoff() // fasthttp answers what it makes of it
		}
		return
	}
	l := c.l
	h := &c.ctx.Request.Header
	h.DisableNormalizing()
	l.src.Reset(c.in[:end])
	l.br.Reset(&l.src)
	if err := h.Read(l.br); err != nil || l.br.Buffered() != 0 || l.src.Len() != 0 || !plainRequest(h) {
		c.handoff()
		return
	}
	c.in = c.in[:copy(c.in, c.in[end:])]
	c.start()
}

// plainRequest reports a request the loop serves itself: HTTP/1.1, keep
// alive, no body, no upgrade, no Expect, a Host.
func plainRequest(h *fasthttp.RequestHeader) bool {
	if !h.IsHTTP11() || h.ConnectionClose() || h.ContentLength() != -2 || len(h.Host()) == 0 || h.IsConnect() {
		return false
	}
	raw := h.RawHeaders()
	return headerValue(raw, "Content-Length") == nil && headerValue(raw, "Transfer-Encoding") == nil &&
		headerValue(raw, "Upgrade") == nil && headerValue(raw, "Expect") == nil
}

// start routes the parsed request: the sticky backend first when the
// cookie names a live one, else a balanced pick (as forward does).
func (c *clientConn) start() {
	p := c.l.p
	st := p.state.Load()
	ctx := c.ctx
	c.busy = true
	x := &c.x
	*x = loopExchange{st: st, now: time.Now(), idem: idempotent(ctx.Method()), status: fasthttp.StatusBadGateway, head: x.head}
	x.head = appendRequestHead(x.head[:0], ctx, -2, false)
	opt := &st.cfg.Sticky
	x.want = st.sticky.lookup(ctx.Request.Header.Cookie(opt.Name))
	idx := x.want
	if x.want >= 0 && !st.backends[x.want].available(x.now) {
		if opt.NoFallback {
			c.fail(fasthttp.StatusBadGateway, "502 Bad Gateway: sticky backend down\n")
			return
		}
		idx = -1
	}
	if idx < 0 {
		idx, x.assign = st.pick(0, x.now), true
	}
	c.attempt(idx)
}

// attempt sends the request to backend idx (-1: none is left).
func (c *clientConn) attempt(idx int) {
	x := &c.x
	if idx < 0 {
		c.fail(x.status, fasthttp.StatusMessage(x.status)+"\n")
		return
	}
	x.tried |= 1 << idx
	b := x.st.backends[idx]
	x.backend = b
	x.fresh = false
	b.requests.Add(1)
	b.active.Add(1)
	c.send()
}

// send writes the request to a pooled or new connection to x.backend.
func (c *clientConn) send() {
	x := &c.x
	b := x.backend
	cfg := &x.st.cfg
	x.t0 = time.Now()
	var u *upstream
	if !x.fresh {
		u = c.l.getIdle(b)
	}
	if u == nil {
		var err error
		if u, err = c.l.dial(b); err != nil {
			c.connectFailed()
			return
		}
		u.deadline = x.t0.Add(time.Duration(cfg.ConnectTimeout))
	} else {
		u.deadline = x.t0.Add(time.Duration(cfg.ReadTimeout))
	}
	u.client = c
	c.up = u
	// Armed, then checked, as forward.go does: a backend marked down
	// since it was picked is left now when another can answer.
	if c.abortable() && !b.available(x.now) && x.st.otherAvailable(b) {
		c.up = nil
		u.close()
		c.next(nextPeer, fasthttp.StatusBadGateway)
		return
	}
	if !u.connecting {
		u.write(x.head)
	}
}

// abortable reports whether the request may be cut short and retried when
// its backend goes down (forward.go's rule).
func (c *clientConn) abortable() bool {
	return c.x.idem && !c.x.st.cfg.Sticky.NoFallback
}

// connectFailed accounts a failed connect and moves on to the next backend.
func (c *clientConn) connectFailed() {
	x := &c.x
	(&exchange{p: c.l.p, st: x.st, now: x.now}).connectFailed(x.backend)
	c.next(nextPeer, fasthttp.StatusBadGateway)
}

// failed accounts a failed attempt after the request went out.
func (c *clientConn) failed(timedOut bool) {
	x := &c.x
	(&exchange{p: c.l.p, st: x.st, now: x.now}).fail(x.backend)
	status := fasthttp.StatusBadGateway
	if timedOut {
		status = fasthttp.StatusGatewayTimeout
	}
	c.next(failedIdem, status)
}

// next ends the attempt on x.backend and tries another backend where
// forward.go would.
func (c *clientConn) next(out outcome, status int) {
	x := &c.x
	x.backend.active.Add(-1)
	x.status = status
	if out == failed || (out == failedIdem && !x.idem) || (x.want >= 0 && x.st.cfg.Sticky.NoFallback) {
		c.fail(status, fasthttp.StatusMessage(status)+"\n")
		return
	}
	x.backend.retries.Add(1)
	idx := x.st.pick(x.tried, x.now)
	x.assign = true
	c.attempt(idx)
}

// retryFresh sends the request again on a new connection to the same
// backend: the pooled one had been closed by the backend.
func (c *clientConn) retryFresh() {
	x := &c.x
	c.l.dropIdle(x.backend)
	x.backend.retries.Add(1)
	x.fresh = true
	c.send()
}

// fail answers an error of the proxy's own.
func (c *clientConn) fail(status int, msg string) {
	c.ctx.Response.Reset()
	c.ctx.Error(msg, status)
	c.answer(nil)
}

// done answers with the backend's response (head in ctx.Response, body
// given).
func (c *clientConn) done(body []byte) {
	x := &c.x
	b := x.backend
	b.succeed()
	b.active.Add(-1)
	if x.assign {
		opt := &x.st.cfg.Sticky
		c.ctx.Response.Header.DelCookie(opt.Name)
		var buf [256]byte
		c.ctx.Response.Header.AddBytesV("Set-Cookie", x.st.sticky.setCookie(buf[:0], idxOf(x.st, b), x.now))
	}
	c.answer(body)
}

func idxOf(st *state, b *backend) int {
	for i, o := range st.backends {
		if o == b {
			return i
		}
	}
	return -1
}

// answer writes the response, logs it and frees the connection for the
// next request.
func (c *clientConn) answer(body []byte) {
	resp := &c.ctx.Response
	if body == nil && !resp.SkipBody {
		body = resp.Body()
		resp.Header.SetContentLength(len(body))
	} else if body != nil {
		resp.SetBodyRaw(body) // for the access log
	}
	if c.closeAfter || c.l.stopping.Load() {
		c.closeAfter = true
		resp.Header.SetConnectionClose()
	}
	c.out = resp.Header.AppendBytes(c.out[:0])
	if !resp.SkipBody {
		c.out = append(c.out, body...)
	}
	c.l.p.logAccess(c.ctx, c.x.backend, c.x.upstream)
	c.busy = false
	c.up = nil
	resp.Reset()
	resp.Header.DisableNormalizing()
	resp.Header.SetNoDefaultContentType(true)
	if !c.flush() {
		return
	}
	c.since = time.Now()
	c.read()
}

// flush writes pending output; it reports false when the connection is
// gone or still has output pending.
func (c *clientConn) flush() bool {
	n, e := rawWrite(c.fd, c.out)
	if e == syscall.EAGAIN {
		c.out = c.out[:copy(c.out, c.out[n:])]
		return false
	}
	if e != 0 {
		c.close()
		return false
	}
	c.out = c.out[:0]
	if cap(c.out) > loopKeepBuffer {
		c.out = nil // an idle connection does not hold a large answer's buffer
	}
	if c.closeAfter {
		c.close()
		return false
	}
	return true
}

// scan enforces the client timeouts and the wait on the backend.
func (c *clientConn) scan(now time.Time) {
	cfg := &c.l.p.state.Load().cfg
	if u := c.up; u != nil {
		u.scan(now)
		return
	}
	if c.busy || len(c.out) > 0 {
		return
	}
	limit := time.Duration(cfg.IdleTimeout)
	if len(c.in) > 0 {
		limit = time.Duration(cfg.ClientHeaderTimeout)
	}
	if limit > 0 && now.Sub(c.since) > limit {
		c.close()
	}
}

// close closes the connection, abandoning a request in flight.
func (c *clientConn) close() {
	if c.fd < 0 {
		return
	}
	if u := c.up; u != nil {
		c.up = nil
		u.abandon()
		c.x.backend.active.Add(-1)
	}
	c.l.release(c.fd)
	c.fd = -1
	c.detach()
}

// detach removes c from its loop's books.
func (c *clientConn) detach() {
	delete(c.l.clients, c)
	c.l.load.Add(-1)
	c.l.p.loopClients.Add(-1)
}
