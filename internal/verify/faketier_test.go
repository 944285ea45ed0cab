package verify

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTier is the classic topology in one process: apps tomcat1 on
// server3 (127.0.0.3) and tomcat2 on server4 (127.0.0.4), cache nodes n3
// and n4 cross-stored, and a sticky proxy. It is also the Controller and
// NetworkCutter verify drives, and records the calls it got.
type fakeTier struct {
	shared bool
	nodes  map[string]*fakeNode
	apps   []*fakeApp
	proxy  *fakeProxy
	t      testing.TB

	mu      sync.Mutex
	calls   []string
	drift   []string
	stopped map[string]bool
	// block, when set, makes Stop of addresses with this prefix wait for
	// ctx to end after stopping (an interrupted run).
	block string
}

type tierOptions struct{ shared, noRetry bool }

func newFakeTier(t *testing.T, o tierOptions) (*fakeTier, *Deployment) {
	ft := &fakeTier{shared: o.shared, t: t, stopped: map[string]bool{}, nodes: map[string]*fakeNode{
		"n3": {up: true, data: map[string]fakeSession{}},
		"n4": {up: true, data: map[string]fakeSession{}},
	}}
	ft.apps = []*fakeApp{
		{name: "tomcat1", host: "server3", addr: "127.0.0.3:0", primary: "n4", failover: "n3", tier: ft, local: map[string]fakeSession{}},
		{name: "tomcat2", host: "server4", addr: "127.0.0.4:0", primary: "n3", failover: "n4", tier: ft, local: map[string]fakeSession{}},
	}
	for _, a := range ft.apps {
		a.start(t)
	}
	ft.proxy = newFakeProxy(ft)
	ft.proxy.noRetry = o.noRetry
	srv := httptest.NewServer(ft.proxy)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			ft.proxy.check()
			sleep(ctx, 50*time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		for _, a := range ft.apps {
			a.stop()
		}
	})
	d := &Deployment{
		URL: srv.URL + "/", Route: "route", Control: ft, Net: ft,
		Proxy: Component{Addr: "proxy.lb", Name: "lb", Host: "server2"},
		Apps: []Component{
			{Addr: "app.tomcat1", Name: "tomcat1", Host: "server3", Primary: []string{"n4"}},
			{Addr: "app.tomcat2", Name: "tomcat2", Host: "server4", Primary: []string{"n3"}},
		},
		Caches: []Component{
			{Addr: "cache.n3", Name: "n3", Host: "server3"},
			{Addr: "cache.n4", Name: "n4", Host: "server4"},
		},
	}
	return ft, d
}

func (ft *fakeTier) record(call string) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.calls = append(ft.calls, call)
}

func (ft *fakeTier) log() []string {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]string(nil), ft.calls...)
}

func (ft *fakeTier) set(addr string, up bool) error {
	kind, name, _ := strings.Cut(addr, ".")
	ft.mu.Lock()
	ft.stopped[addr] = !up
	ft.mu.Unlock()
	switch kind {
	case "cache":
		if n := ft.nodes[name]; n != nil {
			n.setUp(up)
			return nil
		}
	case "app":
		for _, a := range ft.apps {
			if a.name == name && up {
				a.start(ft.t)
				return nil
			} else if a.name == name {
				a.stop()
				return nil
			}
		}
	}
	return fmt.Errorf("no resource %s", addr)
}

func (ft *fakeTier) Stop(ctx context.Context, addr string) error {
	ft.record("stop " + addr)
	err := ft.set(addr, false)
	ft.mu.Lock()
	block := ft.block != "" && strings.HasPrefix(addr, ft.block)
	ft.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (ft *fakeTier) Start(ctx context.Context, addr string) error {
	ft.record("start " + addr)
	if ctx.Err() != nil {
		return fmt.Errorf("start %s: %w", addr, ctx.Err())
	}
	return ft.set(addr, true)
}

func (ft *fakeTier) Reload(_ context.Context, addr string) error {
	ft.record("reload " + addr)
	return nil
}

func (ft *fakeTier) Drift(context.Context) ([]string, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []string
	for addr, down := range ft.stopped {
		if down {
			out = append(out, addr+" is not running")
		}
	}
	return append(out, ft.drift...), nil
}

// Cut takes the host's app and cache away, as a dead link would look to
// the proxy in this process.
func (ft *fakeTier) Cut(_ context.Context, host string) error {
	ft.record("cut " + host)
	for _, a := range ft.apps {
		if a.host == host {
			a.stop()
		}
	}
	ft.nodes["n"+strings.TrimPrefix(host, "server")].setUp(false)
	return nil
}

func (ft *fakeTier) Restore(_ context.Context, host string) error {
	ft.record("restore " + host)
	ft.nodes["n"+strings.TrimPrefix(host, "server")].setUp(true)
	for _, a := range ft.apps {
		if a.host == host {
			a.start(ft.t)
		}
	}
	return nil
}
