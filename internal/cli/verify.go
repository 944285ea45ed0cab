package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stickyform/stickyform/internal/verify"
	"github.com/stickyform/stickyform/internal/verify/live"
)

// runVerify proves stickiness and failover on what the state says is
// deployed, and exits 1 when any scenario fails.
func runVerify(e *env, args []string) error {
	fs := newFlagSet(e, "verify", "verify [options]")
	var cf configFlags
	cf.register(fs)
	jsonOut := fs.Bool("json", false, `print {"scenarios":[...]} as JSON instead of the table`)
	only := fs.String("scenario", "", "run only these scenarios (comma-separated): "+strings.Join(verify.Scenarios(), ", "))
	duration := fs.Duration("duration", 3*time.Second, "how long each scenario keeps its failure in place under load")
	users := fs.Int("users", 4, "simulated users in the steady stream of requests")
	trustNew := fs.Bool("trust-new-hosts", false, "record the keys of hosts missing from known_hosts (trust on first use)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("verify: unexpected arguments %q", fs.Args())
	}
	o := verify.Options{Duration: *duration, Users: *users, Logf: func(format string, args ...any) {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}}
	if *only != "" {
		o.Scenarios = strings.Split(*only, ",")
		for _, name := range o.Scenarios {
			if !slices.Contains(verify.Scenarios(), name) {
				return fmt.Errorf("verify: unknown scenario %q; want one of %s", name, strings.Join(verify.Scenarios(), ", "))
			}
		}
	}
	cfg, err := loadConfig(e, &cf)
	if err != nil {
		return err
	}
	d, conn, err := live.Open(e.ctx, cfg, live.OpenOptions{TrustNewHosts: *trustNew})
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, runErr := verify.Run(e.ctx, d, o)
	if rep != nil {
		if err := printReport(e, rep, *jsonOut); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if !rep.Passed() {
		return errReported
	}
	return nil
}

func printReport(e *env, rep *verify.Report, asJSON bool) error {
	if asJSON {
		return rep.WriteJSON(e.stdout)
	}
	return rep.WriteTable(e.stdout)
}
