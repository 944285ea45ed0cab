package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// step is one part of a fault: do breaks something, undo repairs it.
type step struct {
	desc     string
	do, undo func(context.Context) error
}

// fault is what a scenario breaks for the probe's session.
type fault struct {
	steps []step
	// down lists the app servers that cannot answer while it lasts.
	down []string
	// during, when set, checks more while the fault is in effect.
	during func(ctx context.Context, p *user, out *outcome)
}

// errSkip marks a fault that does not apply to this deployment.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

// probeAttrs is how many attributes the probe stores before the fault.
const probeAttrs = 3

// withFault runs the common shape of a failover proof under load: a
// probing user stores attributes, plan picks what to break for it, the
// fault is injected and held for the run's Duration while the probe
// measures recovery, then everything is repaired and the probe's session
// must still be intact.
func (r *runner) withFault(ctx context.Context, plan func(*user, *Session) (fault, error)) Result {
	return r.underLoad(ctx, func(ctx context.Context, out *outcome) {
		if r.routes == nil { // run without the sticky scenario before it
			_, st, err := r.waitInRotation(ctx)
			out.stats.add(st)
			if err != nil {
				out.fail("%v", err)
				return
			}
		}
		p, s, err := r.probe(ctx, out)
		if err != nil {
			out.fail("probe: %v", err)
			return
		}
		defer p.Close()
		f, err := plan(p, s)
		if skip := (errSkip{}); errors.As(err, &skip) {
			out.skip = skip.reason
			return
		}
		if err != nil {
			out.fail("%v", err)
			return
		}
		// Let the stream's users settle on their apps before breaking one.
		sleep(ctx, min(r.o.Duration/4, 500*time.Millisecond))
		r.hold(ctx, f, p, out)
		r.settleAfter(ctx, out)
		// After the repair the probe's session must still be whole.
		if _, err := out.stats.observe(p, func() (*Session, error) { return p.Get(ctx) }); err != nil {
			out.fail("after repair: %v", err)
		}
	})
}

// hold injects f, measures the probe's recovery and keeps the fault in
// place for the run's Duration. Repairs are owed before each step.
func (r *runner) hold(ctx context.Context, f fault, p *user, out *outcome) {
	for _, st := range f.steps {
		r.o.Logf("verify:   %s", st.desc)
		r.undo.owe("undo "+st.desc, st.undo)
		if err := st.do(ctx); err != nil {
			out.fail("%s: %v", st.desc, err)
			return
		}
		out.note("%s", st.desc)
	}
	inEffect := time.Now()
	r.awaitRecovery(ctx, p, f.down, inEffect, out)
	sleep(ctx, time.Until(inEffect.Add(r.o.Duration)))
	if f.during != nil && len(out.failures) == 0 {
		f.during(ctx, p, out)
	}
}

// probe makes the probing user: a fresh session holding a few attributes.
func (r *runner) probe(ctx context.Context, out *outcome) (*user, *Session, error) {
	p, err := r.newUser()
	if err != nil {
		return nil, nil, err
	}
	var s *Session
	for i := range probeAttrs {
		key, val := fmt.Sprintf("probe-%d", i+1), fmt.Sprintf("value-%d", i+1)
		if s, err = out.stats.observe(p, func() (*Session, error) { return p.put(ctx, key, val) }); err != nil {
			p.Close()
			return nil, nil, err
		}
	}
	return p, s, nil
}

// awaitRecovery polls the probe's session until a surviving app serves it
// intact, and records the time since the fault took effect. Failed
// requests meanwhile are counted, as users would feel them.
func (r *runner) awaitRecovery(ctx context.Context, p *user, down []string, since time.Time, out *outcome) {
	deadline := since.Add(max(r.o.Duration, r.o.SettleTimeout))
	last := "no answer"
	for ctx.Err() == nil && time.Now().Before(deadline) {
		s, err := out.stats.observe(p, func() (*Session, error) { return p.Get(ctx) })
		switch {
		case err != nil && s != nil:
			out.fail("probe session lost: %v", err)
			return
		case err != nil:
			last = err.Error()
		case slices.Contains(down, s.Server):
			last = "still served by " + s.Server
		default:
			out.recovery = time.Since(since)
			out.note("probe recovered on %s (node %s)", s.Server, s.Node)
			return
		}
		sleep(ctx, 20*time.Millisecond)
	}
	out.fail("probe did not recover within %s: %s", max(r.o.Duration, r.o.SettleTimeout), last)
}
