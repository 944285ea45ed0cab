package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// discover sends fresh users (no cookies) through the proxy until every
// app has answered one, and returns each app's sticky cookie value. The
// values are what a browser stuck to that app holds, whatever hash the
// proxy uses, so verify can later read a session from a chosen app.
func (r *runner) discover(ctx context.Context) (map[string]string, Stats, error) {
	routes := map[string]string{}
	var st Stats
	for range 4 * len(r.d.Apps) {
		if len(routes) == len(r.d.Apps) || ctx.Err() != nil {
			break
		}
		u, err := r.newUser()
		if err != nil {
			return nil, st, err
		}
		s, err := st.observe(u, func() (*Session, error) { return u.Get(ctx) })
		u.Close()
		if err != nil {
			continue
		}
		if _, ok := r.d.app(s.Server); !ok {
			return nil, st, fmt.Errorf("answered by server %q, which is not an app of the deployment (%s)", s.Server, r.appNames())
		}
		if a, _ := r.d.app(s.Server); len(a.Primary) > 0 && !slices.Contains(a.Primary, s.Node) {
			// The app still stores on a failover node: it has not seen its
			// primary node come back yet, and the tier is not whole.
			return nil, st, fmt.Errorf("%s stores new sessions on %s, not on its primary nodes %s", s.Server, s.Node, strings.Join(a.Primary, ", "))
		}
		route := u.Route()
		if route == "" {
			return nil, st, fmt.Errorf("the proxy set no %q cookie on a new session served by %s", r.d.Route, s.Server)
		}
		routes[s.Server] = route
	}
	if len(routes) < len(r.d.Apps) {
		return routes, st, fmt.Errorf("fresh users reached only %s of %s", joinKeys(routes), r.appNames())
	}
	return routes, st, nil
}

// waitInRotation waits until fresh users reach every app again (a
// restarted app must pass the proxy's health checks first), remembers
// the routes, and returns how long that took.
func (r *runner) waitInRotation(ctx context.Context) (time.Duration, Stats, error) {
	start := time.Now()
	deadline := start.Add(r.o.SettleTimeout)
	var all Stats
	for {
		routes, st, err := r.discover(ctx)
		all.add(st)
		if err == nil {
			r.routes = routes
			return time.Since(start), all, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return time.Since(start), all, fmt.Errorf("back in rotation after %s: %w", r.o.SettleTimeout, err)
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

func (r *runner) appNames() string {
	var names []string
	for _, a := range r.d.Apps {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}

func joinKeys(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
