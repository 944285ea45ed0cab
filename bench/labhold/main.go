// Command labhold brings up a fresh lab for a benchmark script and holds
// the machine-wide lab lock until the script is done: it prints "READY",
// waits until its stdin closes or it gets SIGTERM/SIGINT, then takes the
// lab down and releases the lock. Holding the lock for the whole run is
// what keeps a test run (labtest) from replacing the lab under a
// benchmark, and a benchmark from replacing a test's lab; `stickyform lab
// up` holds it only while it works.
//
// Usage: labhold [-hosts N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stickyform/stickyform/internal/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "labhold:", err)
		os.Exit(1)
	}
}

// run holds a lab of -hosts hosts until stdin ends or ctx is done.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("labhold", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hosts := fs.Int("hosts", 3, "number of lab hosts (server2 .. server(N+1))")
	lockWait := fs.Duration("lock-timeout", 10*time.Minute, "how long to wait for the lab lock")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hosts < 1 || *hosts > lab.MaxHosts {
		return fmt.Errorf("-hosts %d: want 1 to %d", *hosts, lab.MaxHosts)
	}
	lockCtx, cancel := context.WithTimeout(ctx, *lockWait)
	defer cancel()
	unlock, err := lab.Lock(lockCtx, func() {
		fmt.Fprintf(stderr, "labhold: waiting for the lab lock %s (a test run?)\n", lab.LockFile)
	})
	if err != nil {
		return err
	}
	defer unlock()
	// A lab that exists already belongs to someone else (a demo, a
	// crashed run): a benchmark neither reuses nor removes it.
	if left := lab.Leftovers(""); len(left) > 0 {
		return fmt.Errorf("a lab (or what is left of one) is already here: %s; remove it with 'stickyform lab down'",
			strings.Join(left, ", "))
	}
	err = hold(ctx, *hosts, stdin, stdout)
	_, derr := lab.Down(context.Background(), "")
	if derr != nil {
		derr = fmt.Errorf("lab down: %w", derr)
	}
	return errors.Join(err, derr)
}

// hold brings the lab up, checks it, says READY and waits.
func hold(ctx context.Context, hosts int, stdin io.Reader, stdout io.Writer) error {
	l, _, err := lab.Up(ctx, lab.Options{Hosts: hosts})
	if err != nil {
		return err
	}
	if err := l.Check(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "READY %d\n", len(l.Hosts))
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
	}
	return nil
}
