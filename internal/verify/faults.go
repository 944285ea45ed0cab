package verify

import (
	"context"
	"fmt"
)

// stopStep stops the agent c and owes starting it again.
func (r *runner) stopStep(c Component) step {
	return step{
		desc: "stop " + c.Addr + " on " + c.Host,
		do:   func(ctx context.Context) error { return r.d.Control.Stop(ctx, c.Addr) },
		undo: func(ctx context.Context) error { return r.d.Control.Start(ctx, c.Addr) },
	}
}

// stickyApp is the app serving the probe's session.
func (r *runner) stickyApp(s *Session) (Component, error) {
	a, ok := r.d.app(s.Server)
	if !ok {
		return Component{}, fmt.Errorf("probe served by %q, which is not an app of the deployment (%s)", s.Server, r.appNames())
	}
	return a, nil
}

// appsOn lists the apps on host.
func (r *runner) appsOn(host string) []Component {
	var out []Component
	for _, a := range r.d.Apps {
		if a.Host == host {
			out = append(out, a)
		}
	}
	return out
}

func names(cs []Component) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// appDown: the sticky app stops; its users go on with another app, keep
// their session, and get a route cookie pointing at the new app.
func (r *runner) appDown(ctx context.Context) Result {
	return r.withFault(ctx, func(p *user, s *Session) (fault, error) {
		a, err := r.stickyApp(s)
		if err != nil {
			return fault{}, err
		}
		before := p.Route()
		return fault{
			steps: []step{r.stopStep(a)},
			down:  []string{a.Name},
			during: func(_ context.Context, p *user, out *outcome) {
				if p.Route() == before {
					out.fail("route cookie still %q (points at the stopped %s)", before, a.Name)
				}
			},
		}, nil
	})
}

// cacheDown: the cache node holding the probe's session stops; the
// session survives (relocated or read from its backup) and every app can
// read it.
func (r *runner) cacheDown(ctx context.Context) Result {
	return r.withFault(ctx, func(p *user, s *Session) (fault, error) {
		c, ok := r.d.cache(s.Node)
		if !ok {
			return fault{}, fmt.Errorf("probe session %s is stored on node %q, which is not a cache of the deployment", s.ID, s.Node)
		}
		return fault{steps: []step{r.stopStep(c)}, during: r.readableEverywhere}, nil
	})
}

// readableEverywhere reads the probe's session through every app that is
// up, by presenting each app's route cookie, as a browser would.
func (r *runner) readableEverywhere(ctx context.Context, p *user, out *outcome) {
	own := p.Route()
	defer p.SetRoute(own)
	for _, a := range r.d.Apps {
		route := r.routes[a.Name]
		if route == "" {
			out.fail("no route cookie known for %s", a.Name)
			continue
		}
		p.SetRoute(route)
		s, err := out.stats.observe(p, func() (*Session, error) { return p.Get(ctx) })
		switch {
		case err != nil:
			out.fail("read the session through %s: %v", a.Name, err)
		case s.Server != a.Name:
			out.fail("route of %s led to %s", a.Name, s.Server)
		}
	}
}

// hostDown: the sticky app and the caches of its host stop together. The
// session is cross-stored on another host's cache, so it survives.
func (r *runner) hostDown(ctx context.Context) Result {
	return r.withFault(ctx, func(p *user, s *Session) (fault, error) {
		a, err := r.stickyApp(s)
		if err != nil {
			return fault{}, err
		}
		apps := r.appsOn(a.Host)
		if len(apps) == len(r.d.Apps) {
			return fault{}, errSkip{"every app is on " + a.Host}
		}
		var f fault
		for _, c := range append(apps, r.d.cachesOn(a.Host)...) {
			f.steps = append(f.steps, r.stopStep(c))
		}
		f.down = names(apps)
		return f, nil
	})
}

// networkCut: the sticky app's host loses its network mid-stream (no
// clean shutdown: connections hang); no request may fail.
func (r *runner) networkCut(ctx context.Context) Result {
	if r.d.Net == nil {
		return Result{Pass: true, Skipped: true, Detail: "skipped: only a lab deployment can cut a host's network"}
	}
	return r.withFault(ctx, r.planCut)
}

func (r *runner) planCut(_ *user, s *Session) (fault, error) {
	a, err := r.stickyApp(s)
	if err != nil {
		return fault{}, err
	}
	if a.Host == r.d.Proxy.Host {
		return fault{}, errSkip{"the sticky app " + a.Name + " shares host " + a.Host + " with the proxy"}
	}
	apps := r.appsOn(a.Host)
	if len(apps) == len(r.d.Apps) {
		return fault{}, errSkip{"every app is on " + a.Host}
	}
	host := a.Host
	return fault{
		steps: []step{{
			desc: "cut the network of " + host,
			do:   func(ctx context.Context) error { return r.d.Net.Cut(ctx, host) },
			undo: func(ctx context.Context) error { return r.d.Net.Restore(ctx, host) },
		}},
		down: names(apps),
	}, nil
}
