// Package verify proves stickiness and failover on a live deployment: it
// talks to the proxy the way browsers do (cookie jars, the demo session
// API) while it stops apps, caches, whole hosts and network links, and
// reports what users felt (requests, failures, worst latency, recovery
// time). It always puts back what it broke.
package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Options tune a verify run. Zero values mean the documented defaults.
type Options struct {
	// Duration is how long each scenario keeps its failure in place (and
	// the steady stream running) before repairing it. If zero, 3s.
	Duration time.Duration
	// Users is the number of simulated users in the steady stream. If
	// zero, 4.
	Users int
	// RequestTimeout bounds each request. If zero, DefaultRequestTimeout.
	RequestTimeout time.Duration
	// SettleTimeout bounds the wait for a repaired agent to be back in the
	// proxy's rotation. If zero, 30s.
	SettleTimeout time.Duration
	// Scenarios selects scenarios by name; nil runs them all.
	Scenarios []string
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.Duration == 0 {
		o.Duration = 3 * time.Second
	}
	if o.Users == 0 {
		o.Users = 4
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.SettleTimeout == 0 {
		o.SettleTimeout = 30 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// scenario is one named proof.
type scenario struct {
	name string
	run  func(r *runner, ctx context.Context) Result
}

func scenarios() []scenario {
	return []scenario{
		{"sticky", (*runner).sticky},
		{"session", (*runner).session},
		{"app-down", (*runner).appDown},
		{"cache-down", (*runner).cacheDown},
		{"host-down", (*runner).hostDown},
		{"network-cut", (*runner).networkCut},
		{"proxy-reload", (*runner).proxyReload},
		{"recovery", (*runner).recovery},
	}
}

// Scenarios lists the scenario names in the order Run runs them.
func Scenarios() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.name)
	}
	return names
}

// runner carries one run's deployment, options and repair ledger.
type runner struct {
	d      *Deployment
	o      Options
	undo   *ledger
	routes map[string]string // app server name → its sticky cookie value
}

// Run runs the selected scenarios in order against d and returns their
// results. It returns an error only when it cannot start (an unknown
// scenario, an unusable deployment) or when ctx ends; everything it
// stopped is started again before it returns, in both cases.
func Run(ctx context.Context, d *Deployment, o Options) (*Report, error) {
	o = o.withDefaults()
	for _, name := range o.Scenarios {
		if !slices.Contains(Scenarios(), name) {
			return nil, fmt.Errorf("verify: unknown scenario %q; want one of %s", name, strings.Join(Scenarios(), ", "))
		}
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r := &runner{d: d, o: o, undo: &ledger{}}
	defer r.undo.settle(ctx, DefaultRestoreTimeout)
	rep := &Report{}
	for _, s := range scenarios() {
		if o.Scenarios != nil && !slices.Contains(o.Scenarios, s.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("verify: interrupted before %s: %w", s.name, err)
		}
		o.Logf("verify: %s ...", s.name)
		res := s.run(r, ctx)
		res.Name = s.name
		res.finish()
		rep.Scenarios = append(rep.Scenarios, res)
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("verify: interrupted during %s: %w", s.name, err)
		}
	}
	return rep, nil
}

// newUser returns a fresh simulated user of the proxy.
func (r *runner) newUser() (*user, error) {
	c, err := NewClient(r.d.URL, r.d.Route, r.o.RequestTimeout)
	if err != nil {
		return nil, err
	}
	return newUser(c), nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
