package app

import (
	"slices"
	"strings"
	"testing"
)

func TestSessionAPI(t *testing.T) {
	n1 := startMemcached(t, "n1")
	for _, mode := range []string{"sticky", "non-sticky"} {
		t.Run(mode, func(t *testing.T) {
			a := startApp(t, Config{Name: "api", Nodes: nodesFlag(n1), Mode: mode})
			first := call(t, "GET", a.url+"/api/session", "", "")
			s := decodeSession(t, first)
			if first.cookie == nil || s.Server != "api" || s.Node != "n1" || s.Created == "" || len(s.Attributes) != 0 {
				t.Fatalf("got %+v cookie %v; want a new empty session on n1 with a cookie", s, first.cookie)
			}
			sid := s.ID
			for _, tc := range []struct {
				name, method, path, body string
				wantCode                 int
				wantAttrs                string // k=v pairs, sorted, after the call
			}{
				{"put", "PUT", "/api/session/attributes/colour", "blue", 200, "colour=blue"},
				{"put unicode key", "PUT", "/api/session/attributes/f%C3%A4rg", "röd", 200, "colour=blue färg=röd"},
				{"overwrite", "PUT", "/api/session/attributes/colour", "green", 200, "colour=green färg=röd"},
				{"delete", "DELETE", "/api/session/attributes/f%C3%A4rg", "", 200, "colour=green"},
				{"delete missing", "DELETE", "/api/session/attributes/nope", "", 200, "colour=green"},
				{"value too large", "PUT", "/api/session/attributes/big", strings.Repeat("x", 64<<10+1), 413, "colour=green"},
				{"key too long", "PUT", "/api/session/attributes/" + strings.Repeat("k", 257), "v", 400, "colour=green"},
				{"wrong method", "POST", "/api/session/attributes/colour", "v", 405, "colour=green"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := call(t, tc.method, a.url+tc.path, sid, tc.body)
					if r.code != tc.wantCode {
						t.Fatalf("got %d %q; want %d", r.code, r.body, tc.wantCode)
					}
					got := decodeSession(t, call(t, "GET", a.url+"/api/session", sid, ""))
					if got.ID != sid || attrString(got.Attributes) != tc.wantAttrs {
						t.Fatalf("got %s %q; want %s %q", got.ID, attrString(got.Attributes), sid, tc.wantAttrs)
					}
				})
			}
			r := call(t, "DELETE", a.url+"/api/session", sid, "")
			if r.code != 204 || r.cookie == nil || r.cookie.MaxAge >= 0 {
				t.Fatalf("logout: got %d cookie %v; want 204 and the cookie cleared", r.code, r.cookie)
			}
			if got := decodeSession(t, call(t, "GET", a.url+"/api/session", sid, "")); got.ID == sid {
				t.Fatal("session alive after DELETE /api/session")
			}
		})
	}
}

func attrString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
