package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultRestoreTimeout bounds putting back what verify broke once the
// run's own context is gone (Ctrl-C): long enough to start agents over SSH
// and wait for them to be healthy, short enough not to hang an operator.
const DefaultRestoreTimeout = 2 * time.Minute

// undo is one repair: starting a stopped agent, reconnecting a host.
type undo struct {
	desc string
	fn   func(context.Context) error
}

// ledger remembers every repair owed, so that whatever happens (a failed
// check, a panic in a scenario, Ctrl-C) verify leaves the deployment as
// it found it. Repairs are recorded before the fault is injected: a Stop
// that times out may still have stopped the agent.
type ledger struct {
	mu      sync.Mutex
	pending []undo
	failed  []error // repairs that did not work, for the recovery scenario
	done    []string
}

func (l *ledger) owe(desc string, fn func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, undo{desc, fn})
}

// settle runs the owed repairs in reverse order with a context that
// outlives ctx's cancellation, and returns what failed.
func (l *ledger) settle(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for {
		l.mu.Lock()
		if len(l.pending) == 0 {
			l.mu.Unlock()
			break
		}
		u := l.pending[len(l.pending)-1]
		l.pending = l.pending[:len(l.pending)-1]
		l.mu.Unlock()
		if err := u.fn(ctx); err != nil {
			err = fmt.Errorf("restore: %s: %w", u.desc, err)
			errs = append(errs, err)
			l.mu.Lock()
			l.failed = append(l.failed, err)
			l.mu.Unlock()
			continue
		}
		l.mu.Lock()
		l.done = append(l.done, u.desc)
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

// report returns the repairs made and those that failed so far.
func (l *ledger) report() (done []string, failed []error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.done...), append([]error(nil), l.failed...)
}
