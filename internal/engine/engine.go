package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/stickyform/stickyform/hclspec"
)

// BinaryEnv names the environment variable that, when set, is the local
// stickyform build to deploy instead of the running executable (for
// tests and development, where the running program is not stickyform).
const BinaryEnv = "STICKYFORM_AGENT_BINARY"

// DefaultParallelism bounds the resources applied at once.
const DefaultParallelism = 10

// Options configures an Engine.
type Options struct {
	// Dir holds the configuration; the state and its lock live there.
	Dir string
	// Operation names the command for the lock ("plan", "apply", ...).
	Operation string
	// LockTimeout is how long to wait for the state lock; 0 fails at once.
	LockTimeout time.Duration
	// Binary is the local stickyform build for this machine; builds for
	// other architectures are "<Binary>-linux-<arch>". If empty,
	// $STICKYFORM_AGENT_BINARY, else the running executable.
	Binary string
	// TrustNewHosts records the keys of hosts missing from known_hosts.
	TrustNewHosts bool
	// Parallelism bounds concurrent resource operations. If zero,
	// DefaultParallelism.
	Parallelism int
	// NoRefresh plans from the state alone, without asking the hosts.
	NoRefresh bool
	// Targets limits plan and apply to these addresses and what they
	// depend on.
	Targets []string
	// Out receives apply's progress lines. If nil, they are discarded.
	Out io.Writer
	// StillInterval is how often a long step reports it is still
	// running. If zero, 10s.
	StillInterval time.Duration

	dial dialFunc // nil: SSH through the provisioner
}

// Engine is one command's run: the locked state and one connection per
// host, reused for refresh and apply.
type Engine struct {
	opts  Options
	lock  *Lock
	state *State
	bins  *binaries

	mu    sync.Mutex
	conns map[string]conn

	packed packed // gzipped builds, shared by the hosts' uploads
}

// Open takes the state lock of opts.Dir and loads the state.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	lock, err := AcquireLock(ctx, opts.Dir, opts.Operation, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	st, err := LoadState(opts.Dir)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	return &Engine{opts: opts, lock: lock, state: st, bins: newBinaries(opts.Binary), conns: map[string]conn{}}, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Binary == "" {
		o.Binary = os.Getenv(BinaryEnv)
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find the stickyform binary to deploy: %w", err)
		}
		o.Binary = exe
	}
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.StillInterval == 0 {
		o.StillInterval = 10 * time.Second
	}
	if o.dial == nil {
		o.dial = dialSSH
	}
	return o, nil
}

// State returns the state as loaded (and as updated by Apply).
func (e *Engine) State() *State { return e.state }

// Close closes the connections and releases the lock.
func (e *Engine) Close() error {
	e.mu.Lock()
	closeAll(e.conns)
	e.conns = map[string]conn{}
	e.mu.Unlock()
	return e.lock.Unlock()
}

// connect dials the hosts not connected yet, in parallel.
func (e *Engine) connect(ctx context.Context, hosts []*HostState) error {
	e.mu.Lock()
	var missing []*HostState
	for _, h := range hosts {
		if e.conns[h.Name] == nil {
			missing = append(missing, h)
		}
	}
	e.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	conns, err := dialAll(ctx, e.opts.dial, missing, e.opts.TrustNewHosts)
	if err != nil {
		return err
	}
	e.mu.Lock()
	for n, c := range conns {
		e.conns[n] = c
	}
	e.mu.Unlock()
	return nil
}

// redial replaces the connection to h with a new one.
func (e *Engine) redial(ctx context.Context, h *HostState) error {
	e.mu.Lock()
	old := e.conns[h.Name]
	delete(e.conns, h.Name)
	e.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return e.connect(ctx, []*HostState{h})
}

func (e *Engine) conn(host string) conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conns[host]
}

// Plan refreshes the hosts (unless NoRefresh) and diffs cfg against them
// and the state.
func (e *Engine) Plan(ctx context.Context, cfg *hclspec.Config) (*Plan, error) {
	desired, err := Desired(cfg)
	if err != nil {
		return nil, err
	}
	p, err := e.plan(ctx, desired)
	if err != nil {
		return nil, err
	}
	p.Outputs, err = outputs(cfg)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PlanDestroy plans removing everything in the state.
func (e *Engine) PlanDestroy(ctx context.Context) (*Plan, error) {
	p, err := e.plan(ctx, nil)
	if err != nil {
		return nil, err
	}
	p.Destroy = true
	return p, nil
}

func (e *Engine) plan(ctx context.Context, desired []*Resource) (*Plan, error) {
	hosts := planHosts(desired, e.state)
	var status map[string]*hostStatus
	if !e.opts.NoRefresh {
		if err := e.connect(ctx, hosts); err != nil {
			return nil, err
		}
		var err error
		if status, err = e.refresh(ctx, hosts); err != nil {
			return nil, err
		}
	}
	hostPlans, err := e.hostPlans(hosts, status, desired)
	if err != nil {
		return nil, err
	}
	p := makePlan(planInput{desired: desired, state: e.state, status: status, hosts: hostPlans})
	if len(e.opts.Targets) > 0 {
		if err := targetPlan(p, e.opts.Targets); err != nil {
			return nil, err
		}
	}
	e.prefetch(p)
	return p, nil
}

// planHosts are the hosts a plan looks at: those of the configuration
// (connection details from it) and those of the state.
func planHosts(desired []*Resource, st *State) []*HostState {
	byName := map[string]*HostState{}
	for _, h := range st.Hosts {
		byName[h.Name] = h
	}
	for _, d := range desired {
		byName[d.Host.Name] = d.Host
	}
	out := make([]*HostState, 0, len(byName))
	for _, h := range byName {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// refresh asks every host what runs there, in parallel.
func (e *Engine) refresh(ctx context.Context, hosts []*HostState) (map[string]*hostStatus, error) {
	out := make(map[string]*hostStatus, len(hosts))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := refreshHost(ctx, e.conn(h.Name))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("host %s: %w", h.Name, err))
				return
			}
			out[h.Name] = st
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// hostPlans resolves, per host, the build to deploy and its hash.
func (e *Engine) hostPlans(hosts []*HostState, status map[string]*hostStatus, desired []*Resource) (map[string]*HostPlan, error) {
	out := map[string]*HostPlan{}
	for _, h := range hosts {
		hp := &HostPlan{Host: h, Arch: runtime.GOARCH}
		if prior := e.state.Host(h.Name); prior != nil && prior.Arch != "" {
			hp.Arch = prior.Arch
		}
		if st := status[h.Name]; st != nil {
			hp.Arch, hp.Systemd, hp.RemoteBinarySHA256 = st.Arch, st.Systemd, st.BinarySHA256
		} else {
			hp.RemoteBinarySHA256 = "unknown"
		}
		h.Arch = hp.Arch
		path, sum, err := e.bins.forArch(hp.Arch)
		if err != nil && hostWanted(desired, h.Name) {
			return nil, fmt.Errorf("host %s: %w", h.Name, err)
		}
		hp.Binary, hp.BinarySHA256 = path, sum
		out[h.Name] = hp
	}
	return out, nil
}
