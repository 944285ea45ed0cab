package verify

import (
	"context"
	"fmt"
)

// Failover measures what users feel when the sticky app's whole host
// fails under steady load: its network is cut when d can cut networks
// (a lab), else its app and caches are stopped (host-down). It returns
// that scenario's Result: Requests and Errors of the steady stream and
// the probe, Worst latency, and Recovery as defined on Result. The host
// is repaired before Failover returns. It is the benchmarks' "failover"
// figure.
func Failover(ctx context.Context, d *Deployment, o Options) (Result, error) {
	o.Scenarios = []string{"host-down"}
	if d.Net != nil {
		o.Scenarios = []string{"network-cut"}
	}
	rep, err := Run(ctx, d, o)
	if err != nil {
		return Result{}, err
	}
	if len(rep.Scenarios) != 1 {
		return Result{}, fmt.Errorf("verify: failover: got %d results; want 1", len(rep.Scenarios))
	}
	return rep.Scenarios[0], nil
}
