package app

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// freeze stops a memcached process (a silent host: connections stay open,
// nothing answers) and returns the function that resumes it.
func freeze(t *testing.T, n *cacheNode) (thaw func()) {
	t.Helper()
	if err := syscall.Kill(n.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, n.id+" stopped", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n.pid))
		_, rest, _ := strings.Cut(string(b), ") ")
		return err == nil && strings.HasPrefix(rest, "T")
	})
	var once sync.Once
	thaw = func() { once.Do(func() { syscall.Kill(n.pid, syscall.SIGCONT) }) }
	t.Cleanup(thaw)
	return thaw
}

// TestStickyCopyReloadedAfterNodeLapse is the network-cut bug: app1 holds
// a session stored on n2, then loses n2 for a while (here n2 freezes; on
// the lab app1's host is cut off and its user fails over to app2). App2
// writes the session meanwhile. When app1 serves the session again it
// must show app2's write, not its stale local copy; and once reloaded it
// serves reads from memory again.
func TestStickyCopyReloadedAfterNodeLapse(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	a1 := startApp(t, Config{Name: "app1", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "sticky"})
	a2 := startApp(t, Config{Name: "app2", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "sticky"})
	s := decodeSession(t, call(t, "PUT", a1.url+"/api/session/attributes/k6", "", "v44"))
	if s.Node != "n2" {
		t.Fatalf("new session on %s; want n2", s.Node)
	}
	thaw := freeze(t, n2)
	eventually(t, "app1 sees n2 down", func() bool { return metric(t, a1, `stickyform_app_cache_node_up{node="n2"}`) == "0" })
	thaw()
	for _, a := range []*testApp{a1, a2} {
		eventually(t, "n2 seen up again", func() bool { return metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "1" })
	}
	// The user goes on through app2 (which loads the session from n2).
	if got := decodeSession(t, call(t, "PUT", a2.url+"/api/session/attributes/k6", s.ID, "v60")); got.ID != s.ID || got.Attributes["k6"] != "v60" {
		t.Fatalf("write through app2: got %+v; want %s with k6=v60", got, s.ID)
	}
	got := decodeSession(t, call(t, "GET", a1.url+"/api/session", s.ID, ""))
	if got.ID != s.ID || got.Attributes["k6"] != "v60" {
		t.Fatalf("read through app1 after the lapse: got id %s k6=%q; want %s k6=\"v60\" (app2's write, not app1's stale copy)", got.ID, got.Attributes["k6"], s.ID)
	}
	if r := metric(t, a1, "stickyform_app_sessions_reloaded_total"); r != "1" {
		t.Errorf("app1 reloads: got %s; want 1", r)
	}
	ops := func() int64 {
		st := nodeStats(t, n2)
		return st["cmd_get"] + st["cmd_set"] + st["cmd_touch"]
	}
	before := ops()
	for range 5 {
		decodeSession(t, call(t, "GET", a1.url+"/api/session", s.ID, ""))
	}
	if after := ops(); after != before {
		t.Errorf("got %d cache operations for 5 reads after the reload; want 0 (reloaded once, then served from memory)", after-before)
	}
}

// relay forwards TCP connections to a cache node; drop closes the
// connections it carries while the node itself stays up, as when
// connections from before a restart or a cut are torn down late.
type relay struct {
	ln       net.Listener
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

func startRelay(t *testing.T, to string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			r.accepted.Add(1)
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); r.drop() })
	return r
}

func (r *relay) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// TestWatchLossIsNoOutage is the "marked down right after its restart"
// bug: the monitor's idle connection to a node ends while the node answers
// new connections. The node must stay up (new sessions keep going to it,
// not to the failover node); when it really stops answering, it is down.
func TestWatchLossIsNoOutage(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	r := startRelay(t, n2.addr)
	nodes := fmt.Sprintf("n1:%s n2:%s", n1.addr, r.ln.Addr())
	a := startApp(t, Config{Nodes: nodes, FailoverNodes: "n1", Mode: "sticky"})
	eventually(t, "n2 watched", func() bool {
		return r.accepted.Load() > 0 && metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "1"
	})
	t.Run("connections dropped, node alive", func(t *testing.T) {
		before := r.accepted.Load()
		r.drop()
		eventually(t, "monitor reconnected", func() bool { return r.accepted.Load() > before })
		eventually(t, "n2 up", func() bool { return metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "1" })
		if d := metric(t, a, "stickyform_app_cache_node_down_total"); d != "0" {
			t.Errorf("node downs: got %s; want 0 (n2 answered a new connection at once)", d)
		}
		if s := decodeSession(t, call(t, "GET", a.url+"/api/session", "", "")); s.Node != "n2" {
			t.Errorf("new session on %s; want n2", s.Node)
		}
	})
	t.Run("node gone", func(t *testing.T) {
		r.ln.Close()
		r.drop()
		eventually(t, "n2 down", func() bool { return metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "0" })
		if d := metric(t, a, "stickyform_app_cache_node_down_total"); d == "0" {
			t.Errorf("node downs: got 0; want the outage counted")
		}
		if s := decodeSession(t, call(t, "GET", a.url+"/api/session", "", "")); s.Node != "n1" {
			t.Errorf("new session on %s while n2 is gone; want n1", s.Node)
		}
	})
}
