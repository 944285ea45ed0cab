package hclspec

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestExamples loads every configuration directory under examples/ so
// none goes stale: each must be valid without a single warning, and every
// file must already be in canonical format (stickyform fmt -check).
func TestExamples(t *testing.T) {
	dirs := map[string]bool{}
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".hcl") {
			dirs[filepath.Dir(path)] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"classic", "lab", "large"} {
		if !dirs[filepath.Join("../examples", want)] {
			t.Errorf("examples/%s is missing", want)
		}
	}
	for dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, _, diags := Load(dir, VarInputs{})
			if len(diags) > 0 {
				t.Fatalf("got diagnostics %v; want none", summaries(diags))
			}
			if len(cfg.Proxies) == 0 || len(cfg.Apps) == 0 || len(cfg.Caches) == 0 {
				t.Errorf("got %d proxies, %d apps, %d caches; want a whole tier", len(cfg.Proxies), len(cfg.Apps), len(cfg.Caches))
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
			for _, f := range files {
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(hclwrite.Format(src), src) {
					t.Errorf("%s is not canonically formatted; run stickyform fmt %s", f, dir)
				}
			}
		})
	}
}

// TestClassicExample checks the topology DESIGN.md describes: the proxy
// on server2, each app cross-storing with its own host's cache as
// failover, and the output url.
func TestClassicExample(t *testing.T) {
	cfg, _, diags := Load("../examples/classic", VarInputs{})
	if diags.HasErrors() {
		t.Fatalf("load: %v", summaries(diags))
	}
	p := cfg.Proxies[0]
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"proxy", p.Addr() + " on " + p.Host.Address + ":" + itoa(p.Listen), "proxy.lb on 172.25.1.2:80"},
		{"backends", addrs(p.Backends), "app.tomcat1,app.tomcat2"},
		{"tomcat1", cfg.Apps[0].Endpoint(), "172.25.1.3:8080"},
		{"tomcat2", cfg.Apps[1].Endpoint(), "172.25.1.4:8080"},
		{"tomcat1 nodes", addrs(cfg.Apps[0].Session.Nodes), "cache.n1,cache.n2"},
		{"tomcat1 failover", addrs(cfg.Apps[0].Session.FailoverNodes), "cache.n1"},
		{"tomcat2 failover", addrs(cfg.Apps[1].Session.FailoverNodes), "cache.n2"},
		{"n1", cfg.Caches[0].Endpoint(), "172.25.1.3:11211"},
		{"n2", cfg.Caches[1].Endpoint(), "172.25.1.4:11211"},
		{"key", cfg.Hosts[0].IdentityFile, "/var/lib/stickyform-lab/id_ed25519"},
		{"known_hosts", cfg.Hosts[0].KnownHosts, "/var/lib/stickyform-lab/known_hosts"},
		{"url", cfg.Outputs[0].Value.AsString(), "http://172.25.1.2/"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v; want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestClassicOnRealVMs points the same file at other machines through
// variables, as the README promises.
func TestClassicOnRealVMs(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	cfg, _, diags := Load("../examples/classic", VarInputs{
		Env:   map[string]string{"user": "deploy"},
		Flags: []string{"proxy_address=10.0.0.2", "app1_address=10.0.0.3", "app2_address=10.0.0.4", "key=~/.ssh/id_ed25519", "known_hosts=~/.ssh/known_hosts"},
	})
	if diags.HasErrors() {
		t.Fatalf("load: %v", summaries(diags))
	}
	h := cfg.Hosts[1]
	got := []string{h.Address, h.User, h.IdentityFile, h.KnownHosts, cfg.Outputs[0].Value.AsString()}
	want := []string{"10.0.0.3", "deploy", "/home/op/.ssh/id_ed25519", "/home/op/.ssh/known_hosts", "http://10.0.0.2/"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q; want %q", got[i], want[i])
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
