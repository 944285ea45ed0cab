package hclspec

import (
	"strings"
	"testing"
)

const repeated = `
locals {
  servers = { s1 = "10.0.0.1", s2 = "10.0.0.2", s3 = "10.0.0.3" }
}
host "lb" { address = "10.0.0.9" }
host "h" {
  for_each = local.servers
  address  = each.value
}
cache "n" {
  for_each = toset(["s1", "s2", "s3"])
  host     = host.h[each.key]
}
app "web" {
  count = 3
  host  = host.h["s${count.index + 1}"]
  session {
    nodes = [cache.n["s${count.index + 1}"], cache.n["s${(count.index + 1) % 3 + 1}"]]
  }
}
proxy "lb" {
  host     = host.lb
  backends = app.web[*]
}
output "first" { value = app.web[0].endpoint }
output "s2" { value = host.h["s2"].address }
`

func TestRepetition(t *testing.T) {
	cfg, _, diags := loadSource(t, repeated, VarInputs{})
	if len(diags) > 0 {
		t.Fatalf("load: %v", summaries(diags))
	}
	app1 := cfg.Apps[1]
	for _, tc := range []struct{ name, got, want string }{
		{"host instances", addrs(cfg.Hosts), `host.lb,host.h["s1"],host.h["s2"],host.h["s3"]`},
		{"cache instances", addrs(cfg.Caches), `cache.n["s1"],cache.n["s2"],cache.n["s3"]`},
		{"app instances", addrs(cfg.Apps), "app.web[0],app.web[1],app.web[2]"},
		{"each.value", cfg.Hosts[2].Address, "10.0.0.2"},
		{"count.index in a reference", app1.Host.Addr(), `host.h["s2"]`},
		{"nodes by key", addrs(app1.Session.Nodes), `cache.n["s2"],cache.n["s3"]`},
		{"failover on own host", addrs(app1.Session.FailoverNodes), `cache.n["s2"]`},
		{"splat backends", addrs(cfg.Proxies[0].Backends), "app.web[0],app.web[1],app.web[2]"},
		{"index in an output", cfg.Outputs[0].Value.AsString(), "10.0.0.1:8080"},
		{"key in an output", cfg.Outputs[1].Value.AsString(), "10.0.0.2"},
		{"instance dependencies", strings.Join(cfg.Dependencies["app.web[1]"], " "), `cache.n["s2"] cache.n["s3"] host.h["s2"]`},
		{"proxy dependencies", strings.Join(cfg.Dependencies["proxy.lb"], " "), "app.web[0] app.web[1] app.web[2] host.lb"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %s; want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestRepetitionForms(t *testing.T) {
	for _, tc := range []struct{ name, old, new, backends string }{
		{"values of a for_each", "count = 3\n  host  = host.h[\"s${count.index + 1}\"]", "for_each = host.h\n  host     = each.value", ""},
		{"whole block as a list", "backends = app.web[*]", "backends = app.web", ""},
		{"for expression", "backends = app.web[*]", "backends = [for a in app.web : a if a.port == 8080]", ""},
		{"indexed elements", "backends = app.web[*]", "backends = [app.web[2], app.web[0]]", "app.web[2],app.web[0]"},
		{"count zero", "count = 3", "count = 0", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(repeated, tc.old, tc.new, 1)
			if tc.name == "values of a for_each" {
				src = strings.Replace(src, `cache.n["s${count.index + 1}"], cache.n["s${(count.index + 1) % 3 + 1}"]`, "cache.n[each.key]", 1)
				src = strings.Replace(src, "backends = app.web[*]", "backends = values(app.web)", 1)
				src = strings.Replace(src, "app.web[0].endpoint", `app.web["s1"].endpoint`, 1)
			}
			if tc.name == "count zero" {
				src = strings.Replace(src, `output "first" { value = app.web[0].endpoint }`, "", 1)
			}
			cfg, _, diags := loadSource(t, src, VarInputs{})
			if tc.backends == "none" {
				if findDiag(diags, "No backends") == nil {
					t.Fatalf("got %v; want No backends", summaries(diags))
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("load: %v", summaries(diags))
			}
			want := tc.backends
			if want == "" {
				want = addrs(cfg.Apps)
			}
			if got := addrs(cfg.Proxies[0].Backends); got != want || len(cfg.Apps) != 3 {
				t.Errorf("got backends %s of %d apps; want %s of 3", got, len(cfg.Apps), want)
			}
		})
	}
}

func TestRepetitionMistakes(t *testing.T) {
	for _, tc := range []struct{ name, old, new, summary string }{
		{"unknown key", `host.h["s2"].address`, `host.h["s9"].address`, "Invalid index"},
		{"index out of range", "app.web[0].endpoint", "app.web[5].endpoint", "Invalid index"},
		{"whole block as host", "host     = host.h[each.key]", "host     = host.h", "Invalid host reference"},
		{"count.index without count", "address  = each.value", "address  = count.index", "Reference to count outside a counted block"},
		{"each.name", "address  = each.value", "address  = each.name", "Invalid each reference"},
		{"count of a string", "count = 3", `count = "three"`, "Invalid count argument"},
		{"for_each of a number", "for_each = local.servers", "for_each = 3", "Invalid for_each argument"},
		{"same port twice", "count = 3\n  host  = host.h[\"s${count.index + 1}\"]", "count = 3\n  host  = host.h[\"s1\"]", "Port already in use"},
		{"splat of caches as backends", "backends = app.web[*]", "backends = cache.n", "Invalid backends element"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(repeated, tc.old) {
				t.Fatalf("case does not apply: %q", tc.old)
			}
			_, _, diags := loadSource(t, strings.Replace(repeated, tc.old, tc.new, 1), VarInputs{})
			d := findDiag(diags, tc.summary)
			if d == nil {
				t.Fatalf("got %v; want %q", summaries(diags), tc.summary)
			}
			if d.Subject == nil || d.Subject.Filename != "main.hcl" {
				t.Errorf("got subject %v; want a range in main.hcl", d.Subject)
			}
		})
	}
}

// TestRepeatedMistakeReportedOnce checks that a mistake in a block with
// count is reported once, not once per instance.
func TestRepeatedMistakeReportedOnce(t *testing.T) {
	src := strings.Replace(repeated, "count = 3\n  host  = host.h[\"s${count.index + 1}\"]", "count = 3\n  host  = host.h[\"s${count.index + 1}\"]\n  port  = 0", 1)
	_, _, diags := loadSource(t, src, VarInputs{})
	var n int
	for _, d := range diags {
		if d.Summary == "Port out of range" {
			n++
			if !strings.HasSuffix(d.Detail, "The same problem affects 2 more instances of this block.") {
				t.Errorf("got detail %q; want it to count the other instances", d.Detail)
			}
		}
	}
	if n != 1 {
		t.Errorf("got %d Port out of range diagnostics; want 1", n)
	}
}
