package live

import (
	"slices"
	"strings"
	"testing"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/engine"
	"github.com/stickyform/stickyform/internal/verify"
)

func names(cs []verify.Component) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestProxyURL(t *testing.T) {
	tests := []struct {
		name, listen, host, want string
	}{
		{"port 80", "172.25.1.2:80", "172.25.1.2", "http://172.25.1.2/"},
		{"other port", "172.25.1.2:8000", "172.25.1.2", "http://172.25.1.2:8000/"},
		{"all addresses", "0.0.0.0:80", "10.0.0.5", "http://10.0.0.5/"},
		{"no address", ":8080", "web.example", "http://web.example:8080/"},
		{"ipv6", "[fd00::2]:80", "fd00::2", "http://[fd00::2]/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := proxyURL(&engine.ResourceState{Addr: "proxy.lb", Listen: tt.listen, HostAddress: tt.host})
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFromState(t *testing.T) {
	h2, h3, h4 := &hclspec.Host{Name: "server2"}, &hclspec.Host{Name: "server3"}, &hclspec.Host{Name: "server4"}
	n1, n2 := &hclspec.Cache{Name: "n1", Host: h3}, &hclspec.Cache{Name: "n2", Host: h4}
	t1 := &hclspec.App{Name: "tomcat1", Host: h3, Session: hclspec.Session{Nodes: []*hclspec.Cache{n1, n2}, FailoverNodes: []*hclspec.Cache{n1}}}
	t2 := &hclspec.App{Name: "tomcat2", Host: h4, Session: hclspec.Session{Nodes: []*hclspec.Cache{n1, n2}, FailoverNodes: []*hclspec.Cache{n2}}}
	cfg := &hclspec.Config{
		Apps:    []*hclspec.App{t1, t2, {Name: "admin", Host: h2}},
		Proxies: []*hclspec.Proxy{{Name: "lb", Host: h2, Backends: []*hclspec.App{t1, t2}, Sticky: hclspec.Sticky{Name: "srv"}}},
	}
	res := func(kind, name, host string) *engine.ResourceState {
		return &engine.ResourceState{Addr: kind + "." + name, Kind: kind, Name: name, HostName: host,
			HostAddress: "172.25.1." + strings.TrimPrefix(host, "server"), Listen: "172.25.1.2:80"}
	}
	st := &engine.State{Resources: []*engine.ResourceState{
		res("cache", "n1", "server3"), res("cache", "n2", "server4"),
		res("app", "tomcat1", "server3"), res("app", "tomcat2", "server4"), res("app", "admin", "server2"),
		res("proxy", "lb", "server2"),
	}}
	d, err := fromState(st, cfg)
	if err != nil {
		t.Fatalf("fromState: %v", err)
	}
	if got := names(d.Apps); !slices.Equal(got, []string{"tomcat1", "tomcat2"}) {
		t.Errorf("apps: got %v; want the proxy's backends [tomcat1 tomcat2]", got)
	}
	if got := d.Apps[0].Primary; !slices.Equal(got, []string{"n2"}) {
		t.Errorf("primary nodes of tomcat1: got %v; want [n2] (its nodes minus its failover n1)", got)
	}
	if got := names(d.Caches); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("caches: got %v; want [n1 n2]", got)
	}
	if d.Route != "srv" || d.URL != "http://172.25.1.2/" || d.Proxy.Addr != "proxy.lb" {
		t.Errorf("got route %q url %q proxy %q; want srv, http://172.25.1.2/, proxy.lb", d.Route, d.URL, d.Proxy.Addr)
	}
	if _, err := fromState(&engine.State{}, cfg); err == nil || !strings.Contains(err.Error(), "apply") {
		t.Errorf("empty state: got %v; want an error telling to apply first", err)
	}
}
