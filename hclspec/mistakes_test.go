package hclspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// mistake is a copy of examples/classic/main.hcl with one edit, and the
// diagnostic an operator must get for it.
type mistake struct {
	name     string
	old, new string // the first occurrence of old is replaced by new
	summary  string // of the expected diagnostic
	line     int    // where its subject starts in main.hcl
	warning  bool   // the diagnostic is a warning, and the config stays valid
	vars     VarInputs
	detail   string // a substring the detail must contain, when set
}

// Line numbers refer to examples/classic/main.hcl: 65-68 cache n1, 72
// cache n2, 76-82 app tomcat1, 87-91 app tomcat2, 95-110 proxy lb.
func mistakes() []mistake {
	return []mistake{
		{name: "undeclared backend", old: "[app.tomcat1, app.tomcat2]", new: "[app.tomcat1, app.tomcat3]",
			summary: "Reference to undeclared app", line: 98, detail: "Did you mean app.tomcat1?"},
		{name: "backend is not an app", old: "[app.tomcat1, app.tomcat2]", new: "[app.tomcat1, cache.n2]",
			summary: "Invalid backends element", line: 98, detail: "refers to a cache"},
		{name: "node is not a cache", old: "nodes   = [cache.n1, cache.n2]", new: "nodes   = [cache.n1, host.server4]",
			summary: "Invalid nodes element", line: 82, detail: "refers to a host"},
		{name: "host is not a host", old: "host = host.server4\n}", new: "host = cache.n1\n}",
			summary: "Invalid host reference", line: 72, detail: "refers to a cache"},
		{name: "undeclared host", old: "host      = host.server3", new: "host      = host.server9",
			summary: "Reference to undeclared host", line: 65},
		{name: "wrong kind of reference", old: "host      = host.server3", new: "host      = cache.server3",
			summary: "Reference to undeclared cache", line: 65, detail: "there is host.server3"},
		{name: "bare name", old: "nodes   = [cache.n1, cache.n2]", new: "nodes   = [n1, cache.n2]",
			summary: "Unknown reference", line: 82},
		{name: "duplicate cache", old: `cache "n2" {`, new: `cache "n1" {`, summary: "Duplicate cache block", line: 71, detail: "main.hcl:64"},
		{name: "duplicate host", old: `host "server4" {`, new: `host "server3" {`, summary: "Duplicate host block", line: 57},
		{name: "cache and app on one port", old: "port      = 11211", new: "port      = 8080",
			summary: "Port already in use", line: 77, detail: "cache.n1"},
		{name: "proxy on an app's port", old: "host     = host.server2\n  listen   = 80", new: "host     = host.server3\n  listen   = 8080",
			summary: "Port already in use", line: 97, detail: "app.tomcat1"},
		{name: "app on the ssh port", old: "port = 8080\n  session {\n    cookie", new: "port = 22\n  session {\n    cookie",
			summary: "Port already in use", line: 77, detail: "SSH"},
		{name: "failover node not in nodes", old: "nodes   = [cache.n1, cache.n2]", new: "nodes = [cache.n2]\n    failover_nodes = [cache.n1]",
			summary: "Failover node not in nodes", line: 83},
		{name: "failover names every node", old: "nodes   = [cache.n1, cache.n2]\n", new: "nodes   = [cache.n1, cache.n2]\n    failover_nodes = [cache.n2, cache.n1]\n",
			summary: "Every node is a failover node", line: 83},
		{name: "empty nodes", old: "nodes   = [cache.n1, cache.n2]", new: "nodes   = []", summary: "No session nodes", line: 82},
		{name: "duplicate node", old: "nodes   = [cache.n1, cache.n2]", new: "nodes   = [cache.n1, cache.n1]", summary: "Duplicate nodes element", line: 82},
		{name: "missing nodes", old: "nodes   = [cache.n1, cache.n2]", new: "", summary: "Missing required argument", line: 78},
		{name: "bad duration", old: `timeout = "30m"`, new: `timeout = "30 minutes"`, summary: "Invalid duration", line: 80},
		{name: "negative timeout", old: `timeout = "30m"`, new: `timeout = "-5m"`, summary: "Invalid session timeout", line: 80},
		{name: "expires under a second", old: `expires  = "1h"`, new: `expires  = "500ms"`, summary: "Sticky cookie expires too soon", line: 102},
		{name: "unknown hash", old: `hash     = "md5"`, new: `hash     = "sha256"`, summary: "Unknown hash", line: 101, detail: `"hmac"`},
		{name: "hmac without key", old: `hash     = "md5"`, new: `hash     = "hmac"`, summary: "Missing hmac_key", line: 101},
		{name: "hmac key without hmac", old: `hash     = "md5"`, new: `hmac_key = "s3cret"`, summary: "hmac_key unused", line: 101, warning: true},
		{name: "port too large", old: "port      = 11211", new: "port      = 70000", summary: "Port out of range", line: 66},
		{name: "port zero", old: "listen   = 80", new: "listen   = 0", summary: "Port out of range", line: 97},
		{name: "fractional port", old: "listen   = 80", new: "listen   = 80.5", summary: "Invalid number", line: 97},
		{name: "port as a word", old: "listen   = 80", new: `listen   = "eighty"`, summary: "Incorrect attribute value type", line: 97},
		{name: "missing address", old: "address       = var.app2_address", new: "", summary: "Missing required argument", line: 57},
		{name: "missing app host", old: "host = host.server4\n  port", new: "port", summary: "Missing required argument", line: 87},
		{name: "misspelled attribute", old: "memory_mb = 64", new: "memroy_mb = 64", summary: "Unsupported argument", line: 67, detail: `Did you mean "memory_mb"?`},
		{name: "unknown block type", old: `cache "n2" {`, new: `cach "n2" {`, summary: "Unsupported block type", line: 71},
		{name: "cookie names clash", old: `name     = "route"`, new: `name     = "JSESSIONID"`, summary: "Sticky cookie clashes with session cookie", line: 100},
		{name: "undeclared variable", old: "address       = var.app2_address", new: "address       = var.app2_adress",
			summary: "Reference to undeclared input variable", line: 58, detail: "Did you mean var.app2_address?"},
		{name: "syntax error", old: "port = 8080\n  session {\n    cookie", new: "port = 8080 8081\n  session {\n    cookie", summary: "Missing newline after argument", line: 77},
		{name: "unclosed block", old: "output \"url\" {", new: "output \"url\" {{", summary: "Argument or block definition required", line: 113},
		{name: "cache on a public address", old: `default     = "172.25.1.3"`, new: `default     = "8.8.8.8"`, summary: "Cache on a public address", line: 65, warning: true},
		{name: "cache on every interface", old: "port      = 11211", new: "listen    = \"0.0.0.0\"", summary: "Cache listens on every interface", line: 66, warning: true},
		{name: "negative memory", old: "memory_mb = 64", new: "memory_mb = -1", summary: "Invalid memory_mb", line: 67},
		{name: "unknown engine", old: `engine    = "builtin"`, new: `engine    = "redis"`, summary: "Unknown engine", line: 68},
		{name: "unknown mode", old: `mode    = "sticky"`, new: `mode    = "sticki"`, summary: "Unknown mode", line: 81},
		{name: "unknown locking", old: `mode    = "sticky"`, new: `locking = "sometimes"`, summary: "Unknown locking", line: 81},
		{name: "bad address", old: `default     = "172.25.1.4"`, new: `default     = "172.25.1.4 "`, summary: "Invalid host address", line: 58},
		{name: "bad listen address", old: "port      = 11211", new: `listen    = "localhost"`, summary: "Invalid listen address", line: 66},
		{name: "no backends", old: "[app.tomcat1, app.tomcat2]", new: "[]", summary: "No backends", line: 98},
		{name: "duplicate backend", old: "[app.tomcat1, app.tomcat2]", new: "[app.tomcat1, app.tomcat1]", summary: "Duplicate backends element", line: 98},
		{name: "unknown balance", old: "listen   = 80", new: `balance  = "random"`, summary: "Unknown balance", line: 97},
		{name: "weight for a non-backend", old: "listen   = 80", new: `weights  = { tomcat3 = 2 }`, summary: "Weight for an unknown backend", line: 97},
		{name: "fall zero", old: "fall     = 3", new: "fall     = 0", summary: "Invalid health check fall", line: 108},
		{name: "health path", old: `path     = "/health"`, new: `path     = "health"`, summary: "Invalid health check path", line: 106},
		{name: "unknown samesite", old: "httponly = true", new: `samesite = "sometimes"`, summary: "Unknown samesite", line: 103},
		{name: "relative static", old: "port = 8080\n  session {\n    cookie", new: "static = \"www\"\n  session {\n    cookie", summary: "Relative static path", line: 77},
		{name: "bad upstream", old: "port = 8080\n  session {\n    cookie", new: "upstream = \"localhost\"\n  session {\n    cookie", summary: "Invalid upstream", line: 77},
		{name: "bad host key", old: "address       = var.app2_address", new: "address       = var.app2_address\n  host_key      = \"ssh-ed25519 nope\"", summary: "Invalid host_key", line: 59},
		{name: "missing session", old: "session {\n    nodes = [cache.n1, cache.n2] # failover_nodes defaults to [cache.n2]\n  }", new: "",
			summary: "Missing session block", line: 87},
		{name: "duplicate session", old: "  session {\n    nodes = [cache.n1", new: "  session {}\n  session {\n    nodes = [cache.n1", summary: "Duplicate session block", line: 91},
		// an app refers to both caches, so these wrong kinds also close a cycle
		{name: "host is an app on a cycle", old: "host = host.server4\n}", new: "host = app.tomcat1\n}",
			summary: "Invalid host reference", line: 72, detail: "refers to an app"},
		{name: "backend is the proxy itself", old: "backends = [app.tomcat1, app.tomcat2]", new: "backends = [app.tomcat1, proxy.lb]",
			summary: "Invalid backends element", line: 98, detail: "refers to a proxy"},
		{name: "external cache with host", old: "host = host.server4\n}", new: "host = host.server4\n  external = true\n  address = \"10.0.0.9\"\n}",
			summary: "Host of an external cache", line: 72},
		{name: "external cache without address", old: "host = host.server4\n}", new: "external = true\n}", summary: "Missing address", line: 72},
		{name: "managed cache without host", old: "host = host.server4\n}", new: "port = 11211\n}", summary: "Missing host", line: 71},
		{name: "each outside for_each", old: "port = 8080\n  session {\n    cookie", new: "port = each.value\n  session {\n    cookie", summary: "Reference to each outside for_each", line: 77},
		{name: "unknown function", old: "value       = \"http://${host.server2.address}/\"", new: "value       = upcase(host.server2.address)", summary: "Call to unknown function", line: 115},
		{name: "file not found", old: "value       = \"http://${host.server2.address}/\"", new: "value       = file(\"missing.txt\")", summary: "Error in function call", line: 115},
		{name: "self reference", old: "address       = var.app2_address", new: "address       = host.server4.name", summary: "Self-referencing block", line: 58},
		{name: "cycle between locals", old: "ssh_user = var.user", new: "ssh_user = local.other\n  other = local.ssh_user", summary: "Cycle in references", line: 40},
		{name: "no value for a variable", old: `default     = "root"`, new: "", summary: "No value for required variable", line: 24},
		{name: "invalid block name", old: `host "server4" {`, new: `host "server 4" {`, summary: "Invalid block name", line: 57},
		{name: "duplicate variable", old: `variable "key" {`, new: `variable "user" {`, summary: "Duplicate variable block", line: 29, detail: "main.hcl:24"},
		{name: "duplicate local", old: "ssh_user = var.user\n}", new: "ssh_user = var.user\n}\n\nlocals {\n  ssh_user = \"x\"\n}", summary: "Duplicate local value", line: 44},
		{name: "names too similar", old: `cache "n2" {`, new: "cache \"n_1\" {\n  host = host.server2\n}\n\ncache \"n-1\" {\n  host = host.server2\n  port = 11212\n}\n\ncache \"n2\" {",
			summary: "Names too similar", line: 75, detail: `"n_1"`},
		{name: "cache on loopback used from another host", old: "port      = 11211", new: "listen    = \"127.0.0.1\"", summary: "Cache unreachable", line: 91, detail: "app.tomcat2"},
		{name: "backend on loopback", old: "port = 8080\n  session {\n    cookie", new: "listen = \"127.0.0.1\"\n  session {\n    cookie", summary: "Backend unreachable", line: 98},
		{name: "two proxies, one admin port", old: "output \"url\" {", new: "proxy \"lb2\" {\n  host     = host.server2\n  listen   = 8081\n  backends = [app.tomcat1]\n}\n\noutput \"url\" {",
			summary: "Port already in use", line: 113, detail: "admin listener of proxy.lb2"},
		{name: "variables file among the config", old: "locals {", new: "user = \"admin\"\n\nlocals {", summary: "Unsupported argument", line: 39, detail: "-var-file"},
		{name: "undeclared -var", old: "", new: "", vars: VarInputs{Flags: []string{"usr=admin"}}, summary: "Value for undeclared variable"},
		{name: "malformed -var", old: "", new: "", vars: VarInputs{Flags: []string{"user"}}, summary: "Invalid -var option"},
		{name: "variable of the wrong type", old: "description = \"SSH user", new: "type = number\n  description = \"SSH user", summary: "Invalid default value for variable", line: 27},
		{name: "sensitive not a bool", old: "description = \"SSH user", new: "sensitive = \"yes\"\n  description = \"SSH user", summary: "Incorrect attribute value type", line: 25},
		{name: "list for_each", old: `host "server4" {`, new: `host "server4" {` + "\n  for_each = [\"a\"]", summary: "Invalid for_each argument", line: 58},
		{name: "count and for_each", old: `host "server4" {`, new: `host "server4" {` + "\n  count = 1\n  for_each = {}", summary: "Invalid combination of count and for_each", line: 58},
		{name: "negative count", old: `host "server4" {`, new: `host "server4" {` + "\n  count = -1", summary: "Invalid count argument", line: 58},
	}
}

