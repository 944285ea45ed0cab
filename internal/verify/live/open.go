// Package live connects verify to a deployment made by apply: it reads
// the state beside a configuration, dials the hosts through the engine,
// and, on the lab, lends verify the lab's network cuts.
package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/engine"
	"github.com/stickyform/stickyform/internal/verify"
)

// OpenOptions configure Open.
type OpenOptions struct {
	// TrustNewHosts records the keys of hosts missing from known_hosts.
	TrustNewHosts bool
	// Binary is the local stickyform build Drift compares the hosts'
	// binary with; as engine.ConnectOptions.Binary.
	Binary string
}

// Open returns the deployment that the state beside cfg says is running,
// connected to its hosts. When cfg's hosts are the hosts of the lab on
// this machine, the deployment can cut their network (see LabNet). Close
// the returned Closer when done.
func Open(ctx context.Context, cfg *hclspec.Config, o OpenOptions) (*verify.Deployment, io.Closer, error) {
	st, err := engine.LoadState(cfg.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	d, err := fromState(st, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	opts := engine.ConnectOptions{TrustNewHosts: o.TrustNewHosts, Binary: o.Binary}
	rem, err := engine.Connect(ctx, cfg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: connect: %w", err)
	}
	ctl := &remote{cfg: cfg, opts: opts, cur: rem}
	d.Control = ctl
	if n, err := LabNet(cfg); err == nil {
		d.Net = n
	}
	return d, ctl, nil
}

// remote adapts *engine.Remote to verify.Controller: Drift takes the
// configuration, and a host connection lost to a network cut is dialled
// again (the operations are idempotent, so one retry is safe).
type remote struct {
	cfg  *hclspec.Config
	opts engine.ConnectOptions
	mu   sync.Mutex
	cur  *engine.Remote
}

// do runs op, and once more on a fresh connection if it fails.
func (r *remote) do(ctx context.Context, op func(*engine.Remote) error) error {
	r.mu.Lock()
	cur := r.cur
	r.mu.Unlock()
	err := op(cur)
	if err == nil || ctx.Err() != nil {
		return err
	}
	fresh, cerr := engine.Connect(ctx, r.cfg, r.opts)
	if cerr != nil {
		return fmt.Errorf("%w (and reconnecting: %v)", err, cerr)
	}
	r.mu.Lock()
	old := r.cur
	r.cur = fresh
	r.mu.Unlock()
	old.Close()
	return op(fresh)
}

func (r *remote) Stop(ctx context.Context, addr string) error {
	return r.do(ctx, func(e *engine.Remote) error { return e.Stop(ctx, addr) })
}

func (r *remote) Start(ctx context.Context, addr string) error {
	return r.do(ctx, func(e *engine.Remote) error { return e.Start(ctx, addr) })
}

func (r *remote) Reload(ctx context.Context, addr string) error {
	return r.do(ctx, func(e *engine.Remote) error { return e.Reload(ctx, addr) })
}

func (r *remote) Drift(ctx context.Context) ([]string, error) {
	var drift []string
	err := r.do(ctx, func(e *engine.Remote) (err error) {
		drift, err = e.Drift(ctx, r.cfg)
		return err
	})
	return drift, err
}

// Close closes the current connections.
func (r *remote) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur.Close()
}

// fromState describes the deployed tier: the first proxy of the state,
// the apps behind it and every cache, with the sticky cookie name from
// the configuration.
func fromState(st *engine.State, cfg *hclspec.Config) (*verify.Deployment, error) {
	d := &verify.Deployment{}
	var proxy *engine.ResourceState
	for _, r := range st.Resources {
		c := verify.Component{Addr: r.Addr, Name: r.Name, Host: r.HostName}
		switch r.Kind {
		case "proxy":
			if proxy == nil {
				proxy, d.Proxy = r, c
			}
		case "cache":
			d.Caches = append(d.Caches, c)
		}
	}
	if proxy == nil {
		return nil, errors.New("the state holds no proxy: run 'stickyform apply' first")
	}
	backends := map[string]*hclspec.App{}
	d.Route = "route"
	for _, p := range cfg.Proxies {
		if p.Addr() == proxy.Addr {
			d.Route = p.Sticky.Name
			for _, a := range p.Backends {
				backends[a.Addr()] = a
			}
		}
	}
	for _, r := range st.Resources {
		if a := backends[r.Addr]; r.Kind == "app" && a != nil {
			d.Apps = append(d.Apps, verify.Component{Addr: r.Addr, Name: r.Name, Host: r.HostName, Primary: primary(a)})
		}
	}
	u, err := proxyURL(proxy)
	if err != nil {
		return nil, err
	}
	d.URL = u
	return d, nil
}

// primary lists the nodes a stores new sessions on: its nodes that are
// not failover nodes.
func primary(a *hclspec.App) []string {
	var out []string
	for _, n := range a.Session.Nodes {
		if !slices.Contains(a.Session.FailoverNodes, n) {
			out = append(out, n.Name)
		}
	}
	return out
}

// proxyURL is where users reach the proxy: its listen address, or its
// host's address when it listens on all of them.
func proxyURL(r *engine.ResourceState) (string, error) {
	host, port, err := net.SplitHostPort(r.Listen)
	if err != nil {
		return "", fmt.Errorf("%s listens on %q: %w", r.Addr, r.Listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = r.HostAddress
	}
	if port != "80" {
		host = net.JoinHostPort(host, port)
	} else if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
		host = "[" + host + "]"
	}
	return (&url.URL{Scheme: "http", Host: host, Path: "/"}).String(), nil
}
