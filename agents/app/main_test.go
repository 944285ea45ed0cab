package app

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDeps holds the line of STYLE.md: the agent stays small and free of
// HCL, SSH and the engine (only internal/version may be imported).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "./sessions").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		bad := strings.Contains(dep, "hashicorp/hcl") || strings.Contains(dep, "golang.org/x/crypto/ssh") ||
			strings.HasPrefix(dep, "github.com/stickyform/stickyform/internal/") && dep != "github.com/stickyform/stickyform/internal/version" ||
			dep == "github.com/stickyform/stickyform/hclspec" || strings.HasPrefix(dep, "github.com/stickyform/stickyform/provisioner")
		if bad {
			t.Errorf("agents/app depends on %s; want no HCL, SSH or engine packages", dep)
		}
	}
}

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "app-tomcat1.json")
	os.WriteFile(cfgFile, []byte(`{"name":"tomcat1","listen":"172.25.1.3:8080",
	 "nodes":"n1:172.25.1.3:11211 n2:172.25.1.4:11211", "failover_nodes":"n1",
	 "mode":"sticky","cookie":"JSESSIONID","timeout":"30m","locking":"auto",
	 "static":"","upstream":""}`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name":"x","listen":"127.0.0.1:1","nodes":"n1:127.0.0.1:2","colour":"red"}`), 0o600)

	for _, tc := range []struct {
		name    string
		args    []string
		check   func(Config) bool
		wantErr string
	}{
		{"config file", []string{"-config", cfgFile}, func(c Config) bool {
			return c.Name == "tomcat1" && c.FailoverNodes == "n1" && time.Duration(c.Timeout) == 30*time.Minute
		}, ""},
		{"flags override file", []string{"-config", cfgFile, "-mode", "non-sticky", "-timeout", "2s", "-listen", "127.0.0.1:0"}, func(c Config) bool {
			return c.Mode == "non-sticky" && time.Duration(c.Timeout) == 2*time.Second && c.Listen == "127.0.0.1:0" && c.Name == "tomcat1"
		}, ""},
		{"flags only with defaults", []string{"-listen", "127.0.0.1:8080", "-name", "a", "-nodes", "n1:127.0.0.1:11211"}, func(c Config) bool {
			return c.Mode == "sticky" && c.Cookie == "JSESSIONID" && c.Locking == "auto" && time.Duration(c.Timeout) == 30*time.Minute
		}, ""},
		{"unknown json field", []string{"-config", bad}, nil, "unknown field"},
		{"bad mode", []string{"-listen", "x:1", "-name", "a", "-nodes", "n1:h:1", "-mode", "both"}, nil, "mode"},
		{"failover not a node", []string{"-listen", "x:1", "-name", "a", "-nodes", "n1:h:1 n2:h:2", "-failover-nodes", "n3"}, nil, "failover node"},
		{"all failover is allowed", []string{"-listen", "x:1", "-name", "a", "-nodes", "n1:h:1", "-failover-nodes", "n1"}, func(c Config) bool {
			return c.FailoverNodes == "n1"
		}, ""},
		{"writes before the response by default", []string{"-config", cfgFile}, func(c Config) bool {
			return !c.BackupAsync
		}, ""},
		{"backup-async flag", []string{"-config", cfgFile, "-backup-async"}, func(c Config) bool {
			return c.BackupAsync
		}, ""},
		{"node without port", []string{"-listen", "x:1", "-name", "a", "-nodes", "n1:h"}, nil, "id:host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseArgs(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got err %v; want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("got %+v, %v; want the expected config", c, err)
			}
		})
	}
}

func TestDemoPageAndHealth(t *testing.T) {
	n1 := startMemcached(t, "n1")
	a := startApp(t, Config{Name: "tomcat7", Nodes: nodesFlag(n1)})
	if r := call(t, "GET", a.url+"/health", "", ""); r.code != 200 || strings.TrimSpace(r.body) != "ok" || r.cookie != nil {
		t.Fatalf("health: got %d %q cookie %v; want 200 ok without a session", r.code, r.body, r.cookie)
	}
	r := call(t, "GET", a.url+"/", "", "")
	if r.code != 200 || r.cookie == nil || !strings.Contains(r.body, "tomcat7") || !strings.Contains(r.body, r.cookie.Value) {
		t.Fatalf("demo: got %d, cookie %v; want the page naming the server and the session", r.code, r.cookie)
	}
	sid := r.cookie.Value
	// A plain HTML form post (no JavaScript), answered with a redirect.
	req := "name=colour&value=%3Cb%3Eblue%3C%2Fb%3E"
	p := callForm(t, a.url+"/", sid, req)
	if p.code != 303 || p.header.Get("Location") != "/" {
		t.Fatalf("form post: got %d to %q; want 303 to /", p.code, p.header.Get("Location"))
	}
	page := call(t, "GET", a.url+"/", sid, "").body
	if !strings.Contains(page, "colour") || !strings.Contains(page, "&lt;b&gt;blue&lt;/b&gt;") {
		t.Fatalf("demo page after post lacks the escaped attribute:\n%s", page)
	}
	m := call(t, "GET", a.url+"/metrics", "", "").body
	for _, want := range []string{"stickyform_app_sessions_created_total 1", "stickyform_app_sessions_active 1", `stickyform_app_cache_node_up{node="n1"} 1`, "stickyform_app_request_duration_seconds_count"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestMainServesAndStops drives the agent as `stickyform agent app` does:
// flags only, then ctx ends (SIGTERM) and Main returns nil.
func TestMainServesAndStops(t *testing.T) {
	n1 := startMemcached(t, "n1")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"-listen", addr, "-name", "m1", "-nodes", nodesFlag(n1), "-mode", "non-sticky"}, io.Discard, io.Discard)
	}()
	eventually(t, "agent answering /health", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Main returned early: %v", err)
		default:
		}
		r, err := http.Get("http://" + addr + "/health")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	if s := decodeSession(t, call(t, "GET", "http://"+addr+"/api/session", "", "")); s.Server != "m1" {
		t.Fatalf("got server %q; want m1", s.Server)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Main returned %v after ctx ended; want nil", err)
	}
}
