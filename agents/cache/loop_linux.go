package cache

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// The event loops serve TCP connections the way memcached's worker
// threads do: one loop per CPU the process may use, each a goroutine
// locked to its thread that blocks in epoll_wait on its share of the
// connections, reads what a readable connection has (once: level-triggered
// epoll reports it again if more waits), answers every complete request in
// it and writes the replies in one go. Compared with a goroutine per
// connection this saves, per request, the read that ends in EAGAIN, the
// park and wake-up of the goroutine and the scheduler's thread hand-offs.

// loopReadSize is the shared scratch space a loop reads into; a
// connection only keeps its own buffer for a request split across reads.
const loopReadSize = 64 << 10

type loop struct {
	srv     *Server
	epfd    int
	wakeR   int // read end of a pipe that wakes the loop for Close
	wakeW   int
	buf     []byte
	mu      sync.Mutex // guards conns and stopped against the accepting goroutine
	conns   map[int32]*loopConn
	stopped bool
	events  [256]syscall.EpollEvent
}

// loopConn is a connection served by a loop.
type loopConn struct {
	*conn
	fd      int32
	wpos    int  // bytes of c.w.b already written
	waitOut bool // waiting for EPOLLOUT to write the rest
	closing bool // close once the replies are out
}

// loops is the set of event loops a Server starts on its first TCP
// listener.
type loops struct {
	once sync.Once
	err  error
	all  []*loop
	next int
	mu   sync.Mutex
}

func newLoop(s *Server) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	l := &loop{srv: s, epfd: epfd, wakeR: p[0], wakeW: p[1], buf: make([]byte, loopReadSize), conns: map[int32]*loopConn{}}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

func (l *loop) release() {
	syscall.Close(l.epfd)
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
}

// startLoops starts the loops once; later calls return the same result.
func (s *Server) startLoops() error {
	s.loops.once.Do(func() {
		n := s.cfg.Loops
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		for i := 0; i < n; i++ {
			l, err := newLoop(s)
			if err != nil {
				s.loops.err = err
				for _, l := range s.loops.all {
					l.release()
				}
				s.loops.all = nil
				return
			}
			s.loops.all = append(s.loops.all, l)
		}
		for _, l := range s.loops.all {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				l.run()
			}()
		}
	})
	return s.loops.err
}

// stopLoops wakes every loop to close its connections and end.
func (s *Server) stopLoops() {
	s.loops.mu.Lock()
	defer s.loops.mu.Unlock()
	for _, l := range s.loops.all {
		syscall.Write(l.wakeW, []byte{1})
	}
}

// serveLoops accepts on a TCP listener and hands each connection to a
// loop. It reports false when the listener cannot be served this way.
func (s *Server) serveLoops(ln net.Listener) (bool, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return false, nil
	}
	if err := s.startLoops(); err != nil {
		s.log.Warn("event loops unavailable; serving a goroutine per connection", "err", err)
		return false, nil
	}
	for {
		tc, err := tl.AcceptTCP()
		if err != nil {
			if s.isClosed() {
				return true, nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.log.Error("accept failed", "err", err)
			return true, err
		}
		// Take the socket over from the runtime's poller: a duplicate
		// descriptor (non-blocking like the original, which shares its
		// file status flags) for the loop, and the original closed.
		fd := -1
		if rc, err := tc.SyscallConn(); err == nil {
			rc.Control(func(sfd uintptr) {
				if nfd, err := syscall.Dup(int(sfd)); err == nil {
					syscall.CloseOnExec(nfd)
					fd = nfd
				}
			})
		}
		tc.Close()
		if fd < 0 {
			s.log.Warn("cannot take over an accepted connection")
			continue
		}
		s.addLoopConn(fd)
	}
}

// addLoopConn admits an accepted socket, or refuses it over max-conns.
func (s *Server) addLoopConn(fd int) {
	if s.currConns.Load() >= int64(s.cfg.MaxConns) {
		if s.rejected.Add(1) == 1 {
			s.log.Warn("connection limit reached; refusing connections", "max_conns", s.cfg.MaxConns)
		}
		// memcached's own words when it is over -c.
		syscall.Write(fd, []byte("ERROR Too many open connections\r\n"))
		syscall.Close(fd)
		return
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	s.loops.mu.Lock()
	l := s.loops.all[s.loops.next%len(s.loops.all)]
	s.loops.next++
	s.loops.mu.Unlock()
	lc := &loopConn{conn: s.newConn(), fd: int32(fd)}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		syscall.Close(fd)
		return
	}
	s.currConns.Add(1)
	s.totalConns.Add(1)
	l.conns[lc.fd] = lc
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.close(lc)
	}
}

