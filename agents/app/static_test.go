package app

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStaticAndUpstreamRouting(t *testing.T) {
	n1 := startMemcached(t, "n1")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "style.css"), []byte("body{}"), 0o644)
	up := exampleUpstream(t)
	defer up.Close()
	for _, tc := range []struct {
		name, upstream, path string
		wantCode             int
		wantBody             string // prefix
	}{
		{"static file", "", "/style.css", 200, "body{}"},
		{"static missing", "", "/nope.css", 404, "404 page not found"},
		{"traversal is cleaned", "", "/../../etc/passwd", 307, `<a href="/etc/passwd">`},
		{"no file outside the docroot", "", "/etc/passwd", 404, "404 page not found"},
		{"demo stays at /", "", "/", 200, "<!DOCTYPE html>"},
		{"file wins over upstream", "up", "/style.css", 200, "body{}"},
		{"upstream gets the rest", "up", "/page", 200, "id= server=web"},
		{"upstream owns /", "up", "/", 200, "id= server=web"},
		{"demo at /demo", "up", "/demo", 200, "<!DOCTYPE html>"},
		{"api stays the agent's", "up", "/api/session", 200, `{"id":`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Name: "web", Nodes: nodesFlag(n1), Static: dir}
			if tc.upstream != "" {
				cfg.Upstream = up.Listener.Addr().String()
			}
			a := startApp(t, cfg)
			r := call(t, "GET", a.url+tc.path, "", "")
			if r.code != tc.wantCode || len(r.body) < len(tc.wantBody) || r.body[:len(tc.wantBody)] != tc.wantBody {
				t.Fatalf("GET %s: got %d %.60q; want %d %q…", tc.path, r.code, r.body, tc.wantCode, tc.wantBody)
			}
		})
	}
}
