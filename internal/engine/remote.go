package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/provisioner"
)

// ConnectOptions configures Connect.
type ConnectOptions struct {
	// TrustNewHosts records the keys of hosts missing from known_hosts.
	TrustNewHosts bool
	// Binary is the local stickyform build Drift compares the hosts'
	// binary with; as Options.Binary.
	Binary string
}

// Remote controls the deployed agents of a configuration directly, for
// verify: stop, start and reload single agents, and check for drift.
type Remote struct {
	e         *Engine
	resources map[string]*Resource
}

// Connect dials the hosts of cfg's resources (in parallel). It takes no
// state lock: verify runs beside, not instead of, the operator's applies.
func Connect(ctx context.Context, cfg *hclspec.Config, opts ConnectOptions) (*Remote, error) {
	o, err := Options{Dir: cfg.Dir, Binary: opts.Binary, TrustNewHosts: opts.TrustNewHosts}.withDefaults()
	if err != nil {
		return nil, err
	}
	desired, err := Desired(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: o, bins: newBinaries(o.Binary), conns: map[string]conn{}}
	r := &Remote{e: e, resources: map[string]*Resource{}}
	for _, d := range desired {
		r.resources[d.Addr] = d
	}
	if err := e.connect(ctx, planHosts(desired, &State{})); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Remote) resource(addr string) (*Resource, error) {
	d := r.resources[addr]
	if d == nil {
		return nil, fmt.Errorf("no resource %s in the configuration", addr)
	}
	return d, nil
}

// Stop stops the agent of resource addr (e.g. "app.tomcat1") on its host.
// It stays stopped: its supervisor ends too.
func (r *Remote) Stop(ctx context.Context, addr string) error {
	d, err := r.resource(addr)
	if err != nil {
		return err
	}
	return r.ctl(ctx, d, "stop")
}

// Start starts the agent of resource addr again and waits until healthy.
func (r *Remote) Start(ctx context.Context, addr string) error {
	d, err := r.resource(addr)
	if err != nil {
		return err
	}
	return r.ctl(ctx, d, "start")
}

// Reload makes the agent of resource addr re-read its config (SIGHUP).
func (r *Remote) Reload(ctx context.Context, addr string) error {
	d, err := r.resource(addr)
	if err != nil {
		return err
	}
	return r.ctl(ctx, d, "reload")
}

// ctl runs a ctl action for d. verify cuts hosts off the network, which
// kills their connections; a command that could not run (no exit status)
// is retried once on a fresh connection.
func (r *Remote) ctl(ctx context.Context, d *Resource, action string) error {
	err := r.e.ctl(ctx, d.Host.Name, action, d.RoleName())
	var exit *provisioner.ExitError
	if err == nil || errors.As(err, &exit) || ctx.Err() != nil {
		return err
	}
	if rerr := r.e.redial(ctx, d.Host); rerr != nil {
		return fmt.Errorf("%w (reconnect: %v)", err, rerr)
	}
	return r.e.ctl(ctx, d.Host.Name, action, d.RoleName())
}

// Drift refreshes the hosts and plans cfg against them and the state in
// cfg.Dir; it returns the addresses that would change (none: no drift).
func (r *Remote) Drift(ctx context.Context, cfg *hclspec.Config) ([]string, error) {
	st, err := LoadState(cfg.Dir)
	if err != nil {
		return nil, err
	}
	r.e.state = st
	desired, err := Desired(cfg)
	if err != nil {
		return nil, err
	}
	p, err := r.e.plan(ctx, desired)
	if err != nil && ctx.Err() == nil {
		// A connection may have died with a cut host: retry once anew.
		for _, h := range planHosts(desired, st) {
			if rerr := r.e.redial(ctx, h); rerr != nil {
				return nil, fmt.Errorf("%w (reconnect: %v)", err, rerr)
			}
		}
		p, err = r.e.plan(ctx, desired)
	}
	if err != nil {
		return nil, err
	}
	return p.ChangedAddrs(), nil
}

// Close closes the connections.
func (r *Remote) Close() error {
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	closeAll(r.e.conns)
	r.e.conns = map[string]conn{}
	return nil
}
