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
	idle     []*upConn // LIFO: the most recently used connection is warmest
	maxIdle  int
	fails    atomic.Int64 // passive failures in the current window
	failedAt time.Time    // start of the failure window, under mu
	downTill atomic.Int64 // passive: unavailable until then (unix ns)

	activeDown atomic.Bool  // active checks say down
	active     atomic.Int64 // requests in flight (least-conn)
	requests   atomic.Uint64
	failures   atomic.Uint64
	retries    atomic.Uint64
	conns      atomic.Int64 // open upstream connections
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
}

func (c *upConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.nread += int64(n)
	return n, err
}

func (c *upConn) close() {
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
	return c, nil
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
// b unavailable for failTimeout, as nginx's max_fails/fail_timeout do.
func (b *backend) fail(now time.Time, maxFails int, failTimeout time.Duration) {
	b.failures.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.failedAt) > failTimeout {
		b.fails.Store(0)
		b.failedAt = now
	}
	if n := b.fails.Add(1); maxFails > 0 && n >= int64(maxFails) {
		b.downTill.Store(now.Add(failTimeout).UnixNano())
		b.fails.Store(0)
	}
}

// succeed clears the passive failure count, as a success does in nginx.
func (b *backend) succeed() {
	if b.fails.Load() != 0 {
		b.fails.Store(0)
	}
}
