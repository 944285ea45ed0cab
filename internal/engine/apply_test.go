package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/supervise"
)

// fakeHosts plays the hosts for apply's unit tests: it keeps each host's
// files and running roles, answers the status query and the ctl
// commands, and logs every change in order. The lab tests run the same
// code against real hosts.
type fakeHosts struct {
	mu       sync.Mutex
	log      []string
	files    map[string]map[string][]byte // host → path → content
	running  map[string]map[string]bool
	inflight atomic.Int32
	maxRest  atomic.Int32 // most restarts seen at once
	hook     func(event string)
}

func newFakeHosts() *fakeHosts {
	return &fakeHosts{files: map[string]map[string][]byte{}, running: map[string]map[string]bool{}}
}

func (f *fakeHosts) dial(_ context.Context, h *HostState, _ bool) (conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files[h.Name] == nil {
		f.files[h.Name] = map[string][]byte{}
		f.running[h.Name] = map[string]bool{}
	}
	return &fakeConn{f: f, host: h.Name}, nil
}

func (f *fakeHosts) record(s string) {
	f.mu.Lock()
	f.log = append(f.log, s)
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(s)
	}
}

func (f *fakeHosts) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

type fakeConn struct {
	f    *fakeHosts
	host string
}

func (c *fakeConn) Close() error { return nil }

func (c *fakeConn) Upload(_ context.Context, local, remote string, _ os.FileMode, _ func(int64, int64)) (bool, error) {
	b, err := os.ReadFile(local)
	if err != nil {
		return false, err
	}
	c.f.mu.Lock()
	c.f.files[c.host][remote] = b
	c.f.mu.Unlock()
	c.f.record(c.host + ": upload " + remote)
	return true, nil
}

func (c *fakeConn) WriteFile(_ context.Context, remote string, data []byte, _ os.FileMode) (bool, error) {
	c.f.mu.Lock()
	c.f.files[c.host][remote] = data
	c.f.mu.Unlock()
	c.f.record(c.host + ": write " + filepath.Base(remote))
	return true, nil
}

func (c *fakeConn) Run(_ context.Context, cmd string, stdin io.Reader) ([]byte, error) {
	if cmd == statusScript {
		return c.status(), nil
	}
	if strings.Contains(cmd, "gzip -dc") {
		zr, err := gzip.NewReader(stdin)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(cmd, sha(b)) {
			return nil, fmt.Errorf("fake host: upload script does not record the sha256 of what it got")
		}
		c.f.mu.Lock()
		c.f.files[c.host][remoteBinary] = b
		c.f.mu.Unlock()
		c.f.record(c.host + ": upload " + remoteBinary)
		return nil, nil
	}
	if inner, ok := strings.CutPrefix(cmd, "exec 3<&0\nr=$("); ok {
		// ctlInline's script: the ctl command inside, then the answer check.
		inner, _, ok = strings.Cut(inner, " <&3 3<&- 2>&1 &)\n")
		if !ok || !strings.Contains(inner, " -inline ") || !strings.Contains(cmd, `[ "$r" = ok ]`) {
			return nil, fmt.Errorf("fake host: malformed inline ctl script %q", cmd)
		}
		cmd = inner
	}
	fields := strings.Fields(cmd)
	if len(fields) < 4 || fields[1] != "agent" || fields[2] != "ctl" {
		return nil, fmt.Errorf("fake host: unexpected command %q", cmd)
	}
	action, role := fields[3], fields[len(fields)-1]
	if slices.Contains(fields, "-config-stdin") {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, err
		}
		c.f.mu.Lock()
		c.f.files[c.host][remoteConfigDir+"/"+role+".json"] = b
		c.f.mu.Unlock()
		c.f.record(c.host + ": write " + role + ".json")
	}
	if action == "restart" {
		n := c.f.inflight.Add(1)
		for {
			m := c.f.maxRest.Load()
			if n <= m || c.f.maxRest.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		c.f.inflight.Add(-1)
	}
	c.f.mu.Lock()
	switch action {
	case "start", "restart", "reload":
		c.f.running[c.host][role] = true
	case "stop":
		c.f.running[c.host][role] = false
	case "remove":
		delete(c.f.running[c.host], role)
		delete(c.f.files[c.host], remoteConfigDir+"/"+role+".json")
	case "purge":
		c.f.files[c.host] = map[string][]byte{}
	}
	c.f.mu.Unlock()
	if action == "purge" {
		role = "layout"
	}
	c.f.record(c.host + ": " + action + " " + role)
	return nil, nil
}

