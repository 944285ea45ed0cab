package app

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestSilentNodeCostsOneTimeout: a node that stops answering (a frozen
// host: connections open, no replies) costs one request one timeout; after
// that it is skipped, and it is used again once it answers.
func TestSilentNodeCostsOneTimeout(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	a := startApp(t, Config{Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "non-sticky"})
	s := decodeSession(t, call(t, "PUT", a.url+"/api/session/attributes/k", "", "v"))
	if err := syscall.Kill(n2.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The signal is delivered asynchronously: wait until it took hold.
	eventually(t, "memcached stopped", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n2.pid))
		_, rest, _ := strings.Cut(string(b), ") ")
		return err == nil && strings.HasPrefix(rest, "T")
	})
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(n2.pid, syscall.SIGCONT)
		}
	}
	defer resume()

	got := decodeSession(t, call(t, "GET", a.url+"/api/session", s.ID, ""))
	if got.Node != "n1" || got.Attributes["k"] != "v" {
		t.Fatalf("got %+v; want the backup promoted to n1", got)
	}
	for range 5 { // new sessions must not go to the frozen node either
		if ns := decodeSession(t, call(t, "GET", a.url+"/api/session", "", "")); ns.Node != "n1" {
			t.Fatalf("got a new session on %s while n2 is frozen; want n1", ns.Node)
		}
	}
	if e := metric(t, a, "stickyform_app_cache_errors_total"); e != "1" {
		t.Errorf("got %s cache errors; want 1 (one timeout, then the node is skipped)", e)
	}
	resume()
	eventually(t, "n2 seen up again", func() bool { return metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "1" })
	if ns := decodeSession(t, call(t, "GET", a.url+"/api/session", "", "")); ns.Node != "n2" {
		t.Fatalf("got a new session on %s after n2 recovered; want n2 (n1 is the failover node)", ns.Node)
	}
}

// metric returns the value of one sample from /metrics, or "".
func metric(t testing.TB, a *testApp, name string) string {
	t.Helper()
	for _, line := range strings.Split(call(t, "GET", a.url+"/metrics", "", "").body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
