// Command sshcopy measures the floor of a cold apply on the lab: it
// connects to the first N lab hosts with stickyform's own SSH client
// (package provisioner, one connection per host, as apply makes) and
// copies one file into each, all in parallel, with the receiver apply's
// upload uses (a 1 MiB pipe and cat), and does nothing else. It prints the
// wall time and the machine's busy CPU time meanwhile, then removes the
// copies (untimed).
//
// A cold apply does all of this and more (the refresh, configs, agent
// starts), so its time on the same hosts cannot be lower.
//
// Usage: sshcopy -hosts N -file PATH
// Prints: sshcopy hosts=N bytes=B wall=S busy=CPU-S
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

	"golang.org/x/sync/errgroup"

	"github.com/stickyform/stickyform/internal/lab"
	"github.com/stickyform/stickyform/provisioner"
)

// dest is where each host receives the copy: the host's private /opt
// (a tmpfs the lab makes per host, as for apply's binary).
const dest = "/opt/.stickyform-bench-sshcopy"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sshcopy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sshcopy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hosts := fs.Int("hosts", 3, "copy to the first N lab hosts (server2 .. server(N+1))")
	file := fs.String("file", "", "the file to copy (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		return errors.New("usage: sshcopy -hosts N -file PATH")
	}
	fi, err := os.Stat(*file)
	if err != nil {
		return err
	}
	l, err := lab.Open("")
	if err != nil {
		return err
	}
	// Nothing is sent to a lab address unless the lab is there and ours.
	if err := l.Check(); err != nil {
		return err
	}
	if *hosts < 1 || *hosts > len(l.Hosts) {
		return fmt.Errorf("-hosts %d: the lab has %d hosts", *hosts, len(l.Hosts))
	}
	targets := l.Hosts[:*hosts]
	recv := fmt.Sprintf("perl -e 'fcntl(STDIN, 1031, 1048576)' 2>/dev/null; cat > %s && [ $(wc -c < %s) -eq %d ]", dest, dest, fi.Size())

	clients := make([]*provisioner.Client, len(targets))
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	b0, err := busySeconds()
	if err != nil {
		return err
	}
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for i, h := range targets {
		g.Go(func() error {
			c, err := provisioner.Dial(gctx, l.Target(h), provisioner.Options{})
			if err != nil {
				return err
			}
			clients[i] = c
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = c.Run(gctx, recv, f)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	wall := time.Since(t0)
	b1, err := busySeconds()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sshcopy hosts=%d bytes=%d wall=%.3f busy=%.2f\n", len(targets), fi.Size(), wall.Seconds(), b1-b0)

	g, gctx = errgroup.WithContext(ctx)
	for _, c := range clients {
		g.Go(func() error {
			_, err := c.Run(gctx, "rm -f "+dest, nil)
			return err
		})
	}
	return g.Wait()
}

// busySeconds is the machine's busy CPU time so far (all cores): user,
// nice, system, irq and softirq from /proc/stat, as bench/lib's cpu_busy.
func busySeconds() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var user, nice, system, idle, iowait, irq, softirq float64
	if _, err := fmt.Sscanf(line, "cpu %f %f %f %f %f %f %f", &user, &nice, &system, &idle, &iowait, &irq, &softirq); err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return (user + nice + system + irq + softirq) / 100, nil
}
