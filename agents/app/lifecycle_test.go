package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestGracefulShutdownFlushes: writes still queued when the agent is told to
// stop reach the node before Run returns.
func TestGracefulShutdownFlushes(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	a := startApp(t, Config{Nodes: nodesFlag(n1, n2), Mode: "sticky"})
	const sessions = 40
	ids := make([]string, sessions)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, "PUT", a.url+"/api/session/attributes/n", "", fmt.Sprint(i))
			ids[i] = decodeSession(t, r).ID
		}()
	}
	wg.Wait()
	if err := a.stop(); err != nil { // no waiting: the write-behind may be busy
		t.Fatalf("Run returned %v; want nil after a clean shutdown", err)
	}
	for i, id := range ids {
		node := n1
		if strings.HasSuffix(id, "-n2") {
			node = n2
		}
		b, ok := rawGet(node, id)
		var rec struct{ Attributes map[string]string }
		if !ok || json.Unmarshal(b, &rec) != nil || rec.Attributes["n"] != fmt.Sprint(i) {
			t.Errorf("session %d (%s): got %q on its node; want n=%d stored before exit", i, id, b, i)
		}
	}
}

// TestStickyReadNoCacheRoundTrip: in sticky mode, reading a session this app
// holds costs no cache operation on the request path (nor after it).
func TestStickyReadNoCacheRoundTrip(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	a := startApp(t, Config{Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "sticky"})
	s := decodeSession(t, call(t, "PUT", a.url+"/api/session/attributes/k", "", "v"))
	eventually(t, "session stored", func() bool { _, ok := rawGet(n2, s.ID); return ok })
	ops := func() int64 {
		var sum int64
		for _, n := range []*cacheNode{n1, n2} {
			st := nodeStats(t, n)
			sum += st["cmd_get"] + st["cmd_set"] + st["cmd_touch"] + st["delete_hits"] + st["delete_misses"]
		}
		return sum
	}
	before := ops()
	for range 20 {
		if got := decodeSession(t, call(t, "GET", a.url+"/api/session", s.ID, "")); got.Attributes["k"] != "v" {
			t.Fatalf("got %+v; want k=v", got)
		}
	}
	// Anything asynchronous would also show up in the node's counters.
	if after := ops(); after != before {
		t.Fatalf("got %d cache operations for 20 sticky reads; want 0", after-before)
	}
	// The counter works: a read through another app (no local copy) loads.
	b := startApp(t, Config{Nodes: nodesFlag(n1, n2), FailoverNodes: "n2", Mode: "sticky"})
	decodeSession(t, call(t, "GET", b.url+"/api/session", s.ID, ""))
	if after := ops(); after == before {
		t.Fatal("got no cache operation for a load by a second app; the counter cannot see reads")
	}
}
