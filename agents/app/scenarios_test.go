package app

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type startFunc func(testing.TB, string) *cacheNode

// backends are the session stores every scenario runs against.
func backends() []struct {
	name  string
	start startFunc
} {
	return []struct {
		name  string
		start startFunc
	}{
		{"memcached", startMemcached},
		{"cache-agent", startCacheAgent},
	}
}

func forEachBackend(t *testing.T, f func(t *testing.T, start startFunc)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.start) })
	}
}

func decodeSession(t testing.TB, r resp) sessionJSON {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("got status %d (%s); want 200", r.code, r.body)
	}
	var s sessionJSON
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return s
}

// twoNodes is the classic deployment: app1 lives with n1 and app2 with n2;
// each app's failover node is the one on its own host.
func twoNodes(t *testing.T, start startFunc) (n1, n2 *cacheNode) {
	return start(t, "n1"), start(t, "n2")
}

func TestCrossStorage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start startFunc) {
		n1, n2 := twoNodes(t, start)
		for _, mode := range []string{"sticky", "non-sticky"} {
			t.Run(mode, func(t *testing.T) {
				app1 := startApp(t, Config{Name: "tomcat1", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: mode})
				s := decodeSession(t, call(t, "PUT", app1.url+"/api/session/attributes/k", "", "v"))
				if !strings.HasSuffix(s.ID, "-n2") || s.Node != "n2" {
					t.Fatalf("got id %s node %s; want a session on n2 (n1 is app1's failover node)", s.ID, s.Node)
				}
				eventually(t, "session on n2", func() bool { _, ok := rawGet(n2, s.ID); return ok })
				if _, ok := rawGet(n1, s.ID); ok {
					t.Errorf("session %s found on n1; want it only on n2", s.ID)
				}
			})
		}
	})
}

func TestAppFailover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start startFunc) {
		n1, n2 := twoNodes(t, start)
		for _, mode := range []string{"sticky", "non-sticky"} {
			t.Run(mode, func(t *testing.T) {
				app1 := startApp(t, Config{Name: "tomcat1", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: mode})
				app2 := startApp(t, Config{Name: "tomcat2", Nodes: nodesFlag(n1, n2), FailoverNodes: "n2", Mode: mode})
				s := decodeSession(t, call(t, "PUT", app1.url+"/api/session/attributes/user", "", "alice"))
				eventually(t, "session stored", func() bool {
					b, ok := rawGet(n2, s.ID)
					return ok && strings.Contains(string(b), "alice")
				})
				if err := app1.stop(); err != nil {
					t.Fatal(err)
				}
				got := decodeSession(t, call(t, "GET", app2.url+"/api/session", s.ID, ""))
				if got.ID != s.ID || got.Attributes["user"] != "alice" || got.Server != "tomcat2" {
					t.Fatalf("got %+v from app2; want id %s with user=alice served by tomcat2", got, s.ID)
				}
			})
		}
	})
}

func TestNodeFailureRelocates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start startFunc) {
		for _, mode := range []string{"sticky", "non-sticky"} {
			t.Run(mode, func(t *testing.T) {
				n1, n2 := twoNodes(t, start)
				app1 := startApp(t, Config{Name: "tomcat1", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: mode})
				app2 := startApp(t, Config{Name: "tomcat2", Nodes: nodesFlag(n1, n2), FailoverNodes: "n2", Mode: mode})
				s := decodeSession(t, call(t, "PUT", app1.url+"/api/session/attributes/cart", "", "3 books"))
				eventually(t, "session stored on n2", func() bool { _, ok := rawGet(n2, s.ID); return ok })
				n2.stop()

				var moved sessionJSON
				eventually(t, "session relocated", func() bool {
					r := call(t, "GET", app1.url+"/api/session", s.ID, "")
					moved = decodeSession(t, r)
					return moved.ID != s.ID
				})
				if moved.Node != "n1" || moved.Attributes["cart"] != "3 books" {
					t.Fatalf("got %+v; want the session on n1 with cart=3 books", moved)
				}
				eventually(t, "relocated session on n1", func() bool { _, ok := rawGet(n1, moved.ID); return ok })
				for _, a := range []*testApp{app1, app2} {
					got := decodeSession(t, call(t, "GET", a.url+"/api/session", moved.ID, ""))
					if got.ID != moved.ID || got.Attributes["cart"] != "3 books" {
						t.Errorf("got %+v from %s; want %s with cart", got, a.url, moved.ID)
					}
				}
			})
		}
	})
}

