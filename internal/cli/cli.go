// Package cli implements the stickyform command line: global flags, the
// command table and one file per command. Run is the only entry point; it
// returns errors instead of exiting so tests can drive every command
// in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stickyform/stickyform/internal/version"
)

// ExitError carries a specific process exit status (for example 2 for
// plan -detailed-exitcode with changes). Err, when set, is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// errReported means the command already printed what went wrong (for
// example HCL diagnostics) and main should only set the exit status.
var errReported = &ExitError{Code: 1}

// env is what every command gets: the streams and the global flags.
type env struct {
	ctx     context.Context
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	dir     string // working directory after -chdir
	noColor bool
}

// command is one entry of the command table.
type command struct {
	name     string
	synopsis string
	run      func(e *env, args []string) error
}

// commands lists every command that exists, in the order help shows them.
func commands() []command {
	return []command{
		{"validate", "Check the configuration without touching any host", runValidate},
		{"fmt", "Rewrite configuration files in the canonical format", runFmt},
		{"graph", "Print the dependency graph in DOT", runGraph},
		{"plan", "Show what apply would change on the hosts", runPlan},
		{"apply", "Create or update the agents on the hosts", runApply},
		{"destroy", "Stop and remove everything stickyform deployed", runDestroy},
		{"verify", "Prove stickiness and failover on the live deployment", runVerify},
		{"show", "Show the state: what is deployed where", runShow},
		{"output", "Show the outputs of the last apply", runOutput},
		{"state", "Inspect the state (list) or break its lock (force-unlock)", runState},
		{"force-unlock", "Break a state lock whose holder is gone", runForceUnlock},
		{"agent", "Run an agent role by hand (cache, app, proxy)", runAgent},
		{"lab", "The local lab: up [-hosts N], down, status", runLab},
		{"version", "Print the stickyform version", runVersion},
		{"help", "Show this help", runHelp},
	}
}

// Run executes the command line args (without the program name).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		e.noColor = true
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		switch name {
		case "chdir":
			if !hasValue {
				if len(args) < 2 {
					return errors.New("-chdir needs a directory")
				}
				value, args = args[1], args[1:]
			}
			e.dir = value
		case "no-color":
			e.noColor = true
		case "h", "help":
			return runHelp(e, nil)
		case "v", "version":
			return runVersion(e, nil)
		default:
			return fmt.Errorf("unknown global flag %s; run 'stickyform help'", args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		runHelp(e, nil)
		return errReported
	}
	if e.dir == "" {
		e.dir = "."
	}
	abs, err := filepath.Abs(e.dir)
	if err != nil {
		return fmt.Errorf("-chdir: %w", err)
	}
	e.dir = abs
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	return fmt.Errorf("unknown command %q; run 'stickyform help' for the list", args[0])
}

func runVersion(e *env, _ []string) error {
	fmt.Fprintf(e.stdout, "stickyform %s\n", version.Version)
	return nil
}

func runHelp(e *env, _ []string) error {
	cmds := commands()
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	fmt.Fprint(e.stdout, "Usage: stickyform [global options] <command> [options]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(e.stdout, "  %-13s %s\n", c.name, c.synopsis)
	}
	fmt.Fprint(e.stdout, "\nGlobal options:\n  -chdir=DIR  work on the *.hcl files of DIR\n  -no-color   plain output\n  -version    print the version\n\nRun 'stickyform <command> -h' for a command's options.\n")
	return nil
}

// newFlagSet returns a FlagSet for a command whose usage goes to stderr
// and whose errors are returned, not exited on. Go's flag package already
// accepts both -flag and --flag.
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: stickyform %s\n\nOptions:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning -h into a clean exit.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return &ExitError{Code: 0}
	}
	if err != nil {
		return errReported
	}
	return nil
}
