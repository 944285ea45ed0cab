package proxy

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// state is one loaded configuration: what a request needs to be routed.
// The proxy swaps a whole state atomically on reload, so a request sees
// either the old configuration or the new one, never a mix.
type state struct {
	cfg      Config
	backends []*backend
	weights  []int
	sticky   *sticky

	rrMu    sync.Mutex
	current []int // smooth weighted round-robin state, as nginx's
}

// maxBackends bounds the tried-set bitmask of a request.
const maxBackends = 64

// newState resolves cfg's backends, reusing the backend objects of prev
// (pools, health, counters) for URLs both have.
func newState(cfg Config, prev *state) (*state, error) {
	if len(cfg.Backends) > maxBackends {
		return nil, fmt.Errorf("%d backends: at most %d are supported", len(cfg.Backends), maxBackends)
	}
	old := map[string]*backend{}
	if prev != nil {
		for _, b := range prev.backends {
			old[b.url] = b
		}
	}
	st := &state{cfg: cfg, current: make([]int, len(cfg.Backends))}
	addrs := make([]*net.TCPAddr, 0, len(cfg.Backends))
	for _, bc := range cfg.Backends {
		hp, err := backendHostPort(bc.URL)
		if err != nil {
			return nil, err
		}
		a, err := net.ResolveTCPAddr("tcp", hp)
		if err != nil {
			return nil, fmt.Errorf("resolve backend %s: %w", bc.URL, err)
		}
		b := old[bc.URL]
		if b == nil || !b.addr.IP.Equal(a.IP) || b.addr.Port != a.Port {
			b = &backend{url: bc.URL, addr: a, dialTo: a.String()}
		}
		b.mu.Lock()
		b.maxIdle = cfg.KeepAlive
		b.mu.Unlock()
		st.backends = append(st.backends, b)
		st.weights = append(st.weights, bc.Weight)
		addrs = append(addrs, a)
	}
	s, err := newSticky(cfg.Sticky, addrs)
	if err != nil {
		return nil, err
	}
	st.sticky = s
	return st, nil
}

// pick chooses a backend for a new session among those not yet tried,
// preferring available ones; when none is available it still returns an
// untried one (the health view may be stale, and trying beats failing).
// It returns -1 when every backend has been tried.
func (st *state) pick(tried uint64, now time.Time) int {
	if i := st.pickFrom(tried, now, true); i >= 0 {
		return i
	}
	return st.pickFrom(tried, now, false)
}

func (st *state) pickFrom(tried uint64, now time.Time, onlyAvailable bool) int {
	if st.cfg.Balance == "least-conn" {
		return st.leastConn(tried, now, onlyAvailable)
	}
	return st.roundRobin(tried, now, onlyAvailable)
}

// roundRobin is nginx's smooth weighted round-robin: each eligible peer gains
// its weight, the largest wins and pays back the total.
func (st *state) roundRobin(tried uint64, now time.Time, onlyAvailable bool) int {
	st.rrMu.Lock()
	defer st.rrMu.Unlock()
	best, total := -1, 0
	for i, b := range st.backends {
		if tried&(1<<i) != 0 || (onlyAvailable && !b.available(now)) {
			continue
		}
		st.current[i] += st.weights[i]
		total += st.weights[i]
		if best < 0 || st.current[i] > st.current[best] {
			best = i
		}
	}
	if best >= 0 {
		st.current[best] -= total
	}
	return best
}

// leastConn picks the eligible backend with the fewest requests in flight
// relative to its weight, ties broken by round-robin order.
func (st *state) leastConn(tried uint64, now time.Time, onlyAvailable bool) int {
	best := -1
	var bestLoad int64
	for i, b := range st.backends {
		if tried&(1<<i) != 0 || (onlyAvailable && !b.available(now)) {
			continue
		}
		load := b.active.Load() * int64(maxWeight(st.weights)) / int64(st.weights[i])
		if best < 0 || load < bestLoad {
			best, bestLoad = i, load
		}
	}
	return best
}

func maxWeight(ws []int) int {
	m := 1
	for _, w := range ws {
		m = max(m, w)
	}
	return m
}
