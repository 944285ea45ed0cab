package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// serveLoops serves plain HTTP on event loops (loop.go), with fasthttp
// behind them for the connections they hand over.
func (p *Proxy) serveLoops(ctx context.Context, ln *net.TCPListener, drain time.Duration) error {
	var loops []*loop
	for range runtime.GOMAXPROCS(0) {
		l, err := newLoop(p)
		if err != nil {
			for _, l := range loops {
				l.ep.Close()
				syscall.Close(l.wakefd)
			}
			return fmt.Errorf("serve %s: event loop: %w", ln.Addr(), err)
		}
		loops = append(loops, l)
	}
	hl := &handoffListener{addr: ln.Addr(), conns: make(chan net.Conn), done: make(chan struct{})}
	p.handoff.Store(hl)
	srvErr := make(chan error, 1)
	go func() { srvErr <- p.srv.Serve(hl) }()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() { defer wg.Done(); l.run() }()
	}
	accErr := make(chan error, 1)
	go func() { accErr <- p.accept(ln, loops) }()

	var err error
	select {
	case err = <-accErr:
		accErr <- err
	case err = <-srvErr:
		srvErr <- err
	case <-ctx.Done():
	}
	if err != nil {
		err = fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	ln.Close()
	<-accErr
	for _, l := range loops {
		l.stopping.Store(true)
		l.wake()
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	loopsDone := make(chan struct{})
	go func() { wg.Wait(); close(loopsDone) }()
	serr := p.srv.ShutdownWithContext(sctx)
	hl.Close()
	select {
	case <-loopsDone:
	case <-sctx.Done():
		for _, l := range loops {
			l.kill.Store(true)
			l.wake()
		}
		<-loopsDone
	}
	<-srvErr
	p.shutdownAux()
	if err == nil && serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
		err = fmt.Errorf("drain: %w", serr)
	}
	return err
}

// accept hands each new client connection to the least loaded loop. The
// loop takes over a duplicate of the socket; the net.Conn is closed.
func (p *Proxy) accept(ln *net.TCPListener, loops []*loop) error {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			p.log.Warn("accept", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		nfd := -1
		if rc, err := c.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) {
				r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
				if e == 0 {
					nfd = int(r)
				}
			})
		}
		local, remote := c.LocalAddr(), c.RemoteAddr()
		c.Close()
		if nfd < 0 {
			continue
		}
		best := loops[0]
		for _, l := range loops[1:] {
			if l.load.Load() < best.load.Load() {
				best = l
			}
		}
		best.hand(acceptedConn{fd: nfd, local: local, remote: remote})
	}
}

// handoffListener is how connections reach fasthttp from the loops: its
// Accept returns the connections they hand over.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (h *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoffListener) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoffListener) Addr() net.Addr { return h.addr }

// give passes c to fasthttp, or closes it when the server is shut down.
func (h *handoffListener) give(c net.Conn) {
	select {
	case h.conns <- c:
	case <-h.done:
		c.Close()
	}
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// fdConn turns a socket a loop owned into a net.Conn.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return newRawConn(nc), nil
}

// handoff passes the client connection, with the bytes read so far, to
// fasthttp.
func (c *clientConn) handoff() {
	l := c.l
	fd := c.fd
	l.forget(fd)
	c.fd = -1
	c.detach()
	pre := append([]byte(nil), c.in...)
	go l.p.adopt(fd, pre)
}

func (p *Proxy) adopt(fd int, pre []byte) {
	nc, err := fdConn(fd)
	if err != nil {
		p.log.Warn("hand connection over", "err", err)
		return
	}
	p.handoff.Load().give(&prefixConn{Conn: nc, pre: pre})
}

// handoffResponse passes an exchange whose response the loop does not
// stream itself (interim, chunked, large, read to close) to a goroutine,
// with both connections; the client connection then goes to fasthttp.
func (l *loop) handoffResponse(c *clientConn, u *upstream) {
	cfd, ufd := c.fd, u.fd
	l.forget(cfd)
	l.forget(ufd)
	c.fd, u.fd = -1, -1
	c.up = nil
	c.detach()
	l.ups--
	pre := append([]byte(nil), c.in...)
	upIn := append([]byte(nil), u.in...)
	go l.p.finishResponse(c.ctx, c.x, cfd, pre, ufd, upIn)
}

// finishResponse reads the response (again, from its first byte) and
// streams it to the client as the goroutine path does.
func (p *Proxy) finishResponse(ctx *fasthttp.RequestCtx, lx loopExchange, cfd int, pre []byte, ufd int, upIn []byte) {
	b := lx.backend
	defer b.active.Add(-1)
	cc, err := fdConn(cfd)
	if err != nil {
		syscall.Close(ufd)
		b.conns.Add(-1)
		return
	}
	uc, err := fdConn(ufd)
	if err != nil {
		syscall.Close(ufd)
		b.conns.Add(-1)
		cc.Close()
		return
	}
	up := &upConn{Conn: uc, b: b}
	up.br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(upIn), up), 16<<10)
	up.bw = bufio.NewWriterSize(up.Conn, 16<<10)
	b.track(up)
	x := exchange{p: p, st: lx.st, ctx: ctx, now: lx.now, idem: lx.idem, backend: b, upstream: lx.upstream}
	resp := &ctx.Response
	resp.Reset()
	resp.Header.DisableNormalizing()
	resp.Header.SetNoDefaultContentType(true)
	_ = up.Conn.SetDeadline(lx.t0.Add(time.Duration(lx.st.cfg.ReadTimeout)))
	err = readResponseHeader(up, &resp.Header)
	if err != nil {
		up.abandon()
	} else {
		err = x.readBody(up)
	}
	if err != nil {
		x.fail(b)
		resp.Reset()
		ctx.Error(fasthttp.StatusMessage(fasthttp.StatusBadGateway)+"\n", fasthttp.StatusBadGateway)
	} else {
		b.succeed()
		if lx.assign {
			opt := &lx.st.cfg.Sticky
			resp.Header.DelCookie(opt.Name)
			var buf [256]byte
			resp.Header.AddBytesV("Set-Cookie", lx.st.sticky.setCookie(buf[:0], idxOf(lx.st, b), lx.now))
		}
	}
	// Logged before the write, as on the goroutine path: a streamed body
	// is gone once written, and the line would say 0 bytes.
	p.logAccess(ctx, b, lx.upstream)
	bw := bufio.NewWriter(cc)
	werr := resp.Write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	closeIt := werr != nil || resp.ConnectionClose()
	resp.Reset()
	if closeIt {
		cc.Close()
		return
	}
	p.handoff.Load().give(&prefixConn{Conn: cc, pre: pre})
}
