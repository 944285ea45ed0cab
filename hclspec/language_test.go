package hclspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tier is a small valid configuration that cases extend.
const tier = `
host "a" { address = "10.0.0.1" }
host "b" { address = "10.0.0.2" }
cache "c1" { host = host.a }
cache "c2" { host = host.b }
app "x" {
  host = host.a
  session {
    nodes = [cache.c1, cache.c2]
  }
}
proxy "lb" {
  host     = host.b
  listen   = 8000
  backends = [app.x]
}
`

func outputs(t *testing.T, src string, vars VarInputs) map[string]string {
	t.Helper()
	cfg, _, diags := loadSource(t, src, vars)
	if diags.HasErrors() {
		t.Fatalf("load: %v", summaries(diags))
	}
	out := map[string]string{}
	for _, o := range cfg.Outputs {
		out[o.Name] = o.Value.GoString()
	}
	return out
}

func TestExpressions(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"resource attribute", `output "o" { value = host.b.address }`, `cty.StringVal("10.0.0.2")`},
		{"nested object", `output "o" { value = cache.c2.host.name }`, `cty.StringVal("b")`},
		{"endpoint", `output "o" { value = app.x.endpoint }`, `cty.StringVal("10.0.0.1:8080")`},
		{"proxy url", `output "o" { value = proxy.lb.url }`, `cty.StringVal("http://10.0.0.2:8000/")`},
		{"defaults are visible", `output "o" { value = cache.c1.port + host.a.port }`, `cty.NumberIntVal(11233)`},
		{"locals refer to each other", "locals {\n  a = \"${local.b}!\"\n  b = upper(\"hi\")\n}\noutput \"o\" { value = local.a }", `cty.StringVal("HI!")`},
		{"format and join", `output "o" { value = format("%s-%d", join(",", ["p", "q"]), length([1, 2])) }`, `cty.StringVal("p,q-2")`},
		{"lookup and merge", `output "o" { value = lookup(merge({ a = "1" }, { b = "2" }), "b", "none") }`, `cty.StringVal("2")`},
		{"concat and lower", `output "o" { value = lower(concat(["A"], ["B"])[1]) }`, `cty.StringVal("b")`},
		{"for expression", `output "o" { value = [for h in [host.a, host.b] : h.address] }`, `cty.TupleVal([]cty.Value{cty.StringVal("10.0.0.1"), cty.StringVal("10.0.0.2")})`},
		{"file relative to the config", `output "o" { value = trimspace(file("motd.txt")) }`, `cty.StringVal("hello")`},
		{"path.module", `output "o" { value = path.module != "" }`, "cty.True"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tier + tc.src
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "motd.txt"), []byte("hello\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644)
			cfg, _, diags := Load(dir, VarInputs{})
			if diags.HasErrors() {
				t.Fatalf("load: %v", summaries(diags))
			}
			if got := cfg.Outputs[0].Value.GoString(); got != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

func TestVariablePrecedence(t *testing.T) {
	src := tier + `
variable "who" { default = "default" }
variable "n" {
  type    = number
  default = 1
}
variable "tags" {
  type    = list(string)
  default = []
}
output "who" { value = var.who }
output "n" { value = var.n }
output "tags" { value = length(var.tags) }
`
	for _, tc := range []struct {
		name      string
		vars      VarInputs
		file      string
		who, n, k string
	}{
		{name: "defaults", who: "default", n: "1", k: "0"},
		{name: "environment over default", vars: VarInputs{Env: map[string]string{"who": "env", "n": "2"}}, who: "env", n: "2", k: "0"},
		{name: "file over environment", vars: VarInputs{Env: map[string]string{"who": "env"}, Files: []string{"v.hcl"}},
			file: "who = \"file\"\ntags = [\"a\", \"b\"]\n", who: "file", n: "1", k: "2"},
		{name: "flag over file", vars: VarInputs{Env: map[string]string{"who": "env"}, Files: []string{"v.hcl"}, Flags: []string{"who=flag", "n=3", "tags=[\"x\"]"}},
			file: "who = \"file\"\n", who: "flag", n: "3", k: "1"},
		{name: "last flag wins", vars: VarInputs{Flags: []string{"who=one", "who=two=2"}}, who: "two=2", n: "1", k: "0"},
		{name: "undeclared environment values are ignored", vars: VarInputs{Env: map[string]string{"other": "x"}}, who: "default", n: "1", k: "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				os.WriteFile(filepath.Join(dir, "v.hcl"), []byte(tc.file), 0o644)
				tc.vars.Files = []string{filepath.Join(dir, "v.hcl")}
			}
			out := outputs(t, src, tc.vars)
			for name, want := range map[string]string{"who": `cty.StringVal("` + tc.who + `")`, "n": "cty.NumberIntVal(" + tc.n + ")", "tags": "cty.NumberIntVal(" + tc.k + ")"} {
				if out[name] != want {
					t.Errorf("%s: got %s; want %s", name, out[name], want)
				}
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	src := tier + "variable \"n\" {\n  type    = number\n  default = 1\n}\n"
	for _, tc := range []struct {
		name    string
		vars    VarInputs
		file    string
		summary string
	}{
		{"number from text", VarInputs{Flags: []string{"n=many"}}, "", "Invalid value for variable"},
		{"number from the environment", VarInputs{Env: map[string]string{"n": "[1]"}}, "", "Invalid value for variable"},
		{"missing var file", VarInputs{Files: []string{"/nonexistent/v.hcl"}}, "", "Cannot read variables file"},
		{"undeclared in a var file", VarInputs{}, "m = 1\n", "Value for undeclared variable"},
		{"var file syntax", VarInputs{}, "n = = 1\n", "Invalid expression"},
		{"var file with references", VarInputs{}, "n = var.x\n", "Variables not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.file != "" {
				f := filepath.Join(t.TempDir(), "v.hcl")
				os.WriteFile(f, []byte(tc.file), 0o644)
				tc.vars.Files = []string{f}
			}
			_, _, diags := loadSource(t, src, tc.vars)
			if findDiag(diags, tc.summary) == nil {
				t.Errorf("got %v; want %q", summaries(diags), tc.summary)
			}
		})
	}
}

func TestVariableValueWording(t *testing.T) {
	src := tier + "variable \"n\" {\n  type    = number\n  default = 1\n}\nvariable \"b\" {\n  type    = bool\n  default = false\n}\n"
	for _, tc := range []struct {
		name, want string
		vars       VarInputs
	}{
		{name: "word for a number", want: "a number is required", vars: VarInputs{Flags: []string{"n=abc"}}},
		{name: "number with a unit", want: "a number is required", vars: VarInputs{Env: map[string]string{"n": "1.5x"}}},
		{name: "word for a bool", want: "a bool is required", vars: VarInputs{Flags: []string{"b=yes"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, diags := loadSource(t, src, tc.vars)
			d := findDiag(diags, "Invalid value for variable")
			if d == nil || !strings.Contains(d.Detail, tc.want) {
				t.Errorf("got %v; want a detail containing %q", diags, tc.want)
			}
		})
	}
}

func TestFailoverDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, session, want string
	}{
		{"own host's cache", "nodes = [cache.c1, cache.c2]", "cache.c1"},
		{"all nodes local means none", "nodes = [cache.c1]", ""},
		{"no local node", "nodes = [cache.c2]", ""},
		{"explicit empty list", "nodes = [cache.c1, cache.c2]\n failover_nodes = []", ""},
		{"explicit", "nodes = [cache.c1, cache.c2]\n failover_nodes = [cache.c2]", "cache.c2"},
		{"external node", "nodes = [cache.c1, cache.ext]", "cache.c1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(tier, "nodes = [cache.c1, cache.c2]", tc.session, 1) +
				"cache \"ext\" {\n  external = true\n  address = \"10.9.9.9\"\n}\n"
			cfg, _, diags := loadSource(t, src, VarInputs{})
			if diags.HasErrors() {
				t.Fatalf("load: %v", summaries(diags))
			}
			if got := addrs(cfg.Apps[0].Session.FailoverNodes); got != tc.want {
				t.Errorf("got failover nodes %q; want %q", got, tc.want)
			}
		})
	}
}