// load writes src as main.hcl in a fresh directory and loads it from
// there, so diagnostics name "main.hcl".
func loadSource(t *testing.T, src string, vars VarInputs) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return Load(".", vars)
}

func classicSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "classic", "main.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (m mistake) apply(t *testing.T, classic string) string {
	t.Helper()
	if m.old == "" {
		return classic
	}
	if !strings.Contains(classic, m.old) {
		t.Fatalf("examples/classic/main.hcl no longer contains %q; update the case", m.old)
	}
	return strings.Replace(classic, m.old, m.new, 1)
}

func TestMistakes(t *testing.T) {
	classic := classicSource(t)
	for _, m := range mistakes() {
		t.Run(m.name, func(t *testing.T) {
			cfg, _, diags := loadSource(t, m.apply(t, classic), m.vars)
			d := findDiag(diags, m.summary)
			if d == nil {
				t.Fatalf("got diagnostics %v; want one with summary %q", summaries(diags), m.summary)
			}
			if got := d.Severity == hcl.DiagWarning; got != m.warning {
				t.Errorf("got warning=%v; want %v", got, m.warning)
			}
			if m.warning != (cfg != nil) {
				t.Errorf("got config %v with diagnostics %v; want a config only for warnings", cfg != nil, summaries(diags))
			}
			if m.line != 0 {
				if d.Subject == nil {
					t.Fatalf("got no subject for %q; want main.hcl:%d", m.summary, m.line)
				}
				if d.Subject.Filename != "main.hcl" || d.Subject.Start.Line != m.line {
					t.Errorf("got %s:%d; want main.hcl:%d (%s)", d.Subject.Filename, d.Subject.Start.Line, m.line, d.Detail)
				}
			}
			if !strings.Contains(d.Detail, m.detail) {
				t.Errorf("got detail %q; want it to contain %q", d.Detail, m.detail)
			}
			if len(d.Detail) < 20 || !strings.HasSuffix(strings.TrimSpace(d.Detail), ".") && !strings.HasSuffix(d.Detail, "?") {
				t.Errorf("got detail %q; want a full sentence", d.Detail)
			}
		})
	}
}

func findDiag(diags hcl.Diagnostics, summary string) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Summary == summary {
			return d
		}
	}
	return nil
}

func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		s := d.Summary
		if d.Subject != nil {
			s += " @" + d.Subject.String()
		}
		out = append(out, s)
	}
	return out
}
