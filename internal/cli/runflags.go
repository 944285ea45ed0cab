package cli

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stickyform/stickyform/internal/engine"
)

// runFlags are the flags of the commands that plan and apply.
type runFlags struct {
	lockTimeout   time.Duration
	trustNewHosts bool
	parallelism   int
	refresh       bool
	targets       stringList
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to wait for the state lock (0: fail at once)")
	fs.BoolVar(&f.trustNewHosts, "trust-new-hosts", false, "record the keys of hosts missing from known_hosts (trust on first use)")
	fs.IntVar(&f.parallelism, "parallelism", engine.DefaultParallelism, "resources to change at once")
	fs.BoolVar(&f.refresh, "refresh", true, "ask the hosts what runs before planning (-refresh=false: trust the state)")
	fs.Var(&f.targets, "target", "limit to this resource address and what it depends on (repeatable)")
}

func (f *runFlags) options(e *env, operation string) engine.Options {
	return engine.Options{Dir: e.dir, Operation: operation, LockTimeout: f.lockTimeout,
		TrustNewHosts: f.trustNewHosts, Parallelism: f.parallelism, NoRefresh: !f.refresh,
		Targets: f.targets, Out: e.stdout}
}

// confirm asks question and reports whether the answer is exactly "yes".
func confirm(e *env, question, detail string) bool {
	fmt.Fprintf(e.stdout, "%s\n  %s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question, detail)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return false
	}
	fmt.Fprintln(e.stdout)
	return strings.TrimSpace(line) == "yes"
}
