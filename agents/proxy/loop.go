package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The fast path. Measured under wrk, the goroutine-per-connection path paid
// for the Go scheduler around every socket operation: a read that found
// nothing (one per client and one per upstream exchange), a park in the
// poller, a wake-up of another thread to run the goroutine. nginx pays for
// none of that: one epoll_wait returns many ready sockets, each is read
// once, and the next event says when there is more.
//
// So plain HTTP runs on event loops, one per processor, each a goroutine
// locked to its thread, owning its client connections and its own
// keep-alive pool per backend. A small keep-alive request without a body is
// parsed, routed, forwarded and answered entirely inside its loop, with
// non-blocking system calls and edge-triggered epoll, reading a socket only
// when epoll said it has data. Everything else — request bodies, upgrades,
// Expect, HTTP/1.0, large or chunked responses, malformed input — is handed
// to the goroutine path (fasthttp and forward.go), which does all of it.

// loopMaxRequestHead bounds a request head the loop buffers; a larger one
// goes to fasthttp (which answers it as its ReadBufferSize dictates).
const loopMaxRequestHead = 8 << 10

// loopMaxResponseHead bounds a response head from a backend.
const loopMaxResponseHead = 16 << 10

// loopKeepBuffer bounds the output buffer a client connection keeps
// between requests.
const loopKeepBuffer = 16 << 10

// loopScanEvery is how often a loop checks its deadlines (timeouts, waits
// on backends gone down): timeouts fire within this much of their time.
const loopScanEvery = 20 * time.Millisecond

// loopSpins is how many times a loop looks for events before it waits
// for one (see run).
const loopSpins = 4

// loopHolds is how many times a loop with nothing to do waits up to 1ms in
// epoll_wait itself, keeping its processor, before it parks in Go's poller.
// Measured with bench/proxy.sh: one such wait gave the best throughput and
// tail latency; five were worse than none (a loop holding its processor
// keeps the scheduler from running the other loop there).
const loopHolds = 1

const epollET = 1 << 31 // EPOLLET, as a uint32

// pollable is a socket a loop owns.
type pollable interface {
	event(ev uint32)
}

// loop is one event loop.
type loop struct {
	p      *Proxy
	epfd   int
	ep     *os.File // epfd, waited on in Go's poller
	wakefd int      // eventfd: new connections, stop

	mu      sync.Mutex
	pending []acceptedConn // connections handed over by the acceptor
	woken   atomic.Bool
	load    atomic.Int64 // client connections, for the acceptor's choice

	stopping atomic.Bool // drain: finish requests in flight, then close
	kill     atomic.Bool // drain timed out: close everything

	objs    []pollable // by fd
	gens    []int32    // generation of objs[fd], against stale events
	gen     int32
	clients map[*clientConn]struct{}
	idle    map[*backend][]*upstream
	ups     int // upstream connections owned

	st      *state // the state the pools were last checked against
	br      *bufio.Reader
	src     bytes.Reader
	scratch []byte
}

// acceptedConn is a client connection the acceptor hands to a loop.
type acceptedConn struct {
	fd            int
	local, remote net.Addr
}

func newLoop(p *Proxy) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		syscall.Close(epfd)
		return nil, e
	}
	l := &loop{p: p, epfd: epfd, wakefd: int(r), clients: map[*clientConn]struct{}{}, idle: map[*backend][]*upstream{}}
	l.br = bufio.NewReaderSize(&l.src, loopMaxResponseHead+64)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakefd), Pad: -1}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakefd, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(l.wakefd)
		return nil, err
	}
	l.ep = os.NewFile(uintptr(epfd), "epoll")
	return l, nil
}

// hand gives the loop a new client connection (called by the acceptor).
func (l *loop) hand(c acceptedConn) {
	l.load.Add(1)
	l.p.loopClients.Add(1)
	l.mu.Lock()
	l.pending = append(l.pending, c)
	l.mu.Unlock()
	l.wake()
}

func (l *loop) wake() {
	if l.woken.Swap(true) {
		return
	}
	one := uint64(1)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(l.wakefd), uintptr(unsafe.Pointer(&one)), 8)
}

// register adds fd to the loop's epoll set for o.
func (l *loop) register(fd int, o pollable) (int32, error) {
	for fd >= len(l.objs) {
		l.objs = append(l.objs, nil)
		l.gens = append(l.gens, 0)
	}
	l.gen++
	l.objs[fd], l.gens[fd] = o, l.gen
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET, Fd: int32(fd), Pad: l.gen}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.objs[fd] = nil
		return 0, err
	}
	return l.gen, nil
}

// forget removes fd from the loop without closing it.
func (l *loop) forget(fd int) {
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	l.objs[fd] = nil
}

// release closes fd, which also takes it out of the epoll set.
func (l *loop) release(fd int) {
	l.objs[fd] = nil
	syscall.Close(fd)
}

