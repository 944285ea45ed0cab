package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stickyform/stickyform/internal/supervise"
)

// ctlCommand is the remote command that changes one role on a host.
// start, restart and reload run as ctlInline scripts; the others alone.
func ctlCommand(action, role string, configStdin bool) string {
	switch action {
	case "start", "restart", "reload":
	default:
		return fmt.Sprintf("%s agent ctl %s -wait %s %s", remoteBinary, action, healthWait, role)
	}
	flags := "-inline"
	if configStdin {
		flags += " -config-stdin"
	}
	return ctlInline(fmt.Sprintf("%s agent ctl %s %s -wait %s %s", remoteBinary, action, flags, healthWait, role))
}

// ctlInline wraps a `ctl -inline` command: it becomes the role's
// supervisor where one is needed instead of starting one (a Go process
// start less per role on the host), so it runs in the background and the
// script waits for its answer, the end of its output, not for its exit.
// A background command's stdin is /dev/null unless redirected, hence the
// copy of the session's stdin (a config) on fd 3.
func ctlInline(cmd string) string {
	return `exec 3<&0
r=$(` + cmd + ` <&3 3<&- 2>&1 &)
exec 3<&-
[ "$r" = ` + supervise.InlineOK + ` ] || { printf '%s\n' "${r:-no answer from stickyform agent ctl}" >&2; exit 1; }`
}

// ctl runs `stickyform agent ctl ACTION ROLE` on host and waits for
// health (start, restart, reload).
func (e *Engine) ctl(ctx context.Context, host, action, role string) error {
	c := e.conn(host)
	if c == nil {
		return fmt.Errorf("%s %s on %s: not connected", action, role, host)
	}
	if _, err := c.Run(ctx, ctlCommand(action, role, false), nil); err != nil {
		return fmt.Errorf("%s %s on %s: %w", action, role, host, err)
	}
	return nil
}

// ctlWithConfig is ctl that first installs config as the role's config.
func (e *Engine) ctlWithConfig(ctx context.Context, host, action, role string, config []byte) error {
	c := e.conn(host)
	if c == nil {
		return fmt.Errorf("%s %s on %s: not connected", action, role, host)
	}
	if _, err := c.Run(ctx, ctlCommand(action, role, true), bytes.NewReader(config)); err != nil {
		return fmt.Errorf("%s %s on %s: %w", action, role, host, err)
	}
	return nil
}

// prepareNode puts the right stickyform build on a host, unless the
// refresh saw it there already.
func (a *applier) prepareNode(hp *HostPlan) *node {
	name := hp.Host.Name
	return &node{id: "prepare:" + name, run: func(ctx context.Context) error {
		if hp.BinarySHA256 != "" && hp.RemoteBinarySHA256 == hp.BinarySHA256 {
			return nil
		}
		path, sum, err := a.e.bins.forArch(hp.Arch)
		if err != nil {
			if hp.BinarySHA256 == "" && hp.RemoteBinarySHA256 != "" && hp.RemoteBinarySHA256 != "unknown" {
				return nil // destroying: the binary on the host will do
			}
			return fmt.Errorf("host %s: %w", name, err)
		}
		if sum != hp.BinarySHA256 || path != hp.Binary {
			return fmt.Errorf("host %s: %s changed since the plan was made; run plan again", name, path)
		}
		size := ""
		if fi, err := os.Stat(path); err == nil {
			size = fmt.Sprintf(" (%.1f MB)", float64(fi.Size())/1e6)
		}
		v := verbs{"Uploading stickyform" + size, "uploading", "Upload complete"}
		return a.out.track("host."+name, "", v, func() error {
			return a.uploadBinary(ctx, a.e.conn(name), path, sum)
		})
	}}
}

// changeStep is the work of one resource change.
func (a *applier) changeStep(c *Change) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return a.out.track(c.Addr, "", verbsFor(c.Action), func() error {
			err := a.doChange(ctx, c)
			if err != nil {
				return fmt.Errorf("apply %s: %w", c.Addr, err)
			}
			return nil
		})
	}
}

func (a *applier) doChange(ctx context.Context, c *Change) error {
	if c.Action == Delete || c.Action == Replace {
		if err := a.e.ctl(ctx, c.Before.HostName, "remove", c.Before.RoleName()); err != nil {
			return err
		}
		if c.Action == Delete {
			a.deleted.Add(1)
			return a.record(func(s *State) { s.setResource(c.Addr, nil) })
		}
	}
	d := c.After
	host := d.Host.Name
	if err := a.configure(ctx, c); err != nil {
		return err
	}
	switch c.Action {
	case Create:
		a.added.Add(1)
	case Update:
		a.changed.Add(1)
	case Replace:
		a.added.Add(1)
		a.deleted.Add(1)
	}
	hp := a.plan.Hosts[host]
	return a.record(func(s *State) {
		s.setResource(c.Addr, resourceState(d, hp.BinarySHA256))
		s.setHost(hp.Host)
	})
}