func TestBackupPromotion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start startFunc) {
		n1, n2 := twoNodes(t, start)
		app1 := startApp(t, Config{Name: "tomcat1", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "non-sticky"})
		app2 := startApp(t, Config{Name: "tomcat2", Nodes: nodesFlag(n1, n2), FailoverNodes: "n2", Mode: "non-sticky"})
		s := decodeSession(t, call(t, "PUT", app1.url+"/api/session/attributes/step", "", "2"))
		if _, ok := rawGet(n1, "bak:"+s.ID); !ok {
			t.Fatalf("no backup bak:%s on n1 after a non-sticky write", s.ID)
		}
		n2.stop()
		r := call(t, "GET", app2.url+"/api/session", s.ID, "")
		got := decodeSession(t, r)
		if got.ID == s.ID || got.Node != "n1" || got.Attributes["step"] != "2" {
			t.Fatalf("got %+v; want the backup promoted to a new id on n1 with step=2", got)
		}
		if r.cookie == nil || r.cookie.Value != got.ID {
			t.Fatalf("got cookie %v; want Set-Cookie with the new id %s", r.cookie, got.ID)
		}
		got2 := decodeSession(t, call(t, "GET", app1.url+"/api/session", got.ID, ""))
		if got2.ID != got.ID || got2.Attributes["step"] != "2" {
			t.Fatalf("got %+v from app1; want the promoted session", got2)
		}
	})
}

func TestParallelWritesMerge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start startFunc) {
		n1, n2 := twoNodes(t, start)
		for _, tc := range []struct {
			locking string
			perApp  int
		}{{"auto", 50}, {"all", 20}} {
			t.Run(tc.locking, func(t *testing.T) {
				apps := []*testApp{
					startApp(t, Config{Name: "tomcat1", Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "non-sticky", Locking: tc.locking}),
					startApp(t, Config{Name: "tomcat2", Nodes: nodesFlag(n1, n2), FailoverNodes: "n2", Mode: "non-sticky", Locking: tc.locking}),
				}
				sid := decodeSession(t, call(t, "GET", apps[0].url+"/api/session", "", "")).ID
				var wg sync.WaitGroup
				sem := make(chan struct{}, 8) // bounded load on a shared machine
				errs := make(chan string, 2*tc.perApp)
				for i, a := range apps {
					for j := range tc.perApp {
						wg.Add(1)
						go func() {
							defer wg.Done()
							sem <- struct{}{}
							defer func() { <-sem }()
							r := call(t, "PUT", fmt.Sprintf("%s/api/session/attributes/a%d-%d", a.url, i, j), sid, "x")
							if r.code != 200 {
								errs <- fmt.Sprintf("PUT a%d-%d: %d %s", i, j, r.code, r.body)
							}
						}()
					}
				}
				wg.Wait()
				close(errs)
				for e := range errs {
					t.Error(e)
				}
				got := decodeSession(t, call(t, "GET", apps[1].url+"/api/session", sid, ""))
				if len(got.Attributes) != 2*tc.perApp {
					t.Fatalf("got %d attributes; want %d (no lost update)", len(got.Attributes), 2*tc.perApp)
				}
			})
		}
	})
}

func TestExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, start startFunc) {
		n1, n2 := twoNodes(t, start)
		for _, mode := range []string{"sticky", "non-sticky"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				a := startApp(t, Config{Nodes: nodesFlag(n1, n2), Mode: mode, Timeout: Duration(2 * time.Second)})
				s := decodeSession(t, call(t, "PUT", a.url+"/api/session/attributes/k", "", "v"))
				// Still alive while in use within the timeout.
				time.Sleep(300 * time.Millisecond)
				if got := decodeSession(t, call(t, "GET", a.url+"/api/session", s.ID, "")); got.ID != s.ID {
					t.Fatalf("got a new session %s well within a 2s timeout; want %s", got.ID, s.ID)
				}
				// Idle for timeout + memcached's extra second + its 1s clock.
				time.Sleep(4500 * time.Millisecond)
				got := decodeSession(t, call(t, "GET", a.url+"/api/session", s.ID, ""))
				if got.ID == s.ID || len(got.Attributes) != 0 {
					t.Fatalf("got %+v after the timeout; want a new empty session", got)
				}
				if _, ok := rawGet(n1, s.ID); ok {
					t.Errorf("expired session still on n1")
				}
				if _, ok := rawGet(n2, s.ID); ok {
					t.Errorf("expired session still on n2")
				}
			})
		}
	})
}

// TestRestartedPrimaryRestoredFromBackup: a primary that comes back empty
// (memcached restarted) gets the session back from its backup, same id.
func TestRestartedPrimaryRestoredFromBackup(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	a := startApp(t, Config{Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: "non-sticky"})
	s := decodeSession(t, call(t, "PUT", a.url+"/api/session/attributes/k", "", "v"))
	n2.stop()
	eventually(t, "n2 seen down", func() bool { return metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "0" })
	_, port, _ := strings.Cut(n2.addr, ":")
	p, _ := strconv.Atoi(port)
	n2 = startMemcachedOn(t, "n2", p)
	eventually(t, "n2 seen up", func() bool { return metric(t, a, `stickyform_app_cache_node_up{node="n2"}`) == "1" })
	got := decodeSession(t, call(t, "GET", a.url+"/api/session", s.ID, ""))
	if got.ID != s.ID || got.Attributes["k"] != "v" {
		t.Fatalf("got %+v; want %s restored from its backup with k=v", got, s.ID)
	}
	if _, ok := rawGet(n2, s.ID); !ok {
		t.Errorf("session not written back to the restarted primary")
	}
}
