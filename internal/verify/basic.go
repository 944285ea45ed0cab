package verify

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// stickyRequests is how many requests the sticky scenario's user sends.
const stickyRequests = 20

// sticky: fresh users are spread over every app, and a user stays on the
// same app, with the same session and route cookie, request after request.
func (r *runner) sticky(ctx context.Context) Result {
	return r.underLoad(ctx, func(ctx context.Context, out *outcome) {
		// Start from a whole tier: a repair made just before verify may
		// still be passing the proxy's health checks.
		_, st, err := r.waitInRotation(ctx)
		out.stats.add(st)
		if err != nil {
			out.fail("%v", err)
			return
		}
		routes := r.routes
		u, err := r.newUser()
		if err != nil {
			out.fail("%v", err)
			return
		}
		defer u.Close()
		var first *Session
		var route string
		for i := range stickyRequests {
			s, err := out.stats.observe(u, func() (*Session, error) { return u.Get(ctx) })
			if err != nil {
				continue // counted by observe
			}
			if first == nil {
				first, route = s, u.Route()
				continue
			}
			switch {
			case s.Server != first.Server:
				out.fail("request %d served by %s, the first by %s", i+1, s.Server, first.Server)
				return
			case s.ID != first.ID:
				out.fail("request %d got session %s, the first %s", i+1, s.ID, first.ID)
				return
			case u.Route() != route:
				out.fail("route cookie changed from %q to %q at request %d", route, u.Route(), i+1)
				return
			}
		}
		if first != nil {
			out.note("%d requests on %s; fresh users reach %s", stickyRequests, first.Server, joinKeys(routes))
		}
	})
}

// session: attributes written are read back, updated, and deleted.
func (r *runner) session(ctx context.Context) Result {
	return r.underLoad(ctx, func(ctx context.Context, out *outcome) {
		u, err := r.newUser()
		if err != nil {
			out.fail("%v", err)
			return
		}
		defer u.Close()
		// Values with markup, spaces and non-ASCII text must come back as
		// they went in.
		values := []string{"1", "two words", "<b>&amp;</b>", "grüße", strings.Repeat("x", 2048)}
		for i, v := range values {
			key := fmt.Sprintf("verify-%d", i+1)
			if _, err := out.stats.observe(u, func() (*Session, error) { return u.put(ctx, key, v) }); err != nil {
				out.fail("write %s: %v", key, err)
				return
			}
		}
		steps := []struct {
			what string
			req  func() (*Session, error)
		}{
			{"read back", func() (*Session, error) { return u.Get(ctx) }},
			{"update verify-1", func() (*Session, error) { return u.put(ctx, "verify-1", "updated") }},
			{"delete verify-2", func() (*Session, error) { return u.del(ctx, "verify-2") }},
			{"read back after delete", func() (*Session, error) { return u.Get(ctx) }},
		}
		var last *Session
		for _, s := range steps {
			sess, err := out.stats.observe(u, s.req)
			if err != nil {
				out.fail("%s: %v", s.what, err)
				return
			}
			last = sess
		}
		out.note("%d attributes written, updated, deleted and read back on %s", len(values), last.Server)
	})
}

// proxyReloads is how many times proxy-reload reloads the proxy.
const proxyReloads = 3

// proxyReload: the proxy re-reads its configuration several times under
// load and not one request fails.
func (r *runner) proxyReload(ctx context.Context) Result {
	return r.underLoad(ctx, func(ctx context.Context, out *outcome) {
		gap := r.o.Duration / (proxyReloads + 1)
		for range proxyReloads {
			sleep(ctx, gap)
			if err := r.d.Control.Reload(ctx, r.d.Proxy.Addr); err != nil {
				out.fail("reload %s: %v", r.d.Proxy.Addr, err)
				return
			}
		}
		sleep(ctx, gap)
		out.note("%d reloads of %s under load", proxyReloads, r.d.Proxy.Addr)
	})
}

// recovery: everything verify stopped runs again and is healthy (fresh
// users reach every app), and the hosts show no drift from the state.
func (r *runner) recovery(ctx context.Context) Result {
	var out outcome
	start := time.Now()
	if err := r.undo.settle(ctx, DefaultRestoreTimeout); err != nil {
		out.fail("%v", err)
	}
	done, failed := r.undo.report()
	for _, err := range failed {
		out.fail("%v", err)
	}
	_, st, err := r.waitInRotation(ctx)
	out.stats.add(st)
	if err != nil {
		out.fail("%v", err)
	}
	drift, err := r.d.Control.Drift(ctx)
	switch {
	case err != nil:
		out.fail("drift check: %v", err)
	case len(drift) > 0:
		out.fail("drift: %s", strings.Join(drift, "; "))
	}
	if len(out.failures) == 0 {
		out.note("%d repairs made; every app serves; no drift (checked in %s)", len(done), time.Since(start).Round(time.Millisecond))
	}
	return r.result(out.stats, &out)
}
