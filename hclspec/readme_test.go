package hclspec

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// docRow is one attribute row of README's configuration reference.
type docRow struct{ required, def string }

// readmeReference parses README's "## Configuration reference" section
// into block path ("proxy", "proxy.sticky") -> attribute -> row.
func readmeReference(t *testing.T) map[string]map[string]docRow {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration reference\n")
	if !ok {
		t.Fatal("README.md has no \"## Configuration reference\" section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	top := regexp.MustCompile("^### `([a-z_]+)")
	nested := regexp.MustCompile("^#### `([a-z_]+)` block \\(inside `([a-z_]+)`")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (yes|no) \\|([^|]*)\\|")
	out := map[string]map[string]docRow{}
	cur := ""
	for _, line := range strings.Split(section, "\n") {
		if m := top.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = map[string]docRow{}
		} else if m := nested.FindStringSubmatch(line); m != nil {
			cur = m[2] + "." + m[1]
			out[cur] = map[string]docRow{}
		} else if m := row.FindStringSubmatch(line); m != nil && cur != "" {
			out[cur][m[1]] = docRow{required: m[2], def: strings.TrimSpace(m[3])}
		}
	}
	return out
}

// TestReadmeReference holds README's reference and the schema together:
// every block and attribute of the schema is documented with the right
// required flag and default, and README documents nothing else.
func TestReadmeReference(t *testing.T) {
	doc := readmeReference(t)
	want := map[string][]attrSpec{}
	for _, b := range languageSpec() {
		want[b.typ] = b.attrs
		for _, nb := range b.blocks {
			want[b.typ+"."+nb.typ] = nb.attrs
		}
	}
	for path, attrs := range want {
		rows, ok := doc[path]
		if !ok {
			t.Errorf("README documents no block %s", path)
			continue
		}
		for _, a := range attrs {
			r, ok := rows[a.name]
			if !ok {
				t.Errorf("README documents no attribute %s.%s", path, a.name)
				continue
			}
			if wantReq := map[bool]string{true: "yes", false: "no"}[a.required]; r.required != wantReq {
				t.Errorf("README says %s.%s required=%s; the schema says %s", path, a.name, r.required, wantReq)
			}
			if r.def != a.def {
				t.Errorf("README gives %s.%s the default %q; the schema says %q", path, a.name, r.def, a.def)
			}
			delete(rows, a.name)
		}
		for name := range rows {
			t.Errorf("README documents %s.%s, which the schema does not have", path, name)
		}
		delete(doc, path)
	}
	delete(doc, "locals")
	for path := range doc {
		t.Errorf("README documents a block %s, which the schema does not have", path)
	}
}

// TestDefaultsMatchSpec checks the documented defaults against what the
// defaults step really fills in, on a minimal configuration.
func TestDefaultsMatchSpec(t *testing.T) {
	cfg, _, diags := loadSource(t, `
host "h" { address = "10.0.0.1" }
host "g" { address = "10.0.0.2" }
cache "c" { host = host.h }
cache "d" { host = host.g }
app "a" {
  host = host.h
  session { nodes = [cache.c, cache.d] }
}
proxy "p" {
  host     = host.g
  backends = [app.a]
}
`, VarInputs{})
	if diags.HasErrors() {
		t.Fatalf("load: %v", summaries(diags))
	}
	h, c, a, p := cfg.Hosts[0], cfg.Caches[0], cfg.Apps[0], cfg.Proxies[0]
	home, _ := os.UserHomeDir()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"host.port", h.Port, 22}, {"host.user", h.User, "root"}, {"host.known_hosts", h.KnownHosts, home + "/.ssh/known_hosts"},
		{"cache.port", c.Port, 11211}, {"cache.memory_mb", c.MemoryMB, 64}, {"cache.engine", c.Engine, "builtin"},
		{"cache.listen", c.Listen, "10.0.0.1"}, {"cache.max_item_size", c.MaxItemSize, 1048576}, {"cache.max_conns", c.MaxConns, 1024},
		{"app.port", a.Port, 8080}, {"app.listen", a.Listen, "10.0.0.1"}, {"session.cookie", a.Session.Cookie, "JSESSIONID"},
		{"session.timeout", a.Session.Timeout.String(), "30m0s"}, {"session.mode", a.Session.Mode, "sticky"},
		{"session.locking", a.Session.Locking, "auto"}, {"session.failover_nodes", addrs(a.Session.FailoverNodes), "cache.c"},
		{"proxy.listen", p.Listen, 80}, {"proxy.listen_address", p.ListenAddr, "10.0.0.2"}, {"proxy.balance", p.Balance, "round-robin"},
		{"proxy.weights", p.Weights[0], 1}, {"proxy.admin_listen", p.AdminListen, "127.0.0.1:9180"},
		{"proxy.access_log", p.AccessLog, "/var/log/stickyform/proxy-p.access.log"},
		{"sticky.name", p.Sticky.Name, "route"}, {"sticky.hash", p.Sticky.Hash, "md5"}, {"sticky.path", p.Sticky.Path, "/"},
		{"sticky.httponly", p.Sticky.HTTPOnly, true}, {"sticky.expires", p.Sticky.Expires.String(), "0s"},
		{"health_check.path", p.HealthCheck.Path, "/health"}, {"health_check.interval", p.HealthCheck.Interval.String(), "2s"},
		{"health_check.timeout", p.HealthCheck.Timeout.String(), "1s"}, {"health_check.fall", p.HealthCheck.Fall, 3},
		{"health_check.rise", p.HealthCheck.Rise, 2},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v; want %v", tc.name, tc.got, tc.want)
		}
	}
}

func addrs[T interface{ Addr() string }](xs []T) string {
	var out []string
	for _, x := range xs {
		out = append(out, x.Addr())
	}
	return strings.Join(out, ",")
}
