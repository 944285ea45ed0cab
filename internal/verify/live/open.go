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
	// Net, when set, cuts hosts off the network for the network-cut
	// scenario. Only a lab provides it; see LabNet.
	Net verify.NetworkCutter
}

// Open returns the deployment that the state beside cfg says is running,
// connected to its hosts. Close it when done.
func Open(ctx context.Context, cfg *hclspec.Config, o OpenOptions) (*verify.Deployment, io.Closer, error) {
	st, err := engine.LoadState(cfg.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	d, err := fromState(st, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("verify: %w", err)
	}
	rem, err := engine.Connect(ctx, cfg, engine.ConnectOptions{TrustNewHosts: o.TrustNewHosts, Binary: o.Binary})
	if err != nil {
		return nil, nil, fmt.Errorf("verify: connect: %w", err)
	}
	d.Control = remote{rem, cfg}
	d.Net = o.Net
	return d, rem, nil
}

// remote adapts *engine.Remote, whose Drift takes the configuration.
type remote struct {
	*engine.Remote
	cfg *hclspec.Config
}

func (r remote) Drift(ctx context.Context) ([]string, error) { return r.Remote.Drift(ctx, r.cfg) }

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
	var backends []string
	d.Route = "route"
	for _, p := range cfg.Proxies {
		if p.Addr() == proxy.Addr {
			d.Route = p.Sticky.Name
			for _, a := range p.Backends {
				backends = append(backends, a.Addr())
			}
		}
	}
	for _, r := range st.Resources {
		if r.Kind == "app" && slices.Contains(backends, r.Addr) {
			d.Apps = append(d.Apps, verify.Component{Addr: r.Addr, Name: r.Name, Host: r.HostName})
		}
	}
	u, err := proxyURL(proxy)
	if err != nil {
		return nil, err
	}
	d.URL = u
	return d, nil
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
