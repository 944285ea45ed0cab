package proxy

import (
	"net"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// upstream is a loop's connection to a backend.
type upstream struct {
	l  *loop
	fd int
	b  *backend

	in         []byte // response bytes received
	out        []byte // request bytes not yet written
	client     *clientConn
	idle       bool
	reused     bool
	connecting bool
	nread      int
	deadline   time.Time
	headLen    int  // parsed response head length, 0 before
	need       int  // bytes (head and body) the response takes
	hup        bool // epoll saw the backend's end of input: read to EOF
	upClose    bool
}

// dial starts a non-blocking connect to b.
func (l *loop) dial(b *backend) (*upstream, error) {
	family, sa := socketAddr(b.addr)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	connecting := false
	if err := syscall.Connect(fd, sa); err == syscall.EINPROGRESS {
		connecting = true
	} else if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	u := &upstream{l: l, fd: fd, b: b, connecting: connecting, in: make([]byte, 0, loopMaxResponseHead)}
	if _, err := l.register(fd, u); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	l.ups++
	b.conns.Add(1)
	return u, nil
}

func socketAddr(a *net.TCPAddr) (int, syscall.Sockaddr) {
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return syscall.AF_INET, sa
	}
	sa := &syscall.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	return syscall.AF_INET6, sa
}

func (u *upstream) event(ev uint32) {
	if u.connecting {
		if ev&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
			return
		}
		if u.connected() {
			return
		}
	}
	if ev&syscall.EPOLLOUT != 0 && len(u.out) > 0 {
		if !u.flush() {
			return
		}
	}
	if ev&(syscall.EPOLLERR|syscall.EPOLLHUP|syscall.EPOLLRDHUP) != 0 {
		u.hup = true
	}
	if ev&(syscall.EPOLLIN|syscall.EPOLLERR|syscall.EPOLLHUP|syscall.EPOLLRDHUP) != 0 {
		u.read()
	}
}

