// Package proxy is the sticky reverse proxy agent: nginx with
// nginx-sticky-module-ng's cookie semantics, passive and active health
// checks, retries that lose no request when a backend dies, and two
// forwarding paths: event loops (one per processor, edge-triggered epoll,
// raw non-blocking system calls, their own keep-alive pools) for plain
// keep-alive requests, and fasthttp with pooled upstream connections for
// everything else (bodies, upgrades, streaming, TLS).
package proxy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// drainTimeout bounds how long SIGTERM waits for requests in flight.
const drainTimeout = 10 * time.Second

// flagSet declares the agent's flags. Parsing records a setter per flag
// given, so they can be applied over the -config file afterwards: a flag the
// user did not give never overrides the file.
type flagSet struct {
	fs       *flag.FlagSet
	path     string
	sets     []func(*Config)
	backends []string
}

func newFlagSet(stderr io.Writer) *flagSet {
	f := &flagSet{fs: flag.NewFlagSet("stickyform agent proxy", flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.path, "config", "", "JSON config `file` (flags given explicitly override it; re-read on SIGHUP)")
	f.fs.Func("backend", "backend `URL` (repeat for each; the order matters for -sticky-hash index)", func(v string) error {
		f.backends = append(f.backends, v)
		return nil
	})
	f.str("name", "proxy name for logs", func(c *Config) *string { return &c.Name })
	f.str("listen", "client listen `address`", func(c *Config) *string { return &c.Listen })
	f.str("admin-listen", "admin `address` for /health, /status, /metrics (default "+DefaultAdminListen+"; off disables)", func(c *Config) *string { return &c.AdminListen })
	f.str("balance", "new sessions: round-robin or least-conn", func(c *Config) *string { return &c.Balance })
	f.str("access-log", "access log `file` (- for stderr)", func(c *Config) *string { return &c.AccessLog })
	f.str("sticky-name", "sticky cookie name (default route)", func(c *Config) *string { return &c.Sticky.Name })
	f.str("sticky-hash", "md5, sha1, index or hmac (default md5)", func(c *Config) *string { return &c.Sticky.Hash })
	f.str("hmac-key", "key for -sticky-hash hmac", func(c *Config) *string { return &c.Sticky.HMACKey })
	f.str("sticky-domain", "cookie Domain", func(c *Config) *string { return &c.Sticky.Domain })
	f.str("sticky-path", "cookie Path (default /)", func(c *Config) *string { return &c.Sticky.Path })
	f.str("sticky-samesite", "cookie SameSite: strict, lax or none", func(c *Config) *string { return &c.Sticky.SameSite })
	f.str("health-path", "active check path (default /health)", func(c *Config) *string { return &c.HealthCheck.Path })
	f.str("tls-cert", "certificate `file`: serve HTTPS", func(c *Config) *string { return &c.TLSCert })
	f.str("tls-key", "key `file` for -tls-cert", func(c *Config) *string { return &c.TLSKey })
	f.boolean("sticky-secure", "cookie Secure", func(c *Config) *bool { return &c.Sticky.Secure })
	f.boolean("sticky-httponly", "cookie HttpOnly", func(c *Config) *bool { return &c.Sticky.HTTPOnly })
	f.boolean("no-fallback", "answer 502 when the cookie's backend is down", func(c *Config) *bool { return &c.Sticky.NoFallback })
	f.dur("sticky-expires", "cookie lifetime (default: session cookie)", func(c *Config) *Duration { return &c.Sticky.Expires })
	f.dur("health-interval", "active check interval (default 0: off)", func(c *Config) *Duration { return &c.HealthCheck.Interval })
	f.dur("health-timeout", "active check timeout (default 1s)", func(c *Config) *Duration { return &c.HealthCheck.Timeout })
	f.dur("fail-timeout", "passive window and down time (default 10s)", func(c *Config) *Duration { return &c.FailTimeout })
	f.dur("connect-timeout", "backend connect timeout (default 1s)", func(c *Config) *Duration { return &c.ConnectTimeout })
	f.dur("read-timeout", "wait for a backend's response and each body read (default 5s)", func(c *Config) *Duration { return &c.ReadTimeout })
	f.integer("health-fall", "failures before down (default 3)", func(c *Config) *int { return &c.HealthCheck.Fall })
	f.integer("health-rise", "successes before up (default 2)", func(c *Config) *int { return &c.HealthCheck.Rise })
	f.integer("max-fails", "passive: failures within -fail-timeout that mark a backend down (default 1)", func(c *Config) *int { return &c.MaxFails })
	f.integer("keepalive", "idle connections kept per backend (default 128)", func(c *Config) *int { return &c.KeepAlive })
	return f
}

func (f *flagSet) str(name, usage string, field func(*Config) *string) {
	f.fs.Func(name, usage, func(v string) error {
		f.sets = append(f.sets, func(c *Config) { *field(c) = v })
		return nil
	})
}

func (f *flagSet) boolean(name, usage string, field func(*Config) *bool) {
	f.fs.BoolFunc(name, usage, func(v string) error {
		b, err := strconv.ParseBool(v)
		f.sets = append(f.sets, func(c *Config) { *field(c) = b })
		return err
	})
}

func (f *flagSet) dur(name, usage string, field func(*Config) *Duration) {
	f.fs.Func(name, usage, func(v string) error {
		d, err := time.ParseDuration(v)
		f.sets = append(f.sets, func(c *Config) { *field(c) = Duration(d) })
		return err
	})
}

func (f *flagSet) integer(name, usage string, field func(*Config) *int) {
	f.fs.Func(name, usage, func(v string) error {
		n, err := strconv.Atoi(v)
		f.sets = append(f.sets, func(c *Config) { *field(c) = n })
		return err
	})
}

// parseConfig parses args and applies them over the -config file (if any).
func parseConfig(args []string, stderr io.Writer) (Config, string, error) {
	f := newFlagSet(stderr)
	if err := f.fs.Parse(args); err != nil {
		return Config{}, "", err
	}
	if f.fs.NArg() > 0 {
		return Config{}, "", fmt.Errorf("unexpected arguments: %q", f.fs.Args())
	}
	var cfg Config
	if f.path != "" {
		var err error
		if cfg, err = LoadConfig(f.path); err != nil {
			return Config{}, "", err
		}
	}
	for _, set := range f.sets {
		set(&cfg)
	}
	if len(f.backends) > 0 {
		cfg.Backends = nil
		for _, u := range f.backends {
			cfg.Backends = append(cfg.Backends, Backend{URL: u, Weight: 1})
		}
	}
	return cfg, f.path, nil
}

// Main runs the proxy agent until ctx ends or SIGTERM, re-reading -config
// on SIGHUP.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, path, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("agent proxy: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("agent", "proxy", "name", cfg.Name)
	p, err := New(cfg, log)
	if err != nil {
		return fmt.Errorf("agent proxy: %w", err)
	}
	st := p.state.Load()
	ln, err := net.Listen("tcp", st.cfg.Listen)
	if err != nil {
		return fmt.Errorf("agent proxy: listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	if st.cfg.AdminListen != "off" {
		admin, err := p.serveAdmin(st.cfg.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("agent proxy: %w", err)
		}
		defer admin.Close()
	}
	go p.reloadOnHUP(ctx, args, stderr)
	log.Info("proxy listening", "listen", ln.Addr().String(), "admin", st.cfg.AdminListen, "backends", len(st.backends), "config", path)
	return p.Serve(ctx, ln, drainTimeout)
}

// reloadOnHUP re-reads the configuration (file and flags, as at start) on
// every SIGHUP; a bad file is logged and the running config kept.
func (p *Proxy) reloadOnHUP(ctx context.Context, args []string, stderr io.Writer) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			cfg, _, err := parseConfig(args, io.Discard)
			if err == nil {
				err = p.Reload(cfg)
			}
			if err != nil {
				p.log.Error("reload failed; keeping the running config", "err", err)
			}
		}
	}
}
