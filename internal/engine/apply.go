package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStalePlan means a saved plan was made from a state that has changed.
var ErrStalePlan = errors.New("engine: saved plan is stale")

// healthWait bounds how long apply waits for an agent to be healthy.
const healthWait = 30 * time.Second

// ApplyResult counts what an apply did.
type ApplyResult struct{ Added, Changed, Destroyed int }

// Apply carries out p: it walks the dependency graph in parallel, saves
// the state after every resource, and on ctx's end lets the steps in
// flight finish, saves and returns. A saved plan whose state moved is
// refused with ErrStalePlan.
func (e *Engine) Apply(ctx context.Context, p *Plan) (ApplyResult, error) {
	if p.Lineage != e.state.Lineage || p.Serial != e.state.Serial {
		return ApplyResult{}, fmt.Errorf("%w: it was made from state %s serial %d, the state is now %s serial %d; run plan again",
			ErrStalePlan, orNone(p.Lineage), p.Serial, orNone(e.state.Lineage), e.state.Serial)
	}
	if !p.HasChanges() && !p.Destroy && (p.Partial || outputsEqual(p.Outputs, e.state.Outputs)) && !hostsChanged(p, e.state) {
		return ApplyResult{}, nil // nothing to do, not even a state write
	}
	hosts := make([]*HostState, 0, len(p.Hosts))
	for _, hp := range p.Hosts {
		if planTouchesHost(p, hp.Host.Name) {
			hosts = append(hosts, hp.Host)
		}
	}
	if err := e.connect(ctx, hosts); err != nil {
		return ApplyResult{}, err
	}
	a := &applier{e: e, plan: p, out: &progress{w: e.opts.Out, still: e.opts.StillInterval}}
	nodes := a.nodes()
	stopNotice := a.noticeInterrupt(ctx)
	results, err := runGraph(ctx, nodes, e.opts.Parallelism)
	stopNotice()
	if err != nil {
		return ApplyResult{}, err
	}
	var errs []error
	interrupted := false
	for _, n := range nodes {
		if r := results[n.id]; r != nil {
			if errors.Is(r, errSkipped) {
				interrupted = interrupted || strings.Contains(r.Error(), "interrupted")
				continue
			}
			errs = append(errs, r)
		}
	}
	if len(errs) == 0 && !interrupted {
		e.finishState(p)
	}
	if err := a.save(); err != nil {
		errs = append(errs, err)
	}
	if interrupted && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("apply interrupted: %w", context.Cause(ctx)))
	}
	return a.result(), errors.Join(errs...)
}

// outputsEqual compares outputs by meaning, not by JSON layout.
func outputsEqual(a, b map[string]OutputState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.Sensitive != y.Sensitive || !jsonEqual(x.Value, y.Value) || !jsonEqual(x.Type, y.Type) {
			return false
		}
	}
	return true
}

