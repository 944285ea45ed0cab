package proxy

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// backend is one upstream server: its connection pool, its health as seen by
// passive accounting and active checks, and its counters. A backend outlives
// a reload when its URL stays in the configuration, so its pool and health
// carry over.
type backend struct {
	url    string
	addr   *net.TCPAddr
	dialTo string // host:port dialled

	mu       sync.Mutex
	idle     []*upConn            // LIFO: the most recently used connection is warmest
	open     map[*upConn]struct{} // every open connection, so waits can be aborted
	maxIdle  int
	fails    atomic.Int64 // passive failures in the current window
	failedAt time.Time    // start of the failure window, under mu
	downTill atomic.Int64 // passive: unavailable until then (unix ns)

	activeDown atomic.Bool   // active checks say down
	checkUps   atomic.Int32  // consecutive active successes since the last failure or passive mark
	checkDowns atomic.Int32  // consecutive active failures, live connect failures included
	markedAt   atomic.Int64  // when passive accounting last marked b down (unix ns)
	aborted    atomic.Uint64 // waits aborted because b went down
	active     atomic.Int64  // requests in flight (least-conn)
	requests   atomic.Uint64
	failures   atomic.Uint64
	retries    atomic.Uint64
	conns      atomic.Int64 // open upstream connections
	loopIdle   atomic.Int64 // idle connections in the event loops' pools
}

// upConn is a pooled upstream connection. It counts the bytes read so a dead
// keep-alive connection (closed by the backend before answering anything)
// can be told apart from a backend that failed mid-response.
type upConn struct {
	net.Conn
	b      *backend
	br     *bufio.Reader
	bw     *bufio.Writer
	nread  int64
	reused bool
	// wait is waitArmed while an abortable request waits for the first
	// byte of its response; abortWaiting moves it to waitAborted.
	wait atomic.Int32
}

// States of upConn.wait.
const (
	waitIdle    int32 = iota // not abortable: no request, or a byte arrived
	waitArmed                // an idempotent request awaits its first response byte
	waitAborted              // b went down: the wait was cut short
)

func (c *upConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.nread += int64(n)
	if n > 0 && c.wait.Load() == waitArmed {
		// The backend answers: it is alive for this request.
		c.wait.CompareAndSwap(waitArmed, waitIdle)
	}
	return n, err
}

// abandon closes c on a request the proxy gives up on (and may send to
// another backend): with linger 0 the kernel resets the connection and
// drops request bytes not yet delivered, instead of going on sending them
// after the close. Otherwise a backend cut off mid-request would receive
// and apply the request once the link is back, long after its retry on
// another backend, and hold that stale change.
func (c *upConn) abandon() {
	if tc, ok := c.Conn.(interface{ SetLinger(int) error }); ok { // *net.TCPConn, rawConn
		_ = tc.SetLinger(0)
	}
	c.close()
}

func (c *upConn) close() {
	c.b.mu.Lock()
	delete(c.b.open, c)
	c.b.mu.Unlock()
	c.b.conns.Add(-1)
	c.Conn.Close()
}

// get returns an idle connection or dials a new one within timeout.
func (b *backend) get(timeout time.Duration) (*upConn, error) {
	b.mu.Lock()
	if n := len(b.idle); n > 0 {
		c := b.idle[n-1]
		b.idle[n-1] = nil
		b.idle = b.idle[:n-1]
		b.mu.Unlock()
		c.reused = true
		c.nread = 0
		return c, nil
	}
	b.mu.Unlock()
	return b.dial(timeout)
}

func (b *backend) dial(timeout time.Duration) (*upConn, error) {
	nc, err := net.DialTimeout("tcp", b.dialTo, timeout)
	if err != nil {
		return nil, err
	}
	b.conns.Add(1)
	c := &upConn{Conn: newRawConn(nc), b: b}
	c.br = bufio.NewReaderSize(c, 16<<10)
	c.bw = bufio.NewWriterSize(c.Conn, 16<<10)
	b.track(c)
	return c, nil
}

// track registers an open connection (so its wait can be aborted).
func (b *backend) track(c *upConn) {
	b.mu.Lock()
	if b.open == nil {
		b.open = map[*upConn]struct{}{}
	}
	b.open[c] = struct{}{}
	b.mu.Unlock()
}

// put returns a healthy, fully read connection to the pool, closing it when
// the pool is full.
func (b *backend) put(c *upConn) {
	b.mu.Lock()
	if len(b.idle) < b.maxIdle {
		b.idle = append(b.idle, c)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	c.close()
}

// closeIdle closes every pooled connection: after one turned out dead, the
// others to the same backend most likely are too (it restarted).
func (b *backend) closeIdle() {
	b.mu.Lock()
	idle := b.idle
	b.idle = nil
	b.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

func (b *backend) idleCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.idle)
}

// available reports whether new requests may go to b: not down by active
// checks and not inside a passive fail_timeout.
func (b *backend) available(now time.Time) bool {
	if b.activeDown.Load() {
		return false
	}
	return now.UnixNano() >= b.downTill.Load()
}

// fail records a failed attempt: maxFails failures within failTimeout make
// b unavailable for failTimeout, as nginx's max_fails/fail_timeout do. It
// reports whether this failure marked b down.
func (b *backend) fail(now time.Time, maxFails int, failTimeout time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.failedAt) > failTimeout {
		b.fails.Store(0)
		b.failedAt = now
	}
	if n := b.fails.Add(1); maxFails > 0 && n >= int64(maxFails) {
		b.downTill.Store(now.Add(failTimeout).UnixNano())
		b.fails.Store(0)
		// Active successes from before the mark do not count towards
		// lifting it: rise fresh ones are needed.
		b.markedAt.Store(time.Now().UnixNano())
		b.checkUps.Store(0)
		return true
	}
	return false
}

// succeed clears the passive failure count, as a success does in nginx.
func (b *backend) succeed() {
	if b.fails.Load() != 0 {
		b.fails.Store(0)
	}
}
