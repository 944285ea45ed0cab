package verify

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// outcome collects what a scenario's own requests saw and why it fails.
type outcome struct {
	stats    Stats
	recovery time.Duration
	failures []string
	notes    []string
	skip     string // non-empty: the scenario does not apply here
}

func (o *outcome) fail(format string, args ...any) {
	o.failures = append(o.failures, fmt.Sprintf(format, args...))
}

func (o *outcome) note(format string, args ...any) {
	o.notes = append(o.notes, fmt.Sprintf(format, args...))
}

// underLoad runs body while the steady stream of users runs, and turns
// both into a Result: it passes when body found nothing wrong and no
// request of the stream or of body failed or lost session data.
func (r *runner) underLoad(ctx context.Context, body func(context.Context, *outcome)) Result {
	s, err := StartStream(ctx, r.d.URL, r.d.Route, r.o.Users, r.o.RequestTimeout)
	if err != nil {
		return Result{Detail: "start the steady stream: " + err.Error()}
	}
	var out outcome
	body(ctx, &out)
	st := s.Stop()
	st.add(out.stats)
	if out.skip != "" {
		return Result{Pass: true, Skipped: true, Detail: "skipped: " + out.skip}
	}
	return r.result(st, &out)
}

// result judges the figures st and the scenario's findings.
func (r *runner) result(st Stats, out *outcome) Result {
	res := Result{Requests: st.Requests, Errors: st.Errors, Lost: st.Lost, Worst: st.Worst, Recovery: out.recovery}
	var why []string
	if st.Errors > 0 {
		why = append(why, fmt.Sprintf("%d failed requests", st.Errors))
	}
	if st.Lost > 0 {
		why = append(why, fmt.Sprintf("%d answers with lost session data", st.Lost))
	}
	why = append(why, out.failures...)
	if len(why) > 0 && len(st.Problems) > 0 {
		why = append(why, "first problem: "+st.Problems[0])
	}
	res.Pass = len(why) == 0
	res.Detail = strings.Join(append(why, out.notes...), "; ")
	return res
}

// settleAfter repairs what the scenario broke and waits until the proxy
// sends fresh users to every app again.
func (r *runner) settleAfter(ctx context.Context, out *outcome) {
	if err := r.undo.settle(ctx, DefaultRestoreTimeout); err != nil {
		out.fail("%v", err)
	}
	back, st, err := r.waitInRotation(ctx)
	out.stats.add(st)
	if err != nil {
		out.fail("%v", err)
		return
	}
	out.note("all apps back in rotation %s after repair", back.Round(time.Millisecond))
}
