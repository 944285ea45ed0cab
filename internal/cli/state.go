package cli

import (
	"fmt"

	"github.com/stickyform/stickyform/internal/engine"
)

// runState is `stickyform state list|force-unlock`.
func runState(e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, "Usage: stickyform state list | force-unlock\n")
		return errReported
	}
	switch args[0] {
	case "list":
		return runStateList(e, args[1:])
	case "force-unlock":
		return runForceUnlock(e, args[1:])
	}
	return fmt.Errorf("unknown state subcommand %q: want list or force-unlock", args[0])
}

// runStateList prints the address of every resource in the state.
func runStateList(e *env, args []string) error {
	fs := newFlagSet(e, "state list", "state list")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := engine.LoadState(e.dir)
	if err != nil {
		return err
	}
	for _, r := range st.Resources {
		fmt.Fprintln(e.stdout, r.Addr)
	}
	return nil
}

// runForceUnlock removes a lock left by a holder that cannot release it.
func runForceUnlock(e *env, args []string) error {
	fs := newFlagSet(e, "force-unlock", "force-unlock")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, err := engine.ForceUnlock(e.dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "stickyform state has been unlocked (it was held by %s, pid %d, %s).\n", info.Who, info.PID, info.Operation)
	return nil
}