func (c *fakeConn) status() []byte {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	files := c.f.files[c.host]
	bin, ok := files[remoteBinary]
	if !ok {
		return []byte("#fallback\nx86_64\nnosystemd\n")
	}
	st := supervise.Status{Arch: "amd64", BinarySHA256: sha(bin)}
	for path, data := range files {
		if strings.HasPrefix(path, remoteConfigDir+"/") {
			name := strings.TrimSuffix(filepath.Base(path), ".json")
			run := c.f.running[c.host][name]
			st.Roles = append(st.Roles, supervise.RoleStatus{Name: name, ConfigSHA256: sha(data), Running: run, Healthy: run})
		}
	}
	b, _ := json.Marshal(st)
	return b
}

func sha(b []byte) string {
	dir, _ := os.MkdirTemp("", "sha")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	os.WriteFile(p, b, 0o600)
	s, _ := supervise.FileSHA256(p)
	return s
}

// fakeEngine opens an engine on dir whose hosts are f and whose binary
// is a small file standing in for stickyform.
func fakeEngine(t *testing.T, f *fakeHosts, dir string) *Engine {
	t.Helper()
	bin := filepath.Join(dir, "stickyform")
	if _, err := os.Stat(bin); err != nil {
		os.WriteFile(bin, []byte("binary v1"), 0o755)
	}
	e, err := Open(context.Background(), Options{Dir: dir, Operation: "apply", Binary: bin, dial: f.dial, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func applyConfig(t *testing.T, f *fakeHosts, dir string, cfg *hclspec.Config) (*Plan, ApplyResult) {
	t.Helper()
	e := fakeEngine(t, f, dir)
	p, err := e.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	return p, res
}

func indexOf(events []string, s string) int {
	for i, e := range events {
		if e == s {
			return i
		}
	}
	return -1
}

func TestApplyOrder(t *testing.T) {
	dir := t.TempDir()
	f := newFakeHosts()
	cfg := loadClassic(t)

	t.Run("cold apply follows the graph", func(t *testing.T) {
		_, res := applyConfig(t, f, dir, cfg)
		if res != (ApplyResult{Added: 5}) {
			t.Errorf("result: got %+v; want 5 added", res)
		}
		ev := f.events()
		order := []string{"server3: start cache-n1", "server3: start app-tomcat1", "server2: start proxy-lb"}
		for i := 1; i < len(order); i++ {
			a, b := indexOf(ev, order[i-1]), indexOf(ev, order[i])
			if a < 0 || b < 0 || a > b {
				t.Errorf("got %q at %d and %q at %d; want the first before the second (events %q)", order[i-1], a, order[i], b, ev)
			}
		}
		if got := strings.Count(strings.Join(ev, "\n"), "upload"); got != 3 {
			t.Errorf("uploads: got %d; want one per host", got)
		}
		st, _ := LoadState(dir)
		if len(st.Resources) != 5 || st.Outputs["url"].Value == nil {
			t.Errorf("state: got %d resources, outputs %v; want 5 and the url output", len(st.Resources), st.Outputs)
		}
	})

	t.Run("second apply does nothing", func(t *testing.T) {
		before := len(f.events())
		st0, _ := LoadState(dir)
		p, res := applyConfig(t, f, dir, cfg)
		if p.HasChanges() || res != (ApplyResult{}) {
			t.Errorf("got changes %v, result %+v; want none", p.ChangedAddrs(), res)
		}
		if ev := f.events()[before:]; len(ev) != 0 {
			t.Errorf("hosts touched: %q; want nothing", ev)
		}
		if st, _ := LoadState(dir); st.Serial != st0.Serial {
			t.Errorf("state serial: got %d; want %d (no write)", st.Serial, st0.Serial)
		}
	})

	t.Run("changing every app restarts one at a time", func(t *testing.T) {
		cfg := loadClassic(t)
		for _, a := range cfg.Apps {
			a.Session.Cookie = "SID"
		}
		before := len(f.events())
		_, res := applyConfig(t, f, dir, cfg)
		if res != (ApplyResult{Changed: 2}) {
			t.Errorf("result: got %+v; want 2 changed", res)
		}
		if got := f.maxRest.Load(); got != 1 {
			t.Errorf("restarts at once: got %d; want 1", got)
		}
		events := f.events()[before:]
		ev := strings.Join(events, "\n")
		for _, e := range events {
			if strings.Contains(e, "proxy-lb") && !strings.Contains(e, "wait-backend") {
				t.Errorf("proxy: got %q; want it untouched (only asked about its backends)", e)
			}
		}
		r1, w, r2 := indexOf(events, "server3: restart app-tomcat1"), indexOf(events, "server2: wait-backend proxy-lb"), indexOf(events, "server4: restart app-tomcat2")
		if r1 < 0 || r2 < 0 || w < min(r1, r2) || w > max(r1, r2) {
			t.Errorf("events\n%s\nwant the proxy asked to take the first app back before the second restarts", ev)
		}
	})

	t.Run("removed backend goes after the proxy update", func(t *testing.T) {
		cfg := loadClassic(t)
		cfg.Apps = cfg.Apps[:1]
		cfg.Proxies[0].Backends, cfg.Proxies[0].Weights = cfg.Proxies[0].Backends[:1], nil
		before := len(f.events())
		_, res := applyConfig(t, f, dir, cfg)
		// tomcat1 goes back to the example's cookie, the proxy drops a backend.
		if res != (ApplyResult{Changed: 2, Destroyed: 1}) {
			t.Errorf("result: got %+v; want 2 changed, 1 destroyed", res)
		}
		ev := f.events()[before:]
		a, b := indexOf(ev, "server2: reload proxy-lb"), indexOf(ev, "server4: remove app-tomcat2")
		if a < 0 || b < 0 || a > b {
			t.Errorf("events %q: want the proxy reload before the app's removal", ev)
		}
	})

	t.Run("destroy removes everything in reverse", func(t *testing.T) {
		e := fakeEngine(t, f, dir)
		p, err := e.PlanDestroy(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.events())
		if _, err := e.Apply(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		ev := f.events()[before:]
		a, b := indexOf(ev, "server2: remove proxy-lb"), indexOf(ev, "server3: remove app-tomcat1")
		c, d := indexOf(ev, "server3: remove cache-n1"), indexOf(ev, "server3: purge layout")
		if a < 0 || b < a || c < b || d < c {
			t.Errorf("events %q: want proxy, app, cache removed in that order, then the host purged", ev)
		}
		st, _ := LoadState(dir)
		if len(st.Resources) != 0 || len(st.Hosts) != 0 || st.Outputs != nil {
			t.Errorf("state after destroy: got %+v; want empty", st)
		}
	})
}

func TestSavedPlanRefusesMovedState(t *testing.T) {
	dir := t.TempDir()
	f := newFakeHosts()
	cfg := loadClassic(t)
	e := fakeEngine(t, f, dir)
	p, err := e.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(dir, "tf.plan")
	if err := SavePlan(planFile, p); err != nil {
		t.Fatal(err)
	}
	e.Close()
	applyConfig(t, f, dir, cfg) // the state moves on

	saved, err := LoadPlan(planFile)
	if err != nil {
		t.Fatal(err)
	}
	e = fakeEngine(t, f, dir)
	before := len(f.events())
	_, err = e.Apply(context.Background(), saved)
	if err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("apply of a stale plan: got %v; want ErrStalePlan", err)
	}
	if ev := f.events()[before:]; len(ev) != 0 {
		t.Errorf("stale plan touched hosts: %q", ev)
	}
	var buf bytes.Buffer
	RenderPlan(&buf, saved)
	if !strings.Contains(buf.String(), "Plan: 5 to add") {
		t.Errorf("saved plan renders:\n%s\nwant the 5 creations", buf.String())
	}
}

func TestApplyInterruptedSavesState(t *testing.T) {
	dir := t.TempDir()
	f := newFakeHosts()
	cfg := loadClassic(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.hook = func(ev string) {
		if ev == "server3: start cache-n1" {
			cancel() // Ctrl-C while the caches start
		}
	}
	e := fakeEngine(t, f, dir)
	p, err := e.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Apply(ctx, p)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted apply: got %v; want an interrupted error", err)
	}
	e.Close()
	st, _ := LoadState(dir)
	if st.Resource("cache.n1") == nil || st.Resource("proxy.lb") != nil {
		t.Fatalf("state after interrupt: got %v; want cache.n1 (in flight, finished) and no proxy.lb", addrs(st))
	}
	if st.Outputs != nil {
		t.Errorf("outputs after an interrupted apply: got %v; want none yet", st.Outputs)
	}

	f.hook = nil
	p, res := applyConfig(t, f, dir, cfg)
	if res.Added != 5-len(st.Resources) || res.Changed != 0 {
		t.Errorf("next apply: got %+v; want the %d remaining resources added", res, 5-len(st.Resources))
	}
	if st, _ := LoadState(dir); len(st.Resources) != 5 || st.Outputs == nil {
		t.Errorf("state after the next apply: got %v; want all 5 and the outputs", addrs(st))
	}
}

func addrs(st *State) []string {
	var out []string
	for _, r := range st.Resources {
		out = append(out, r.Addr)
	}
	return out
}

func TestProgressStillLines(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, still: time.Millisecond}
	err := p.track("proxy.lb", "", verbsFor(Create), func() error {
		time.Sleep(30 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"proxy.lb: Creating...\n", "proxy.lb: Still creating... [", "elapsed]\n", "proxy.lb: Creation complete after 0s\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress:\n%s\nwant %q", out, want)
		}
	}
	buf.Reset()
	p.track("app.a", "", verbsFor(Update), func() error { return io.ErrUnexpectedEOF })
	if !strings.Contains(buf.String(), "app.a: failed after") {
		t.Errorf("failed step: got %q; want a failure line", buf.String())
	}
}
