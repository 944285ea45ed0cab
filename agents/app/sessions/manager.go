// Package sessions stores HTTP sessions in memcached nodes with the
// semantics of memcached-session-manager (MSM): the session id names the
// node that stores it ("<128-bit hex>-n2"), new sessions go to a live
// regular node (failover nodes only when no other is up), and a session
// whose node died moves to a live node under a new id.
//
// In sticky mode a local copy serves reads with no cache round trip. A
// request that changed its session writes it to the node before the
// response (MSM's sessionBackupAsync=false), merged with gets/cas into what
// the node holds (so when a client comes back from another app, that app's
// changes are kept; the local copy picks them up at its next write or
// expiry refresh, at most timeout/8 later): a write the user was told
// about survives the loss of this app. Expiry refreshes of unchanged
// sessions, and every write with Options.BackupAsync, go through a
// bounded write-behind queue after the response.
// In non-sticky mode every request reads the node, and each session is
// also kept on the next node as "bak:<id>", promoted when the primary is
// down; parallel writers merge their attribute changes with gets/cas.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Manager. Zero values mean the documented defaults.
type Options struct {
	Nodes   []NodeSpec
	Sticky  bool          // sticky mode (local copy); false is non-sticky
	Locking string        // "none", "all" or "auto" (non-sticky); "" means "auto"
	Timeout time.Duration // idle lifetime = memcached expiry; if zero, 30m
	// OpTimeout bounds one cache operation and one health probe; a dead
	// node costs a request at most twice this. If zero, 250ms.
	OpTimeout time.Duration
	// ProbeInterval is how often a node's health is checked. If zero, 1s.
	ProbeInterval time.Duration
	// BackupAsync (sticky mode) writes changed sessions after the response,
	// like MSM's sessionBackupAsync=true: lower latency, but a change not
	// yet written is lost when this app dies or its host is cut off.
	BackupAsync bool
	// QueueSize bounds sticky mode's write-behind queue; when it is full a
	// request writes its session itself. If zero, 4096.
	QueueSize int
	Logger    *slog.Logger // if nil, logs are discarded
}

// Stats are counters for metrics; all fields are safe to read at any time.
type Stats struct {
	Created, Loaded, Relocated, Expired, Invalidated atomic.Int64
	CacheOps, CacheErrors, CASRetries, LockTimeouts  atomic.Int64
	Writes, Touches, QueueFull                       atomic.Int64
	// Reloaded counts local copies reloaded after this app lost their
	// node for a while (another app may have written them meanwhile).
	Reloaded atomic.Int64
	// NodeDowns counts nodes marked down (up to down transitions).
	NodeDowns atomic.Int64
	// WriteFailures counts changed sessions that could not be stored
	// before the response (no node reachable); they stay in memory, dirty,
	// and are written by a later request or the shutdown flush.
	WriteFailures atomic.Int64
}

// ErrNoNode means no node is up to store a session (non-sticky mode).
var ErrNoNode = errors.New("sessions: no cache node is up")

// Manager loads, creates and stores sessions.
type Manager struct {
	opt   Options
	nodes []*node
	byID  map[string]*node
	rr    atomic.Uint64 // round-robin cursor for new sessions
	log   *slog.Logger
	stats Stats
	now   func() time.Time

	// sticky mode
	mu     sync.RWMutex
	local  map[string]*entry
	writer *writer

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// New checks the options and makes a Manager; Start brings it to life.
func New(opt Options) (*Manager, error) {
	if len(opt.Nodes) == 0 {
		return nil, errors.New("new session manager: no nodes")
	}
	switch opt.Locking {
	case "":
		opt.Locking = "auto"
	case "none", "all", "auto":
	default:
		return nil, fmt.Errorf("new session manager: locking %q: want none, all or auto", opt.Locking)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Minute
	}
	if opt.OpTimeout == 0 {
		opt.OpTimeout = 250 * time.Millisecond
	}
	if opt.ProbeInterval == 0 {
		opt.ProbeInterval = time.Second
	}
	if opt.QueueSize == 0 {
		opt.QueueSize = 4096
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opt: opt, byID: map[string]*node{}, log: log, now: time.Now, local: map[string]*entry{}}
	for _, s := range opt.Nodes {
		n := newNode(s, opt.OpTimeout, &m.stats)
		m.nodes = append(m.nodes, n)
		m.byID[s.ID] = n
	}
	return m, nil
}

// Stats returns the manager's live counters.
func (m *Manager) Stats() *Stats { return &m.stats }

// Active is the number of sessions held locally (sticky mode).
func (m *Manager) Active() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.local)
}