func jsonEqual(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// hostsChanged reports whether the configuration now reaches a host of
// the state differently (user, key file, port...): worth a state write
// even when no agent changes.
func hostsChanged(p *Plan, st *State) bool {
	for _, c := range p.Changes {
		if c.After == nil {
			continue
		}
		if old := st.Host(c.After.Host.Name); old == nil || *old != *c.After.Host {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// finishState records what a complete apply leaves: outputs, hosts.
func (e *Engine) finishState(p *Plan) {
	switch {
	case p.Destroy:
		e.state.Outputs = nil
	case !p.Partial:
		e.state.Outputs = p.Outputs
	}
	for _, c := range p.Changes {
		if c.Action == NoOp && c.After != nil {
			e.state.setHost(c.After.Host)
		}
	}
	e.state.pruneHosts()
}

func planTouchesHost(p *Plan, host string) bool {
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		if (c.After != nil && c.After.Host.Name == host) || (c.Before != nil && c.Before.HostName == host) {
			return true
		}
	}
	return false
}

// applier carries out one plan.
type applier struct {
	e    *Engine
	plan *Plan
	out  *progress

	stateMu sync.Mutex
	gen     uint64 // changes recorded in the state; under stateMu

	// saveMu orders state writes; savedGen is the last change a written
	// state holds, saveErr how that write went.
	saveMu   sync.Mutex
	savedGen uint64
	saveErr  error

	added   atomic.Int32
	changed atomic.Int32
	deleted atomic.Int32

	// restartMu makes in-place restarts one at a time, so a tier behind
	// a proxy always has its other members serving. pending counts the
	// restarts not yet done, to skip the settle wait after the last.
	restartMu sync.Mutex
	pending   atomic.Int32
}

func (a *applier) result() ApplyResult {
	return ApplyResult{Added: int(a.added.Load()), Changed: int(a.changed.Load()), Destroyed: int(a.deleted.Load())}
}

// noticeInterrupt prints, once ctx ends, that apply is finishing up.
func (a *applier) noticeInterrupt(ctx context.Context) func() {
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			a.out.printf("Interrupt received: finishing the steps in flight, then saving the state...\n")
		case <-stop:
		}
	}()
	return func() { close(stop) }
}

// save writes the state; callers hold no lock.
func (a *applier) save() error {
	a.stateMu.Lock()
	a.gen++
	gen := a.gen
	a.stateMu.Unlock()
	return a.saveUpTo(gen)
}

// record changes the state under its lock and saves it at once, so an
// apply killed at any later moment still knows this resource.
func (a *applier) record(fn func(s *State)) error {
	a.stateMu.Lock()
	fn(a.e.state)
	a.gen++
	gen := a.gen
	a.stateMu.Unlock()
	return a.saveUpTo(gen)
}

// saveUpTo returns once a state holding change gen is written. Changes
// recorded while another write is under way share the next write (a
// group commit): a wide tier finishing at once costs a few state writes
// (each two fsyncs and the backup) instead of one per resource, and its
// resources do not queue behind each other's writes.
func (a *applier) saveUpTo(gen uint64) error {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	if a.savedGen >= gen {
		return a.saveErr
	}
	a.stateMu.Lock()
	last := a.gen
	data, err := a.e.state.encode()
	a.stateMu.Unlock()
	if err == nil {
		err = writeState(a.e.opts.Dir, data)
	}
	a.savedGen, a.saveErr = last, err
	return err
}

// nodes builds the apply graph: one prepare step per host (the binary),
// one step per changed resource, one purge step per host left empty.
func (a *applier) nodes() []*node {
	p := a.plan
	var nodes []*node
	prepared := map[string]bool{}
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		for _, h := range changeHosts(c) {
			if !prepared[h] {
				prepared[h] = true
				nodes = append(nodes, a.prepareNode(p.Hosts[h]))
			}
		}
		if c.Action == Update && c.Lifecycle == "restart" {
			a.pending.Add(1)
		}
	}
	changed := map[string]bool{}
	for _, c := range p.Changes {
		if c.Action != NoOp {
			changed[c.Addr] = true
		}
	}
	conflicts := listenConflicts(p)
	for _, c := range p.Changes {
		if c.Action == NoOp {
			continue
		}
		n := &node{id: nodeID(c)}
		for _, h := range changeHosts(c) {
			n.deps = append(n.deps, "prepare:"+h)
		}
		if c.Action == Delete {
			n.deps = append(n.deps, deleteDeps(p, c, conflicts)...)
		} else {
			for _, d := range c.After.Dependencies {
				if changed[d] {
					n.deps = append(n.deps, "res:"+d)
				}
			}
			n.deps = append(n.deps, conflicts[c.Addr]...)
		}
		n.run = a.changeStep(c)
		nodes = append(nodes, n)
	}
	for name, hp := range p.Hosts {
		if hp.Purge && prepared[name] {
			nodes = append(nodes, a.purgeNode(name))
		}
	}
	return nodes
}

func nodeID(c *Change) string {
	if c.Action == Delete {
		return "del:" + c.Addr
	}
	return "res:" + c.Addr
}

// changeHosts are the hosts a change works on.
func changeHosts(c *Change) []string {
	var hs []string
	if c.Before != nil && (c.Action == Delete || c.Action == Replace) {
		hs = append(hs, c.Before.HostName)
	}
	if c.After != nil && (len(hs) == 0 || hs[0] != c.After.Host.Name) {
		hs = append(hs, c.After.Host.Name)
	}
	return hs
}

// listenConflicts maps a created resource to the deletions it must wait
// for because the deleted agent holds the same address and port.
func listenConflicts(p *Plan) map[string][]string {
	out := map[string][]string{}
	for _, del := range p.Changes {
		if del.Action != Delete {
			continue
		}
		for _, c := range p.Changes {
			if (c.Action == Create || c.Action == Replace) && c.After.Host.Name == del.Before.HostName && c.After.Listen == del.Before.Listen {
				out[c.Addr] = append(out[c.Addr], "del:"+del.Addr)
			}
		}
	}
	return out
}

// deleteDeps orders a deletion after the changes of the resources that
// used it (a proxy drops a backend before the backend goes away).
func deleteDeps(p *Plan, del *Change, conflicts map[string][]string) []string {
	var deps []string
	for _, c := range p.Changes {
		if c.Action == NoOp || c.Before == nil || c == del {
			continue
		}
		if !contains(c.Before.Dependencies, del.Addr) {
			continue
		}
		if contains(conflicts[c.Addr], "del:"+del.Addr) {
			continue // that change waits for this deletion instead
		}
		deps = append(deps, nodeID(c))
	}
	sort.Strings(deps)
	return deps
}
