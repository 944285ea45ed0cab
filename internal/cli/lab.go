package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/stickyform/stickyform/internal/lab"
)

// runLab dispatches `stickyform lab up|down|status`.
func runLab(e *env, args []string) error {
	return labMain(e, args, lockLab)
}

// labMain is runLab with the lock taken by lock; tests that already hold
// the machine-wide lab lock pass one that does nothing.
func labMain(e *env, args []string, lock func(*env) (func(), error)) error {
	usage := "Usage: stickyform lab up [-hosts N] | down | status\n"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stderr, usage)
		if len(args) == 0 {
			return errReported
		}
		return nil
	}
	switch args[0] {
	case "up":
		return runLabUp(e, args[1:], lock)
	case "down":
		return runLabDown(e, args[1:], lock)
	case "status":
		return runLabStatus(e, args[1:])
	}
	return fmt.Errorf("unknown lab command %q: want up, down or status", args[0])
}

// lockLab takes the machine-wide lab lock, saying so when it has to wait.
func lockLab(e *env) (func(), error) {
	if os.Geteuid() != 0 {
		return nil, lab.ErrNotRoot // before the lock file in /run says "permission denied"
	}
	return lab.Lock(e.ctx, func() {
		fmt.Fprintf(e.stderr, "Waiting for another user of the lab (a test run?) to finish (lock %s)...\n", lab.LockFile)
	})
}

func runLabUp(e *env, args []string, lock func(*env) (func(), error)) error {
	fs := newFlagSet(e, "lab up", "lab up [-hosts N]")
	hosts := fs.Int("hosts", 3, "number of hosts: server2 .. server(N+1) at 172.25.1.2 ..")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("lab up: unexpected argument %q", fs.Arg(0))
	}
	if *hosts < 1 || *hosts > lab.MaxHosts {
		return fmt.Errorf("lab up: -hosts %d: want 1 to %d", *hosts, lab.MaxHosts)
	}
	unlock, err := lock(e)
	if err != nil {
		return err
	}
	defer unlock()
	l, did, err := lab.Up(e.ctx, lab.Options{Hosts: *hosts})
	for _, d := range did {
		fmt.Fprintf(e.stdout, "  %s\n", d)
	}
	if err != nil {
		return err
	}
	if len(did) == 0 {
		fmt.Fprintf(e.stdout, "Lab already up: nothing to do.\n")
	}
	fmt.Fprintf(e.stdout, "\nLab up: %d hosts on bridge %s (%s/24):\n", len(l.Hosts), lab.Bridge, lab.BridgeIP)
	for _, h := range l.Hosts {
		fmt.Fprintf(e.stdout, "  %-9s %-12s netns %s\n", h.Name, h.Address, h.Netns)
	}
	fmt.Fprintf(e.stdout, "\nClient key:  %s\nKnown hosts: %s\n", l.KeyFile, l.KnownHostsFile)
	ex := l.Hosts[len(l.Hosts)/2]
	fmt.Fprintf(e.stdout, "Log in with: ssh -i %s -o UserKnownHostsFile=%s root@%s\n", l.KeyFile, l.KnownHostsFile, ex.Address)
	fmt.Fprintf(e.stdout, "Remove with: stickyform lab down\n")
	return nil
}

func runLabDown(e *env, args []string, lock func(*env) (func(), error)) error {
	fs := newFlagSet(e, "lab down", "lab down")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	unlock, err := lock(e)
	if err != nil {
		return err
	}
	defer unlock()
	did, err := lab.Down(e.ctx, "")
	for _, d := range did {
		fmt.Fprintf(e.stdout, "  %s\n", d)
	}
	if err != nil {
		return err
	}
	if len(did) == 0 {
		fmt.Fprintf(e.stdout, "No lab: nothing to remove.\n")
		return nil
	}
	fmt.Fprintf(e.stdout, "Lab down: nothing of it is left.\n")
	return nil
}

func runLabStatus(e *env, args []string) error {
	fs := newFlagSet(e, "lab status", "lab status")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	l, err := lab.Open("")
	if err != nil {
		return err
	}
	res, err := l.Status(e.ctx)
	if err != nil {
		return fmt.Errorf("lab status: %w", err)
	}
	down := 0
	for _, r := range res {
		if r.Up {
			fmt.Fprintf(e.stdout, "%-9s %-12s up\n", r.Host.Name, r.Host.Address)
			continue
		}
		down++
		fmt.Fprintf(e.stdout, "%-9s %-12s DOWN: %v\n", r.Host.Name, r.Host.Address, r.Err)
	}
	fmt.Fprintf(e.stdout, "%d of %d hosts up (key %s, known_hosts %s)\n", len(res)-down, len(res), filepath.Base(l.KeyFile), l.KnownHostsFile)
	if down > 0 {
		return errReported
	}
	return nil
}
