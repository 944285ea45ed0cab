package sessions

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// node is one memcached node with a cached view of its health.
//
// gomemcache is the client: it speaks get/gets/cas/add/touch/delete, pools
// connections per address and is safe for concurrent use. A session request
// makes one or two independent round trips, so pipelining (the reason to
// write our own client) would buy nothing; we only wrap it with health.
type node struct {
	spec    NodeSpec
	timeout time.Duration
	stats   *Stats
	client  atomic.Pointer[memcache.Client]
	up      atomic.Bool
	kick    chan struct{} // wakes the monitor after an operation failed
	// lapses counts the moments this app lost the node: a failed
	// operation, a lost or unanswered watch connection, a mark down.
	// Meanwhile another app may have written a session stored there (its
	// user failed over), so a local copy synced before the latest lapse
	// may be stale and is reloaded before it is served (sticky mode).
	lapses atomic.Uint64
}

func newNode(spec NodeSpec, timeout time.Duration, stats *Stats) *node {
	n := &node{spec: spec, timeout: timeout, stats: stats, kick: make(chan struct{}, 1)}
	n.client.Store(n.newClient())
	return n
}

// newClient makes a fresh client, so that no pooled connection from before
// a node restart is reused (each would fail once and look like an outage).
func (n *node) newClient() *memcache.Client {
	c := memcache.New(n.spec.Addr)
	c.Timeout = n.timeout
	c.MaxIdleConns = 64
	return c
}

// errNodeDown is returned without any network traffic for a node that the
// health cache knows to be down.
var errNodeDown = errors.New("sessions: node down")

// do runs op against the node unless it is known to be down. When the
// connection fails (not a cache answer like a miss), a fresh probe decides
// whether the node is dead or one connection was slow or stale: dead, it
// is marked down and skipped until the monitor sees it answer again, so a
// frozen host costs a request at most the op timeout plus the probe
// timeout; alive, the op is retried once and no failover happens.
func (n *node) do(opName string, op func(c *memcache.Client) error) error {
	if !n.up.Load() {
		return errNodeDown
	}
	n.stats.CacheOps.Add(1)
	err := op(n.client.Load())
	if err == nil || !isConnError(err) {
		return err
	}
	n.stats.CacheErrors.Add(1)
	n.lapses.Add(1)
	if !n.probeNow() {
		n.markDown()
		return &NodeError{Node: n.spec.ID, Op: opName, Err: err}
	}
	if !isTimeout(err) {
		n.renewClient() // pooled connections from before a restart
	}
	n.stats.CacheOps.Add(1)
	if err = op(n.client.Load()); err == nil || !isConnError(err) {
		return err
	}
	n.stats.CacheErrors.Add(1)
	return &NodeError{Node: n.spec.ID, Op: opName, Err: err}
}

// probeNow asks the node for its version on a fresh connection, all within
// the op timeout.
func (n *node) probeNow() bool {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	conn, err := n.probeDial(ctx)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// NodeError reports a failed operation on a node.
type NodeError struct {
	Node, Op string
	Err      error
}

func (e *NodeError) Error() string {
	return "sessions: " + e.Op + " on node " + e.Node + ": " + e.Err.Error()
}
func (e *NodeError) Unwrap() error { return e.Err }

// renewClient swaps in a fresh client and closes the old one's idle
// connections (connections in use are closed by their requests).
func (n *node) renewClient() {
	if old := n.client.Swap(n.newClient()); old != nil {
		old.Close()
	}
}

func (n *node) markDown() {
	n.lapses.Add(1)
	if n.up.Swap(false) {
		n.stats.NodeDowns.Add(1)
		n.renewClient()
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// isConnError tells a broken connection from an answer of the server.
func isConnError(err error) bool {
	var ne net.Error
	var cte *memcache.ConnectTimeoutError
	return errors.As(err, &ne) || errors.As(err, &cte) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, memcache.ErrNoServers)
}

func isTimeout(err error) bool {
	var ne net.Error
	var cte *memcache.ConnectTimeoutError
	return errors.As(err, &cte) || errors.As(err, &ne) && ne.Timeout()
}

// monitor keeps the health view current until ctx ends, starting from
// conn (nil when the first probe failed). It holds one idle connection to
// the node: when the node's process dies the kernel closes it and the
// blocked read returns at once, so the node is marked down before any
// request pays a timeout. A host that vanishes silently is caught by the
// "version" probe every interval.
//
// A watch that ends is not yet an outage: its connection may be one from
// before a restart that is torn down late (the node answers again on new
// connections), or one answer was slow on a busy host. Marking the node
// down then would send new sessions to a failover node although the node
// answers, so the node is marked down only when a fresh connection made at
// once gets no answer either (a dead process refuses it at once).
func (n *node) monitor(ctx context.Context, interval time.Duration, conn net.Conn) {
	for ctx.Err() == nil {
		if conn == nil {
			var err error
			if conn, err = n.probeDial(ctx); err != nil {
				n.markDownQuiet()
				sleep(ctx, interval/2)
				continue
			}
		}
		if !n.up.Swap(true) {
			n.renewClient() // fresh pool after an outage
		}
		n.watch(ctx, conn, interval)
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		// Contact was lost, however briefly: local copies synced before
		// may have missed another app's writes.
		n.lapses.Add(1)
		var err error
		if conn, err = n.probeDial(ctx); err != nil {
			conn = nil
			n.markDownQuiet()
			continue
		}
		n.renewClient() // pooled connections may be as stale as the watched one
	}
}

// watch returns when the connection fails or ctx ends. One goroutine is
// the only reader of conn, so a closed connection is seen at once; probes
// are sent on a timer, or at once after a kick (an operation failed).
func (n *node) watch(ctx context.Context, conn net.Conn, interval time.Duration) {
	lines := make(chan string)
	go func() {
		defer close(lines)
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			select {
			case lines <- line:
			case <-ctx.Done():
				return
			}
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lines: // closed, or bytes nobody asked for
			return
		case <-t.C:
		case <-n.kick:
		}
		if !n.probeLines(conn, lines) {
			return
		}
		n.up.Store(true)
	}
}

// probeLines sends "version" on a watched connection and waits for the
// answer from its reader.
func (n *node) probeLines(conn net.Conn, lines <-chan string) bool {
	conn.SetWriteDeadline(time.Now().Add(n.timeout))
	if _, err := io.WriteString(conn, "version\r\n"); err != nil {
		return false
	}
	t := time.NewTimer(n.timeout)
	defer t.Stop()
	select {
	case line, ok := <-lines:
		return ok && strings.HasPrefix(line, "VERSION ")
	case <-t.C:
		return false
	}
}

func (n *node) markDownQuiet() {
	if n.up.Swap(false) {
		n.lapses.Add(1)
		n.stats.NodeDowns.Add(1)
		n.renewClient()
	}
}

func (n *node) probeDial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout) // dial and answer
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.spec.Addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	_, err = io.WriteString(conn, "version\r\n")
	var line string
	if err == nil {
		line, err = bufio.NewReader(conn).ReadString('\n')
	}
	conn.SetDeadline(time.Time{})
	if err != nil || !strings.HasPrefix(line, "VERSION ") {
		conn.Close()
		return nil, fmt.Errorf("sessions: probe %s: no VERSION answer: %v", n.spec.Addr, err)
	}
	return conn, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
