package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// SuperviseMain is `stickyform agent supervise -name NAME -- PROGRAM ARGS...`.
func SuperviseMain(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.Name, "name", "", "role name, <kind>-<name> (names pid and log files)")
	fs.StringVar(&o.RunDir, "run-dir", DefaultRunDir, "directory of the pid files")
	fs.StringVar(&o.LogDir, "log-dir", DefaultLogDir, "directory of the log file")
	fs.DurationVar(&o.MaxBackoff, "max-backoff", DefaultMaxBackoff, "longest wait between restarts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Command = fs.Args()
	if o.Name == "" || len(o.Command) == 0 {
		return errors.New("usage: stickyform agent supervise -name NAME -- PROGRAM [ARGS...]")
	}
	err := Run(ctx, o)
	if errors.Is(err, ErrAlreadyRunning) {
		return nil // idempotent start: the role is already supervised
	}
	return err
}

// StatusMain is `stickyform agent status`: it prints the host's Status as
// JSON, the one answer a refresh needs from a host.
func StatusMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	h := DetectHost()
	fs.StringVar(&h.Binary, "binary", h.Binary, "the stickyform binary the roles run")
	fs.StringVar(&h.ConfigDir, "config-dir", h.ConfigDir, "directory of the role configs")
	fs.StringVar(&h.RunDir, "run-dir", h.RunDir, "directory of the pid files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(h.Status(ctx))
}

// CtlMain is `stickyform agent ctl ACTION [-wait D] NAME...`, how the
// engine changes a host in one command: ACTION is start, stop, restart,
// reload, remove, wait (for health), wait-backend (-backend URL: until
// the proxy role reports that backend up) or purge (remove the layout
// when no role is left). With -wait, start/restart/reload wait for
// health too. With -config-stdin (one NAME), stdin is first written as
// the role's config: the engine creates or reconfigures a role in one
// command, one process start on the host instead of three. With -inline
// (one NAME) this process becomes the role's supervisor: see Host.Inline.
func CtlMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: stickyform agent ctl start|stop|restart|reload|remove|wait|wait-backend|purge [-wait D] [-backend URL] [-config-stdin] [-inline] NAME...")
	}
	action := args[0]
	fs := flag.NewFlagSet("ctl "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	h := DetectHost()
	wait := fs.Duration("wait", 0, "after start/restart/reload, wait this long for the role to be healthy")
	backend := fs.String("backend", "", "with wait-backend: the backend URL the proxy role must report up")
	configStdin := fs.Bool("config-stdin", false, "first write stdin as the config of the (one) role")
	inline := fs.Bool("inline", false, "start/restart/reload one role, becoming its supervisor when it needs one; print \"ok\" once healthy")
	fs.StringVar(&h.Binary, "binary", h.Binary, "the stickyform binary the roles run")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *inline && (len(fs.Args()) != 1 || (action != "start" && action != "restart" && action != "reload")) {
		return fmt.Errorf("ctl %s: -inline goes with start, restart or reload of exactly one role", action)
	}
	if *configStdin {
		if err := h.configFromStdin(action, fs.Args(), stdin); err != nil {
			return err
		}
	}
	if action == "purge" {
		err := h.Purge()
		if errors.Is(err, ErrRolesLeft) {
			// Another deployment still uses the binary: keep the layout.
			fmt.Fprintln(stdout, err)
			return nil
		}
		return err
	}
	if *inline {
		var release func(*os.File)
		if f, ok := stdout.(*os.File); ok && f == os.Stdout {
			release = ReleaseStdio
		}
		return h.Inline(ctx, action, fs.Args()[0], *wait, stdout, release)
	}
	for _, name := range fs.Args() {
		if action == "wait-backend" {
			if err := h.WaitBackendUp(ctx, name, *backend, max(*wait, time.Second)); err != nil {
				return err
			}
			continue
		}
		if err := h.ctl(ctx, action, name, *wait); err != nil {
			return err
		}
	}
	return nil
}

// configFromStdin writes stdin as the config of the one role named.
func (h Host) configFromStdin(action string, names []string, stdin io.Reader) error {
	switch {
	case len(names) != 1:
		return fmt.Errorf("ctl %s: -config-stdin takes exactly one role; got %d", action, len(names))
	case action != "start" && action != "restart" && action != "reload":
		return fmt.Errorf("ctl %s: -config-stdin goes with start, restart or reload", action)
	case stdin == nil:
		return fmt.Errorf("ctl %s: -config-stdin: no stdin", action)
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("ctl %s: read config: %w", action, err)
	}
	return h.WriteConfig(names[0], data)
}

func (h Host) ctl(ctx context.Context, action, name string, wait time.Duration) error {
	var err error
	switch action {
	case "start":
		err = h.Start(ctx, name)
	case "stop":
		err = h.Stop(ctx, name)
	case "restart":
		err = h.Restart(ctx, name)
	case "reload":
		err = h.Reload(ctx, name)
	case "remove":
		return h.Remove(ctx, name)
	case "wait":
		return h.WaitHealthy(ctx, name, max(wait, time.Second))
	default:
		return fmt.Errorf("unknown ctl action %q", action)
	}
	if err != nil || wait == 0 || action == "stop" {
		return err
	}
	return h.WaitHealthy(ctx, name, wait)
}

// ErrRolesLeft means Purge found roles still deployed and removed nothing.
var ErrRolesLeft = errors.New("supervise: roles still deployed")

// Purge removes stickyform's remote layout once no role is configured:
// the binary, configs, state, logs and pid files. Directories that are
// mount points (as in the lab) are emptied instead of removed.
func (h Host) Purge() error {
	h = h.withDefaults()
	if names := h.roleNames(); len(names) > 0 {
		return fmt.Errorf("purge: %w: %v", ErrRolesLeft, names)
	}
	dirs := []string{h.ConfigDir, DefaultStateDir, h.LogDir, h.RunDir, filepath.Dir(filepath.Dir(h.Binary))}
	for _, d := range dirs {
		if err := removeDir(d); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
	}
	return nil
}

func removeDir(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || !errors.Is(err, syscall.EBUSY) {
		return err
	}
	entries, rerr := os.ReadDir(dir)
	if rerr != nil {
		return rerr
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