// NodesUp reports the cached health of every node.
func (m *Manager) NodesUp() map[string]bool {
	up := map[string]bool{}
	for _, n := range m.nodes {
		up[n.spec.ID] = n.up.Load()
	}
	return up
}

// Start probes every node once (so the first requests see real health),
// then keeps probing in the background and, in sticky mode, runs the
// write-behind workers, until ctx ends. Call Close after ctx ends.
func (m *Manager) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	conns := make([]chan probeResult, len(m.nodes))
	for i, n := range m.nodes {
		conns[i] = make(chan probeResult, 1)
		go func() {
			c, err := n.probeDial(ctx)
			conns[i] <- probeResult{c, err}
		}()
	}
	for i, n := range m.nodes {
		r := <-conns[i]
		if r.err == nil {
			n.up.Store(true)
		} else {
			m.log.Warn("cache node not answering", "node", n.spec.ID, "addr", n.spec.Addr, "err", r.err)
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			n.monitor(ctx, m.opt.ProbeInterval, r.conn)
		}()
	}
	if m.opt.Sticky {
		m.writer = newWriter(m, m.opt.QueueSize)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.sweep(ctx)
		}()
	}
}

type probeResult struct {
	conn net.Conn
	err  error
}

// Close writes every session that has unsaved changes (sticky mode; node
// health is still watched meanwhile), then stops the background work.
// ctx bounds the flush. Call it after the last request has committed.
func (m *Manager) Close(ctx context.Context) error {
	var err error
	if m.writer != nil {
		err = m.writer.close(ctx)
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	for _, n := range m.nodes {
		n.client.Load().Close()
	}
	return err
}

// pickNode chooses the node for a new session: round robin over the live
// regular nodes, else over the live failover nodes, skipping avoid.
func (m *Manager) pickNode(avoid string) *node {
	for _, failover := range []bool{false, true} {
		var live []*node
		for _, n := range m.nodes {
			if n.spec.Failover == failover && n.spec.ID != avoid && n.up.Load() {
				live = append(live, n)
			}
		}
		if len(live) > 0 {
			return live[m.rr.Add(1)%uint64(len(live))]
		}
	}
	return nil
}

// backupNode is the node after primary in the configured order that is
// up: where non-sticky mode keeps "bak:<id>".
func (m *Manager) backupNode(primary string) *node {
	for _, n := range m.after(primary) {
		if n.up.Load() {
			return n
		}
	}
	return nil
}

// after lists the nodes that follow primary in the configured order,
// wrapping around, without primary itself.
func (m *Manager) after(primary string) []*node {
	i := 0
	for j, n := range m.nodes {
		if n.spec.ID == primary {
			i = j
		}
	}
	var out []*node
	for k := 1; k < len(m.nodes); k++ {
		out = append(out, m.nodes[(i+k)%len(m.nodes)])
	}
	return out
}

// expiry is the memcached expiration for a session: the timeout rounded up
// to whole seconds, plus one because memcached's clock ticks in seconds and
// would otherwise cut up to a second off a short timeout.
func (m *Manager) expiry() int32 {
	secs := int64((m.opt.Timeout+time.Second-1)/time.Second) + 1
	if secs > 30*24*3600 { // memcached reads larger values as a unix time
		secs += m.now().Unix()
	}
	return int32(secs)
}

// refreshEvery is how long an unchanged session may go without its expiry
// being pushed forward: a fraction of the timeout, so a session in use
// never expires, without a cache write on every request.
func (m *Manager) refreshEvery() time.Duration {
	d := m.opt.Timeout / 8
	return min(d, time.Minute)
}