// configure writes c's config and starts, reloads or restarts its agent.
// A config with a start or reload goes in the same command
// (`agent ctl ACTION -config-stdin`): one SSH session and one process
// start on the host instead of a hash check, a file transfer and a ctl.
func (a *applier) configure(ctx context.Context, c *Change) error {
	d := c.After
	host := d.Host.Name
	rolling := c.Lifecycle == "restart" && c.Action == Update
	if c.WriteConfig && c.Lifecycle != "" && !rolling {
		return a.e.ctlWithConfig(ctx, host, c.Lifecycle, d.RoleName(), d.Config)
	}
	if c.WriteConfig {
		path := remoteConfigDir + "/" + d.RoleName() + ".json"
		if _, err := a.e.conn(host).WriteFile(ctx, path, d.Config, 0o600); err != nil {
			return err
		}
	}
	switch {
	case c.Lifecycle == "":
		return nil
	case rolling:
		return a.rollingRestart(ctx, c)
	}
	return a.e.ctl(ctx, host, c.Lifecycle, d.RoleName())
}

// rollingRestart restarts one agent at a time; after each, while more
// restarts wait, it waits until the proxies in front take the agent back
// before the next one goes down.
func (a *applier) rollingRestart(ctx context.Context, c *Change) error {
	a.restartMu.Lock()
	defer a.restartMu.Unlock()
	err := a.e.ctl(ctx, c.After.Host.Name, "restart", c.After.RoleName())
	left := a.pending.Add(-1)
	if err == nil && left > 0 {
		a.waitFrontends(ctx, c)
	}
	return err
}

// waitFrontends asks each proxy in front of c's app (on the proxy's
// host) until it reports the app up. A proxy that cannot be asked (not
// deployed yet, or an older agent) costs a fixed wait instead.
func (a *applier) waitFrontends(ctx context.Context, c *Change) {
	for _, fe := range c.After.Frontends {
		cn := a.e.conn(fe.Host)
		a.stateMu.Lock()
		deployed := a.e.state.Resource(fe.Proxy) != nil
		a.stateMu.Unlock()
		if cn != nil && deployed {
			cmd := fmt.Sprintf("%s agent ctl wait-backend -wait %s -backend %s %s", remoteBinary, healthWait, fe.URL, fe.Role)
			_, err := cn.Run(ctx, cmd, nil)
			if err == nil {
				continue
			}
			a.out.printf("%s: %s did not confirm it is back (%v)\n", c.Addr, fe.Proxy, firstLine(err))
		}
		if c.After.Settle > 0 {
			a.out.printf("%s: waiting %s for %s to see it healthy\n", c.Addr, c.After.Settle, fe.Proxy)
			select {
			case <-time.After(c.After.Settle):
			case <-ctx.Done():
			}
		}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// purgeNode removes stickyform's layout from a host left without
// resources, after every deletion on it.
func (a *applier) purgeNode(host string) *node {
	n := &node{id: "purge:" + host}
	for _, c := range a.plan.Changes {
		if (c.Action == Delete || c.Action == Replace) && c.Before.HostName == host {
			n.deps = append(n.deps, nodeID(c))
		}
	}
	n.run = func(ctx context.Context) error {
		a.stateMu.Lock()
		used := false
		for _, r := range a.e.state.Resources {
			used = used || r.HostName == host
		}
		a.stateMu.Unlock()
		if used {
			return nil
		}
		v := verbs{"Removing stickyform", "removing", "Removal complete"}
		return a.out.track("host."+host, "", v, func() error {
			if _, err := a.e.conn(host).Run(ctx, remoteBinary+" agent ctl purge", nil); err != nil {
				return fmt.Errorf("remove stickyform from %s: %w", host, err)
			}
			return a.record(func(s *State) { s.pruneHosts() })
		})
	}
	return n
}

func resourceState(d *Resource, binarySHA256 string) *ResourceState {
	return &ResourceState{Addr: d.Addr, Kind: d.Kind, Name: d.Name, HostName: d.Host.Name,
		HostAddress: d.Host.Address, Listen: d.Listen, ConfigSHA256: d.ConfigSHA256,
		BinarySHA256: binarySHA256, Config: d.Config, Dependencies: d.Dependencies}
}
