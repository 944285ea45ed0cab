// Command failover is the measurement of bench/failover.sh: against the
// deployment applied from -chdir it runs verify's failover figure
// (verify.Failover: the sticky app's whole host is cut off the lab's
// network, or its app and caches are stopped where the network cannot be
// cut, while a steady stream of users keeps requesting through the proxy)
// -rounds times, each followed by a baseline of the same stream with
// nothing broken (verify's sticky scenario). It prints one line per
// measurement:
//
//	failover|baseline SCENARIO REQUESTS ERRORS LOST WORST_MS RECOVERY_MS PASS
//
// Usage: failover -chdir DIR [-rounds 3] [-duration 5s] [-users 4]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/verify"
	"github.com/stickyform/stickyform/internal/verify/live"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

// options are the parsed command line.
type options struct {
	dir    string
	rounds int
	o      verify.Options
}

// parseArgs parses the command line; verify's own defaults apply to the
// options left out here.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt options
	fs.StringVar(&opt.dir, "chdir", ".", "directory of the applied configuration (and its state)")
	fs.IntVar(&opt.rounds, "rounds", 3, "failovers to measure")
	fs.DurationVar(&opt.o.Duration, "duration", 5*time.Second, "how long the host stays cut off under load")
	fs.IntVar(&opt.o.Users, "users", 4, "simulated users in the steady stream")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if opt.rounds < 1 || opt.o.Duration <= 0 || opt.o.Users < 1 {
		return options{}, errors.New("-rounds, -duration and -users must be positive")
	}
	return opt, nil
}

// run measures opt.rounds failovers of the deployment in -chdir.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	opt.o.Logf = func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	cfg, _, diags := hclspec.Load(opt.dir, hclspec.VarInputs{})
	if diags.HasErrors() {
		return fmt.Errorf("load %s: %s", opt.dir, diags.Error())
	}
	d, conn, err := live.Open(ctx, cfg, live.OpenOptions{})
	if err != nil {
		return err
	}
	defer conn.Close()
	for range opt.rounds {
		res, err := verify.Failover(ctx, d, opt.o)
		if err != nil {
			return err
		}
		printResult(stdout, stderr, "failover", res)
		base := opt.o
		base.Scenarios = []string{"sticky"}
		rep, err := verify.Run(ctx, d, base)
		if err != nil {
			return err
		}
		for _, r := range rep.Scenarios {
			printResult(stdout, stderr, "baseline", r)
		}
	}
	return nil
}

// printResult prints r as one line on w, and its detail on stderr.
func printResult(w, stderr io.Writer, kind string, r verify.Result) {
	pass := 0
	if r.Pass {
		pass = 1
	}
	fmt.Fprintf(w, "%s %s %d %d %d %d %d %d\n", kind, r.Name, r.Requests, r.Errors, r.Lost,
		r.Worst.Milliseconds(), r.Recovery.Milliseconds(), pass)
	if r.Detail != "" {
		fmt.Fprintf(stderr, "%s %s: %s\n", kind, r.Name, r.Detail)
	}
}
