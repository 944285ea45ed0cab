package engine

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/supervise"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testBin    = "1111111111111111111111111111111111111111111111111111111111111111"
	testNewBin = "2222222222222222222222222222222222222222222222222222222222222222"
)

// loadClassic loads examples/classic, the configuration users start from.
func loadClassic(t *testing.T) *hclspec.Config {
	t.Helper()
	cfg, _, diags := hclspec.Load(filepath.Join("..", "..", "examples", "classic"), hclspec.VarInputs{})
	if diags.HasErrors() {
		t.Fatalf("load examples/classic: %v", diags)
	}
	return cfg
}

func mustDesired(t *testing.T, cfg *hclspec.Config) []*Resource {
	t.Helper()
	d, err := Desired(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deployed is the state and host status right after applying desired.
func deployed(desired []*Resource) (*State, map[string]*hostStatus) {
	st := &State{Lineage: "l", Serial: 3}
	status := map[string]*hostStatus{}
	for _, d := range desired {
		st.Resources = append(st.Resources, resourceState(d, testBin))
		st.setHost(d.Host)
		hs := status[d.Host.Name]
		if hs == nil {
			hs = &hostStatus{Arch: "amd64", BinarySHA256: testBin, Roles: map[string]supervise.RoleStatus{}}
			status[d.Host.Name] = hs
		}
		hs.Roles[d.RoleName()] = supervise.RoleStatus{Name: d.RoleName(), ConfigSHA256: d.ConfigSHA256, Running: true, Healthy: true, PID: 42}
	}
	return st, status
}

func hostPlansFor(st *State, desired []*Resource, bin string) map[string]*HostPlan {
	out := map[string]*HostPlan{}
	for _, h := range planHosts(desired, st) {
		out[h.Name] = &HostPlan{Host: h, Arch: "amd64", BinarySHA256: bin, RemoteBinarySHA256: testBin}
	}
	return out
}

func TestPlanRendering(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(cfg *hclspec.Config) // the configuration change
		drift  func(status map[string]*hostStatus)
		empty  bool   // start from nothing deployed
		bin    string // the local build's hash; default testBin
		counts [3]int
	}{
		{name: "cold", empty: true, counts: [3]int{5, 0, 0}},
		{name: "no-changes"},
		{name: "one-attribute", counts: [3]int{0, 1, 0},
			edit: func(cfg *hclspec.Config) { cfg.Apps[0].Session.Timeout = 10 * time.Minute }},
		{name: "proxy-sticky", counts: [3]int{0, 1, 0},
			edit: func(cfg *hclspec.Config) {
				cfg.Proxies[0].Sticky.Hash, cfg.Proxies[0].Sticky.HMACKey = "hmac", "s3cret"
			}},
		{name: "drift", counts: [3]int{0, 2, 0},
			drift: func(status map[string]*hostStatus) {
				r := status["server3"].Roles["app-tomcat1"]
				r.ConfigSHA256 = "edited"
				status["server3"].Roles["app-tomcat1"] = r
				c := status["server4"].Roles["cache-n2"]
				c.Running, c.Healthy, c.PID = false, false, 0
				status["server4"].Roles["cache-n2"] = c
			}},
		{name: "replace-host", counts: [3]int{1, 2, 1},
			edit: func(cfg *hclspec.Config) {
				cfg.Caches[1].Host = cfg.Hosts[0]
				cfg.Caches[1].Address = cfg.Hosts[0].Address
				cfg.Caches[1].Listen = cfg.Hosts[0].Address
			}},
		{name: "remove-app", counts: [3]int{0, 1, 1},
			edit: func(cfg *hclspec.Config) {
				cfg.Apps = cfg.Apps[:1]
				cfg.Proxies[0].Backends, cfg.Proxies[0].Weights = cfg.Proxies[0].Backends[:1], nil
			}},
		{name: "new-binary", bin: testNewBin, counts: [3]int{0, 5, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadClassic(t)
			st, status := deployed(mustDesired(t, cfg))
			if tt.empty {
				st, status = &State{}, map[string]*hostStatus{}
				for _, h := range []string{"server2", "server3", "server4"} {
					status[h] = &hostStatus{Arch: "amd64", Fallback: true, Roles: map[string]supervise.RoleStatus{}}
				}
			}
			if tt.edit != nil {
				tt.edit(cfg)
			}
			if tt.drift != nil {
				tt.drift(status)
			}
			bin := tt.bin
			if bin == "" {
				bin = testBin
			}
			desired := mustDesired(t, cfg)
			p := makePlan(planInput{desired: desired, state: st, status: status, hosts: hostPlansFor(st, desired, bin)})
			add, change, destroy := p.Counts()
			if got := [3]int{add, change, destroy}; got != tt.counts {
				t.Errorf("counts: got %v; want %v", got, tt.counts)
			}
			var buf bytes.Buffer
			RenderPlan(&buf, p)
			golden(t, filepath.Join("testdata", "plan", tt.name+".golden"), buf.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestPlanLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(cfg *hclspec.Config)
		addr      string
		lifecycle string
	}{
		{"proxy config reloads", func(cfg *hclspec.Config) { cfg.Proxies[0].HealthCheck.Fall = 5 }, "proxy.lb", "reload"},
		{"app config restarts", func(cfg *hclspec.Config) { cfg.Apps[1].Session.Cookie = "SID" }, "app.tomcat2", "restart"},
		{"cache config restarts", func(cfg *hclspec.Config) { cfg.Caches[0].MemoryMB = 128 }, "cache.n1", "restart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadClassic(t)
			st, status := deployed(mustDesired(t, cfg))
			tt.edit(cfg)
			desired := mustDesired(t, cfg)
			p := makePlan(planInput{desired: desired, state: st, status: status, hosts: hostPlansFor(st, desired, testBin)})
			changed := p.ChangedAddrs()
			if len(changed) != 1 || changed[0] != tt.addr {
				t.Fatalf("changed: got %v; want [%s]", changed, tt.addr)
			}
			for _, c := range p.Changes {
				if c.Addr == tt.addr && (c.Lifecycle != tt.lifecycle || !c.WriteConfig) {
					t.Errorf("%s: got lifecycle %q write %v; want %q and a config write", c.Addr, c.Lifecycle, c.WriteConfig, tt.lifecycle)
				}
			}
		})
	}
}

func TestPlanTarget(t *testing.T) {
	cfg := loadClassic(t)
	desired := mustDesired(t, cfg)
	st := &State{}
	p := makePlan(planInput{desired: desired, state: st, hosts: hostPlansFor(st, desired, testBin)})
	if err := targetPlan(p, []string{"app.tomcat1"}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.ChangedAddrs(), " ")
	if want := "cache.n1 cache.n2 app.tomcat1"; got != want {
		t.Errorf("targeted plan: got %q; want %q (the target and what it needs)", got, want)
	}
	if !p.Partial {
		t.Error("targeted plan: got Partial false; want true")
	}
	if err := targetPlan(p, []string{"app.nope"}); err == nil {
		t.Error("unknown target: got no error")
	}
}

func TestPlanRedacted(t *testing.T) {
	cfg := loadClassic(t)
	cfg.Proxies[0].Sticky.Hash, cfg.Proxies[0].Sticky.HMACKey = "hmac", "s3cret-key"
	desired := mustDesired(t, cfg)
	st := &State{}
	p := makePlan(planInput{desired: desired, state: st, hosts: hostPlansFor(st, desired, testBin)})
	b, err := json.Marshal(p.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret-key") || !strings.Contains(string(b), "(sensitive value)") {
		t.Errorf("redacted plan JSON still holds the HMAC key or lacks the marker")
	}
	full, _ := json.Marshal(p)
	if !strings.Contains(string(full), "s3cret-key") {
		t.Errorf("Redacted changed the plan itself: the saved plan needs the key")
	}
}
