package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stickyform/stickyform/agents/app"
	"github.com/stickyform/stickyform/agents/cache"
	"github.com/stickyform/stickyform/hclspec"
)

// Resource is one agent role the configuration wants on a host, with the
// exact config file it will run with.
type Resource struct {
	Addr         string          `json:"addr"`
	Kind         string          `json:"kind"`
	Name         string          `json:"name"`
	Host         *HostState      `json:"host"`
	Listen       string          `json:"listen"`
	Config       json.RawMessage `json:"config"`
	ConfigSHA256 string          `json:"config_sha256"`
	// Dependencies are the addresses of the resources this one uses.
	Dependencies []string `json:"dependencies,omitempty"`
	// Frontends are the proxies in front of this app. After it restarts,
	// a rolling restart waits until each reports it up again before the
	// next member goes down.
	Frontends []Frontend `json:"frontends,omitempty"`
	// Settle is what that wait falls back to when a proxy cannot be
	// asked: the longest health check rise × interval, plus one interval.
	Settle time.Duration `json:"settle,omitempty"`
}

// Frontend is a proxy in front of an app, and the app's URL there.
type Frontend struct {
	Proxy string `json:"proxy"` // "proxy.lb"
	Host  string `json:"host"`
	Role  string `json:"role"` // "proxy-lb"
	URL   string `json:"url"`  // the backend URL in the proxy's config
}

// RoleName is the resource's name on its host: "<kind>-<name>".
func (r *Resource) RoleName() string { return r.Kind + "-" + r.Name }

// Desired returns the resources cfg wants, in dependency order (caches,
// apps, proxies; config order within a kind). External caches are not
// resources: nothing deploys them.
func Desired(cfg *hclspec.Config) ([]*Resource, error) {
	var out []*Resource
	hosts := map[string]*HostState{}
	add := func(addr, kind, name string, h *hclspec.Host, listen string, agentCfg any) error {
		if hosts[h.Name] == nil {
			hosts[h.Name] = hostState(h)
		}
		data, err := json.Marshal(agentCfg)
		if err != nil {
			return fmt.Errorf("render %s config: %w", addr, err)
		}
		sum := sha256.Sum256(data)
		out = append(out, &Resource{Addr: addr, Kind: kind, Name: name, Host: hosts[h.Name],
			Listen: listen, Config: data, ConfigSHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	for _, c := range cfg.Caches {
		if c.External {
			continue
		}
		if err := add(c.Addr(), "cache", c.Name, c.Host, joinPort(c.Listen, c.Port), cacheConfig(c)); err != nil {
			return nil, err
		}
	}
	for _, a := range cfg.Apps {
		if err := add(a.Addr(), "app", a.Name, a.Host, joinPort(a.Listen, a.Port), appConfig(a)); err != nil {
			return nil, err
		}
	}
	for _, p := range cfg.Proxies {
		if err := add(p.Addr(), "proxy", p.Name, p.Host, joinPort(p.ListenAddr, p.Listen), proxyConfig(p)); err != nil {
			return nil, err
		}
	}
	setDependencies(cfg, out)
	setSettle(cfg, out)
	return out, nil
}

func hostState(h *hclspec.Host) *HostState {
	port, user := h.Port, h.User
	if port == 0 {
		port = 22
	}
	if user == "" {
		user = "root"
	}
	return &HostState{Name: h.Name, Address: h.Address, Port: port, User: user,
		IdentityFile: h.IdentityFile, KnownHosts: h.KnownHosts, HostKey: h.HostKey}
}

func joinPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

func cacheConfig(c *hclspec.Cache) cache.Config {
	return cache.Config{Name: c.Name, Listen: joinPort(c.Listen, c.Port), MemoryMB: c.MemoryMB,
		MaxItemSize: c.MaxItemSize, MaxConns: c.MaxConns, Engine: c.Engine}
}

func appConfig(a *hclspec.App) app.Config {
	s := a.Session
	nodes := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		// MSM's memcachedNodes format: id:host:port, space separated.
		nodes[i] = n.Name + ":" + n.Endpoint()
	}
	failover := make([]string, len(s.FailoverNodes))
	for i, n := range s.FailoverNodes {
		failover[i] = n.Name
	}
	return app.Config{Name: a.Name, Listen: joinPort(a.Listen, a.Port),
		Nodes: strings.Join(nodes, " "), FailoverNodes: strings.Join(failover, " "),
		Mode: s.Mode, Cookie: s.Cookie, Timeout: app.Duration(s.Timeout), Locking: s.Locking,
		Static: a.Static, Upstream: a.Upstream}
}

// setDependencies fills each resource's Dependencies with the resources
// it refers to, directly or through locals and variables.
func setDependencies(cfg *hclspec.Config, rs []*Resource) {
	isRes := map[string]bool{}
	for _, r := range rs {
		isRes[r.Addr] = true
	}
	for _, r := range rs {
		seen := map[string]bool{}
		var walk func(addr string)
		walk = func(addr string) {
			for _, d := range cfg.Dependencies[addr] {
				if seen[d] {
					continue
				}
				seen[d] = true
				if isRes[d] {
					continue // a resource: an edge, not walked through
				}
				walk(d)
			}
		}
		walk(r.Addr)
		for d := range seen {
			if isRes[d] && d != r.Addr {
				r.Dependencies = append(r.Dependencies, d)
			}
		}
		// References are the graph's edges; the model's typed links are
		// the same edges, added in case a reference went through an
		// expression the dependency map does not record.
		for _, d := range modelDependencies(cfg, r) {
			if isRes[d] && !contains(r.Dependencies, d) {
				r.Dependencies = append(r.Dependencies, d)
			}
		}
		sort.Strings(r.Dependencies)
	}
}

func modelDependencies(cfg *hclspec.Config, r *Resource) []string {
	var deps []string
	switch r.Kind {
	case "app":
		for _, a := range cfg.Apps {
			if a.Addr() == r.Addr {
				for _, n := range a.Session.Nodes {
					deps = append(deps, n.Addr())
				}
			}
		}
	case "proxy":
		for _, p := range cfg.Proxies {
			if p.Addr() == r.Addr {
				for _, b := range p.Backends {
					deps = append(deps, b.Addr())
				}
			}
		}
	}
	return deps
}

// setSettle records the proxies in front of each app, and the longest
// time one of them needs to see it healthy again after a restart.
func setSettle(cfg *hclspec.Config, rs []*Resource) {
	byAddr := map[string]*Resource{}
	for _, r := range rs {
		byAddr[r.Addr] = r
	}
	for _, p := range cfg.Proxies {
		hc := p.HealthCheck
		settle := time.Duration(hc.Rise+1) * hc.Interval
		for _, b := range p.Backends {
			r := byAddr[b.Addr()]
			if r == nil {
				continue
			}
			r.Settle = max(r.Settle, settle)
			r.Frontends = append(r.Frontends, Frontend{Proxy: p.Addr(), Host: p.Host.Name,
				Role: "proxy-" + p.Name, URL: "http://" + b.Endpoint()})
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
