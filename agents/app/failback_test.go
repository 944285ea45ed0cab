package app

import (
	"encoding/json"
	"testing"
	"time"
)

// TestStickyFailbackKeepsChanges: a client moves from app1 to app2 and back
// while app1 still holds its old local copy. app1's next write merges into
// what app2 stored instead of overwriting it, and app1's periodic expiry
// refresh ("gat") pulls app2's changes into its copy.
func TestStickyFailbackKeepsChanges(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		pull    bool // wait for app1's refresh to show app2's change first
	}{
		{"write merges", 30 * time.Minute, false},
		{"refresh pulls", 4 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := func(name, failover string) Config {
				return Config{Name: name, Nodes: nodesFlag(n1, n2), FailoverNodes: failover, Mode: "sticky", Timeout: Duration(tc.timeout)}
			}
			app1, app2 := startApp(t, cfg("tomcat1", "n1")), startApp(t, cfg("tomcat2", "n2"))
			s := decodeSession(t, call(t, "PUT", app1.url+"/api/session/attributes/a", "", "1"))
			stored := func() map[string]string {
				b, _ := rawGet(n2, s.ID)
				var rec struct{ Attributes map[string]string }
				json.Unmarshal(b, &rec)
				return rec.Attributes
			}
			eventually(t, "a stored", func() bool { return stored()["a"] == "1" })
			decodeSession(t, call(t, "PUT", app2.url+"/api/session/attributes/b", s.ID, "2"))
			eventually(t, "b stored by app2", func() bool { return stored()["b"] == "2" })
			if tc.pull {
				eventually(t, "app1 sees b", func() bool {
					return decodeSession(t, call(t, "GET", app1.url+"/api/session", s.ID, "")).Attributes["b"] == "2"
				})
			}
			decodeSession(t, call(t, "PUT", app1.url+"/api/session/attributes/c", s.ID, "3"))
			eventually(t, "a, b and c stored", func() bool {
				st := stored()
				return st["a"] == "1" && st["b"] == "2" && st["c"] == "3"
			})
			// The write's result becomes app1's copy just after it lands.
			eventually(t, "app1 shows b=2 from app2 and its own c=3", func() bool {
				got := decodeSession(t, call(t, "GET", app1.url+"/api/session", s.ID, ""))
				return got.Attributes["b"] == "2" && got.Attributes["c"] == "3"
			})
		})
	}
}