// run serves until the loop is stopped and drained. Its epoll descriptor
// is itself registered in Go's poller (as a non-blocking file), so a loop
// with nothing to do can park like any goroutine instead of blocking a
// thread and its processor in epoll_wait for long.
func (l *loop) run() {
	defer l.ep.Close()
	rc, err := l.ep.SyscallConn()
	if err != nil {
		l.p.log.Error("event loop", "err", err)
		return
	}
	events := make([]syscall.EpollEvent, 256)
	var n int
	var errno syscall.Errno
	timeoutMs := 0
	wait := func(uintptr) bool {
		r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(timeoutMs), 0, 0)
		n, errno = int(r), e
		return n > 0 || (e != 0 && e != syscall.EINTR)
	}
	held := 0 // waits in epoll_wait since the last event
	lastScan := time.Now()
	timed := false
	for {
		// Deadlines are checked every loopScanEvery while there is
		// something to time; an idle loop sleeps until an event.
		if busy := len(l.clients) > 0 || l.ups > 0 || l.stopping.Load(); busy != timed {
			timed = busy
			var d time.Time
			if busy {
				d = lastScan.Add(loopScanEvery)
			}
			_ = l.ep.SetReadDeadline(d)
		}
		n, errno = 0, 0
		// How a loop waits for its next event decides what the event
		// costs. First a few quick looks, letting other goroutines run
		// in between: under load, an event is microseconds away. Then
		// waits of up to 1ms in epoll_wait itself, keeping the
		// processor: the kernel wakes this thread directly, as it wakes
		// an nginx worker. Only a loop idle for loopHolds such waits
		// parks in Go's poller: an event for a parked loop waits for
		// one of the scheduler's threads to poll, which under load left
		// CPUs idle and made the tail latency worse.
		for i := 0; i < loopSpins && n == 0 && errno == 0; i++ {
			runtime.Gosched()
			wait(0)
		}
		if n == 0 && errno == 0 {
			if held < loopHolds {
				held++
				timeoutMs = 1
				wait(0)
				timeoutMs = 0
			} else if err := rc.Read(wait); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				l.p.log.Error("event loop", "err", err)
				return
			}
		}
		if n > 0 {
			held = 0
		}
		if errno != 0 && errno != syscall.EINTR {
			l.p.log.Error("event loop", "err", errno)
			return
		}
		for i := 0; i < n; i++ {
			ev := &events[i]
			fd := int(ev.Fd)
			if fd == l.wakefd {
				l.woke()
				continue
			}
			if fd < len(l.objs) && l.objs[fd] != nil && l.gens[fd] == ev.Pad {
				l.objs[fd].event(ev.Events)
			}
		}
		if now := time.Now(); now.Sub(lastScan) >= loopScanEvery {
			lastScan = now
			l.scan(now)
			if timed {
				_ = l.ep.SetReadDeadline(lastScan.Add(loopScanEvery))
			}
		}
		if l.stopping.Load() && l.drain() {
			return
		}
	}
}

// woke takes the connections the acceptor handed over.
func (l *loop) woke() {
	var buf [8]byte
	syscall.RawSyscall(syscall.SYS_READ, uintptr(l.wakefd), uintptr(unsafe.Pointer(&buf[0])), 8)
	l.woken.Store(false)
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, a := range pending {
		l.addClient(a)
	}
}

// scan enforces deadlines and aborts waits on backends gone down.
func (l *loop) scan(now time.Time) {
	st := l.p.state.Load()
	if st != l.st {
		l.st = st
		l.dropRemoved(st)
	}
	for c := range l.clients {
		c.scan(now)
	}
}

// dropRemoved closes the idle connections to backends no longer configured.
func (l *loop) dropRemoved(st *state) {
	for b := range l.idle {
		keep := false
		for _, o := range st.backends {
			keep = keep || o == b
		}
		if !keep {
			l.dropIdle(b)
		}
	}
}

// drain closes idle clients and, once none is left, everything; it
// reports whether the loop is done.
func (l *loop) drain() bool {
	kill := l.kill.Load()
	for c := range l.clients {
		if kill || (!c.busy && len(c.out) == 0) {
			c.close()
		} else {
			c.closeAfter = true
		}
	}
	if len(l.clients) > 0 {
		return false
	}
	for b := range l.idle {
		l.dropIdle(b)
	}
	l.mu.Lock()
	for _, a := range l.pending {
		syscall.Close(a.fd)
		l.p.loopClients.Add(-1)
	}
	l.pending = nil
	l.mu.Unlock()
	syscall.Close(l.wakefd)
	return true
}

// getIdle takes the warmest idle connection to b, if any.
func (l *loop) getIdle(b *backend) *upstream {
	idle := l.idle[b]
	if len(idle) == 0 {
		return nil
	}
	u := idle[len(idle)-1]
	idle[len(idle)-1] = nil
	l.idle[b] = idle[:len(idle)-1]
	b.loopIdle.Add(-1)
	u.idle = false
	u.reused = true
	return u
}

// putIdle pools u, or closes it when the pool is full.
func (l *loop) putIdle(u *upstream, max int) {
	idle := l.idle[u.b]
	if len(idle) >= max || l.stopping.Load() {
		u.close()
		return
	}
	u.idle = true
	u.client = nil
	u.in = u.in[:0]
	if cap(u.in) > loopMaxResponseHead {
		u.in = make([]byte, 0, loopMaxResponseHead)
	}
	u.b.loopIdle.Add(1)
	l.idle[u.b] = append(idle, u)
}

// dropIdle closes every idle connection to b: after one turned out dead,
// the others most likely are too.
func (l *loop) dropIdle(b *backend) {
	idle := l.idle[b]
	delete(l.idle, b)
	for _, u := range idle {
		u.idle = false
		b.loopIdle.Add(-1)
		u.close()
	}
}

// headEnd returns the length of the HTTP head at the start of b (through
// the empty line), or -1 when the empty line has not arrived yet.
func headEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
	}
}

// rawRead reads from a non-blocking socket.
func rawRead(fd int, p []byte) (int, syscall.Errno) {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e != syscall.EINTR {
			return int(r), e
		}
	}
}

// rawWrite writes as much of p as the socket takes now.
func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	n := 0
	for n < len(p) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
		switch e {
		case 0:
			n += int(r)
		case syscall.EINTR:
		default:
			return n, e
		}
	}
	return n, 0
}
