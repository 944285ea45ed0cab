package app

import (
	"strings"
	"testing"
)

// TestFixationRefused: ids this cluster never issued are never adopted, and
// malformed cookie values never reach a cache node as keys.
func TestFixationRefused(t *testing.T) {
	n1, n2 := startMemcached(t, "n1"), startMemcached(t, "n2")
	for _, mode := range []string{"sticky", "non-sticky"} {
		t.Run(mode, func(t *testing.T) {
			a := startApp(t, Config{Nodes: nodesFlag(n1, n2), FailoverNodes: "n1", Mode: mode})
			hex := strings.Repeat("ab", 16)
			for _, tc := range []struct {
				name, cookie string
				wantLookup   bool // well-formed: may be looked up, must miss
			}{
				{"never issued", hex + "-n2", true},
				{"unknown node", hex + "-n9", false},
				{"uppercase hex", strings.ToUpper(hex) + "-n2", false},
				{"short", "abcd-n2", false},
				{"overlong", strings.Repeat("a", 4096) + "-n2", false},
				{"no node", hex, false},
				{"key injection", hex + "-n2\tflush_all", false},
				{"encoded crlf", hex + "-n2%0d%0aflush_all", false},
				{"space", hex + "-n 2", false},
				{"path", "../" + hex + "-n2", false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					before := nodeStats(t, n2)["cmd_get"] + nodeStats(t, n1)["cmd_get"]
					r := call(t, "GET", a.url+"/api/session", tc.cookie, "")
					s := decodeSession(t, r)
					if s.ID == tc.cookie || r.cookie == nil || r.cookie.Value != s.ID {
						t.Fatalf("got id %q, cookie %v; want a fresh session, not %q", s.ID, r.cookie, tc.cookie)
					}
					after := nodeStats(t, n2)["cmd_get"] + nodeStats(t, n1)["cmd_get"]
					if !tc.wantLookup && after != before {
						t.Errorf("got %d cache gets for a malformed id; want 0", after-before)
					}
				})
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	n1 := startMemcached(t, "n1")
	for _, tc := range []struct {
		name       string
		secure     bool
		wantSecure bool
	}{
		{"plain http", false, false},
		{"secure configured", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startApp(t, Config{Nodes: nodesFlag(n1), Secure: tc.secure})
			r := call(t, "GET", a.url+"/api/session", "", "")
			c := r.cookie
			if c == nil {
				t.Fatal("no session cookie set")
			}
			if !c.HttpOnly || c.Path != "/" || c.Secure != tc.wantSecure || !strings.Contains(r.header.Get("Set-Cookie"), "SameSite=Lax") {
				t.Errorf("got %q; want HttpOnly, Path=/, SameSite=Lax, Secure=%v", r.header.Get("Set-Cookie"), tc.wantSecure)
			}
			// An established session sets no cookie again.
			if r2 := call(t, "GET", a.url+"/api/session", c.Value, ""); r2.cookie != nil {
				t.Errorf("got Set-Cookie %v on a request with a valid session; want none", r2.cookie)
			}
		})
	}
}