func TestListenAddresses(t *testing.T) {
	src := strings.Replace(tier, `host "b" { address = "10.0.0.2" }`, `host "b" { address = "b.example.internal" }`, 1)
	src = strings.Replace(src, `cache "c1" { host = host.a }`, "cache \"c1\" {\n  host   = host.a\n  listen = \"127.0.0.1\"\n}", 1)
	cfg, _, diags := loadSource(t, src, VarInputs{})
	if diags.HasErrors() {
		t.Fatalf("load: %v", summaries(diags))
	}
	for _, tc := range []struct{ name, got, want string }{
		{"listen override", cfg.Caches[0].Listen, "127.0.0.1"},
		{"clients still use the host address", cfg.Caches[0].Endpoint(), "10.0.0.1:11211"},
		{"DNS host binds every address", cfg.Caches[1].Listen, "0.0.0.0"},
		{"DNS host endpoint", cfg.Caches[1].Endpoint(), "b.example.internal:11211"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q; want %q", tc.name, tc.got, tc.want)
		}
	}
	if findDiag(diags, "Cache listens on every interface") == nil {
		t.Errorf("got %v; want a warning about the cache on 0.0.0.0", summaries(diags))
	}
}

func TestSensitive(t *testing.T) {
	base := tier + "variable \"secret\" {\n  default   = \"k3y\"\n  sensitive = true\n}\n"
	hmac := strings.Replace(base, "listen   = 8000", "listen   = 8000\n  sticky {\n    hash     = \"hmac\"\n    hmac_key = var.secret\n  }", 1)
	cfg, _, diags := loadSource(t, hmac+"output \"k\" {\n  value     = upper(var.secret)\n  sensitive = true\n}\n", VarInputs{})
	if diags.HasErrors() {
		t.Fatalf("load: %v", summaries(diags))
	}
	if got := cfg.Proxies[0].Sticky.HMACKey; got != "k3y" {
		t.Errorf("got hmac_key %q; want the variable's value", got)
	}
	if o := cfg.Outputs[0]; !o.Sensitive || o.Value.IsMarked() || o.Value.AsString() != "K3Y" {
		t.Errorf("got output %#v sensitive=%v; want an unmarked K3Y marked sensitive", o.Value, o.Sensitive)
	}
	_, _, diags = loadSource(t, base+"output \"k\" { value = \"key: ${var.secret}\" }\n", VarInputs{})
	if findDiag(diags, "Output refers to sensitive values") == nil {
		t.Errorf("got %v; want an error for a sensitive value in a plain output", summaries(diags))
	}
	_, _, diags = loadSource(t, base+"host \"h\" {\n  for_each = toset([var.secret])\n  address  = \"10.1.1.1\"\n}\n", VarInputs{})
	if findDiag(diags, "Invalid for_each argument") == nil {
		t.Errorf("got %v; want an error for a sensitive for_each", summaries(diags))
	}
}

func TestSlugsAndNodeIDs(t *testing.T) {
	for _, tc := range []struct{ name, slug, node string }{
		{"n1", "n1", "n1"},
		{`web["server7"]`, "web-server7", "web_server7"},
		{"web[0]", "web-0", "web_0"},
		{"node-1", "node-1", "node_1"},
		{`n["a b.c"]`, "n-a-b.c", "n_a_b_c"},
	} {
		c := &Cache{Name: tc.name}
		if got := c.Slug(); got != tc.slug {
			t.Errorf("%s: got slug %q; want %q", tc.name, got, tc.slug)
		}
		if got := c.NodeID(); got != tc.node {
			t.Errorf("%s: got node id %q; want %q", tc.name, got, tc.node)
		}
	}
}

func TestJSONVarFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "prod.json")
	os.WriteFile(f, []byte(`{"who": "json"}`), 0o644)
	out := outputs(t, tier+"variable \"who\" {}\noutput \"who\" { value = var.who }\n", VarInputs{Files: []string{f}})
	if out["who"] != `cty.StringVal("json")` {
		t.Errorf("got %s; want the value from the JSON file", out["who"])
	}
}