// connected finishes a connect; it reports whether u is gone.
func (u *upstream) connected() bool {
	c := u.client
	v, err := syscall.GetsockoptInt(u.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err == nil && v != 0 {
		err = syscall.Errno(v)
	}
	if err != nil {
		u.close()
		if c != nil {
			c.up = nil
			c.connectFailed()
		}
		return true
	}
	u.connecting = false
	if c != nil {
		u.deadline = c.x.t0.Add(time.Duration(c.x.st.cfg.ReadTimeout))
		u.write(c.x.head)
		return u.fd < 0
	}
	return false
}

// write sends a request; what the socket does not take now goes out on
// the next EPOLLOUT.
func (u *upstream) write(p []byte) {
	u.nread = 0
	u.in = u.in[:0]
	u.headLen = 0
	n, e := rawWrite(u.fd, p)
	if e == syscall.EAGAIN {
		u.out = append(u.out[:0], p[n:]...)
		return
	}
	if e != 0 {
		u.broken(false)
	}
}

func (u *upstream) flush() bool {
	n, e := rawWrite(u.fd, u.out)
	if e == syscall.EAGAIN {
		u.out = u.out[:copy(u.out, u.out[n:])]
		return false
	}
	u.out = u.out[:0]
	if e != 0 {
		u.broken(false)
		return false
	}
	return true
}

// read takes the response bytes the socket holds.
func (u *upstream) read() {
	for {
		if u.client == nil {
			// Idle in the pool: the backend closed it (or talks out of
			// turn). Either way it is of no use any more.
			var buf [64]byte
			if _, e := rawRead(u.fd, buf[:]); e != syscall.EAGAIN {
				u.closeIdle()
			}
			return
		}
		if len(u.in) == cap(u.in) {
			if u.headLen == 0 || u.need <= cap(u.in) {
				u.broken(false) // a head larger than the buffer
				return
			}
			grown := make([]byte, len(u.in), u.need)
			copy(grown, u.in)
			u.in = grown
		}
		buf := u.in[len(u.in):cap(u.in)]
		n, e := rawRead(u.fd, buf)
		if e == syscall.EAGAIN {
			return
		}
		if e != 0 || n == 0 {
			u.broken(false)
			return
		}
		u.in = u.in[:len(u.in)+n]
		u.nread += n
		if u.response() || (n < len(buf) && !u.hup) {
			return
		}
	}
}

// response processes the bytes received; it reports whether the exchange
// left this connection (answered, failed or handed off).
func (u *upstream) response() bool {
	c := u.client
	if u.headLen == 0 {
		end := headEnd(u.in)
		if end < 0 {
			return false
		}
		resp := &c.ctx.Response
		h := &resp.Header
		l := u.l
		l.src.Reset(u.in[:end])
		l.br.Reset(&l.src)
		if err := h.Read(l.br); err != nil || l.br.Buffered() != 0 || l.src.Len() != 0 {
			u.broken(false)
			return true
		}
		s := h.StatusCode()
		cl := h.ContentLength()
		head := c.ctx.IsHead() || s == 204 || s == 304
		if s < 200 || (!head && (cl < 0 || cl > maxBufferedResponse)) {
			// Interim answers, upgrades, chunked, large or read-to-close
			// bodies: the goroutine path streams them.
			c.x.upstream = time.Since(c.x.t0)
			u.l.handoffResponse(c, u)
			return true
		}
		u.upClose = h.ConnectionClose()
		h.ResetConnectionClose()
		stripResponseHopByHop(h)
		u.headLen = end
		u.need = end
		if head {
			resp.SkipBody = c.ctx.IsHead()
			u.upClose = u.upClose || cl == -2
		} else {
			u.need += cl
		}
		c.x.upstream = time.Since(c.x.t0)
	}
	if len(u.in) < u.need {
		return false
	}
	body := u.in[u.headLen:u.need]
	c.up = nil
	if u.upClose || len(u.in) > u.need {
		u.close()
	} else {
		u.l.putIdle(u, c.x.st.cfg.KeepAlive)
	}
	c.done(body)
	return true
}

// broken handles a connection that failed before its response was
// complete: a dead pooled connection is retried on a fresh one, anything
// else is a failed attempt.
func (u *upstream) broken(timedOut bool) {
	c := u.client
	u.abandon()
	if c == nil {
		return
	}
	c.up = nil
	if u.reused && u.nread == 0 && !timedOut {
		c.retryFresh()
		return
	}
	c.failed(timedOut)
}

// scan enforces the connect and read deadlines, and cuts short a wait on a
// backend that went down (see down.go).
func (u *upstream) scan(now time.Time) {
	c := u.client
	if now.After(u.deadline) {
		if u.connecting {
			u.close()
			c.up = nil
			c.connectFailed()
			return
		}
		u.broken(true)
		return
	}
	x := &c.x
	if u.connecting || u.nread > 0 || !c.abortable() {
		return
	}
	if !u.b.available(now) && x.st.otherAvailable(u.b) {
		u.b.aborted.Add(1)
		u.abandon()
		c.up = nil
		c.next(nextPeer, fasthttp.StatusGatewayTimeout)
	}
}

// abandon closes u with linger 0 (see upConn.abandon).
func (u *upstream) abandon() {
	if u.fd < 0 {
		return
	}
	_ = syscall.SetsockoptLinger(u.fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	u.close()
}

func (u *upstream) close() {
	if u.fd < 0 {
		return
	}
	u.l.release(u.fd)
	u.fd = -1
	u.l.ups--
	u.b.conns.Add(-1)
}

// closeIdle closes a pooled connection and takes it out of the pool.
func (u *upstream) closeIdle() {
	if u.idle {
		idle := u.l.idle[u.b]
		for i, o := range idle {
			if o == u {
				u.l.idle[u.b] = append(idle[:i], idle[i+1:]...)
				break
			}
		}
		u.idle = false
		u.b.loopIdle.Add(-1)
	}
	u.close()
}