// run serves the loop's connections until the server closes.
func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.release()
	for {
		n, err := l.wait()
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			l.srv.log.Error("epoll_wait failed", "err", err)
			l.shutdown()
			return
		}
		for i := 0; i < n; i++ {
			ev := &l.events[i]
			if int(ev.Fd) == l.wakeR {
				l.shutdown()
				return
			}
			l.mu.Lock()
			c := l.conns[ev.Fd]
			l.mu.Unlock()
			if c == nil {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 && c.waitOut {
				if !l.flush(c) {
					continue
				}
				if c.closing {
					l.close(c)
					continue
				}
				l.drive(c, nil)
				continue
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				l.readable(c)
			}
		}
	}
}

// wait returns the next events. It first polls without blocking, which
// under load usually finds some and costs the scheduler nothing; only an
// idle loop blocks, in a system call the runtime knows about (so that it
// can hand the processor to other goroutines meanwhile).
func (l *loop) wait() (int, error) {
	// epoll_pwait with no signal mask: arm64 has no epoll_wait.
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd),
		uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
	if e == 0 && r > 0 {
		return int(r), nil
	}
	return syscall.EpollWait(l.epfd, l.events[:], -1)
}

// rawIO reads or writes a non-blocking socket. It never blocks, so it
// skips the runtime's system-call bookkeeping (which lets another thread
// take the processor over during a call that might block): that is a
// tenth of the cost of a small request.
func rawIO(trap uintptr, fd int32, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// readable reads what c has and answers it.
func (l *loop) readable(c *loopConn) {
	if c.waitOut {
		return // the client is not reading its replies; wait
	}
	fromScratch := len(c.pend.b) == 0
	var dst []byte
	if fromScratch {
		dst = l.buf
	} else {
		dst = c.pend.space(c.want, readBufSize)
	}
	n, err := rawIO(syscall.SYS_READ, c.fd, dst)
	if n <= 0 {
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return
		}
		l.close(c) // EOF or a broken connection
		return
	}
	if fromScratch {
		l.drive(c, l.buf[:n])
		return
	}
	c.pend.b = c.pend.b[:len(c.pend.b)+n]
	l.drive(c, nil)
}

// drive answers the complete requests in src (nil: in c's own buffer),
// keeps the rest, and writes the replies.
func (l *loop) drive(c *loopConn, src []byte) {
	for {
		var used int
		var keep bool
		if src != nil {
			used, keep = c.process(src)
			c.pend.hold(src[used:])
			src = nil
		} else {
			used, keep = c.process(c.pend.b)
			c.pend.consume(used)
		}
		if !keep {
			c.closing = true
		}
		if !l.flush(c) {
			return // the rest goes out on EPOLLOUT
		}
		if c.closing {
			l.close(c)
			return
		}
		if !c.stalled {
			return
		}
	}
}

// flush writes c's replies. It reports false when some must wait for
// EPOLLOUT or the connection broke (and was closed).
func (l *loop) flush(c *loopConn) bool {
	for c.wpos < len(c.w.b) {
		n, err := rawIO(syscall.SYS_WRITE, c.fd, c.w.b[c.wpos:])
		if n > 0 {
			c.wpos += n
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			if !c.waitOut {
				c.waitOut = true
				l.interest(c, syscall.EPOLLOUT)
			}
			return false
		}
		l.close(c)
		return false
	}
	c.w.reset()
	c.wpos = 0
	if c.waitOut {
		c.waitOut = false
		l.interest(c, syscall.EPOLLIN|syscall.EPOLLRDHUP)
	}
	return true
}

func (l *loop) interest(c *loopConn, events uint32) {
	ev := syscall.EpollEvent{Events: events, Fd: c.fd}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, int(c.fd), &ev)
}

func (l *loop) close(c *loopConn) {
	l.mu.Lock()
	_, ok := l.conns[c.fd]
	delete(l.conns, c.fd)
	l.mu.Unlock()
	if !ok {
		return
	}
	syscall.Close(int(c.fd)) // also leaves the epoll set
	l.srv.currConns.Add(-1)
}

// shutdown closes every connection of the loop, after giving their
// replies up to drainGrace to go out; requests are answered whole or not
// at all, since the loop only stops between batches.
func (l *loop) shutdown() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	deadline := time.Now().Add(drainGrace)
	for {
		l.mu.Lock()
		var waiting []*loopConn
		for _, c := range l.conns {
			if c.wpos < len(c.w.b) {
				waiting = append(waiting, c)
			}
		}
		l.mu.Unlock()
		for _, c := range waiting {
			if c.waitOut {
				c.waitOut = false // let flush write without re-arming
			}
			l.flush(c)
		}
		if len(waiting) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	cs := make([]*loopConn, 0, len(l.conns))
	for _, c := range l.conns {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		l.close(c)
	}
}
