// Package proxy is the sticky reverse proxy agent: nginx with
// nginx-sticky-module-ng's cookie semantics, passive and active health
// checks, retries that lose no request when a backend dies, and a forwarding
// path built on fasthttp with pooled upstream connections.
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
	"strings"
	"syscall"
	"time"
)

// drainTimeout bounds how long SIGTERM waits for requests in flight.
const drainTimeout = 10 * time.Second

type backendFlags []string

func (b *backendFlags) String() string     { return strings.Join(*b, ",") }
func (b *backendFlags) Set(v string) error { *b = append(*b, v); return nil }

type durFlag struct{ d *Duration }

func (f durFlag) String() string {
	if f.d == nil {
		return ""
	}
	return time.Duration(*f.d).String()
}

func (f durFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	*f.d = Duration(d)
	return err
}

// flagSet declares the agent's flags, writing into c.
func flagSet(c *Config, backends *backendFlags, configPath *string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stickyform agent proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(configPath, "config", "", "JSON config `file` (flags given explicitly override it; re-read on SIGHUP)")
	fs.StringVar(&c.Name, "name", "", "proxy name for logs")
	fs.StringVar(&c.Listen, "listen", "", "client listen `address`")
	fs.Var(backends, "backend", "backend `URL` (repeat for each, order matters for hash=index)")
	fs.StringVar(&c.AdminListen, "admin-listen", "", "admin `address` for /health, /status, /metrics (default "+DefaultAdminListen+"; off disables)")
	fs.StringVar(&c.Balance, "balance", "", "new sessions: round-robin or least-conn")
	fs.StringVar(&c.AccessLog, "access-log", "", "access log `file` (- for stderr)")
	fs.StringVar(&c.Sticky.Name, "sticky-name", "", "sticky cookie name (default route)")
	fs.StringVar(&c.Sticky.Hash, "sticky-hash", "", "md5, sha1, index or hmac (default md5)")
	fs.StringVar(&c.Sticky.HMACKey, "hmac-key", "", "key for -sticky-hash hmac")
	fs.Var(durFlag{&c.Sticky.Expires}, "sticky-expires", "cookie lifetime (default: session cookie)")
	fs.StringVar(&c.Sticky.Domain, "sticky-domain", "", "cookie Domain")
	fs.StringVar(&c.Sticky.Path, "sticky-path", "", "cookie Path (default /)")
	fs.BoolVar(&c.Sticky.Secure, "sticky-secure", false, "cookie Secure")
	fs.BoolVar(&c.Sticky.HTTPOnly, "sticky-httponly", false, "cookie HttpOnly")
	fs.StringVar(&c.Sticky.SameSite, "sticky-samesite", "", "cookie SameSite: strict, lax or none")
	fs.BoolVar(&c.Sticky.NoFallback, "no-fallback", false, "answer 502 when the cookie's backend is down")
	fs.StringVar(&c.HealthCheck.Path, "health-path", "", "active check path (default /health)")
	fs.Var(durFlag{&c.HealthCheck.Interval}, "health-interval", "active check interval (0: off)")
	fs.Var(durFlag{&c.HealthCheck.Timeout}, "health-timeout", "active check timeout (default 1s)")
	fs.IntVar(&c.HealthCheck.Fall, "health-fall", 0, "failures before down (default 3)")
	fs.IntVar(&c.HealthCheck.Rise, "health-rise", 0, "successes before up (default 2)")
	fs.IntVar(&c.MaxFails, "max-fails", 0, "passive: failures within -fail-timeout that mark a backend down (default 1)")
	fs.Var(durFlag{&c.FailTimeout}, "fail-timeout", "passive window and down time (default 10s)")
	fs.Var(durFlag{&c.ConnectTimeout}, "connect-timeout", "backend connect timeout (default 1s)")
	fs.Var(durFlag{&c.ReadTimeout}, "read-timeout", "backend response timeout per read (default 10s)")
	fs.IntVar(&c.KeepAlive, "keepalive", 0, "idle connections kept per backend (default 128)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "certificate file: serve HTTPS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "key file for -tls-cert")
	return fs
}

// parseConfig parses args and merges them over the -config file: only flags
// given explicitly override it.
func parseConfig(args []string, stderr io.Writer) (Config, string, error) {
	var fromFlags Config
	var backends backendFlags
	var path string
	fs := flagSet(&fromFlags, &backends, &path, stderr)
	if err := fs.Parse(args); err != nil {
		return Config{}, "", err
	}
	if fs.NArg() > 0 {
		return Config{}, "", fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg, err := mergeFlags(fs, fromFlags, backends, path)
	return cfg, path, err
}

func mergeFlags(fs *flag.FlagSet, fromFlags Config, backends backendFlags, path string) (Config, error) {
	var cfg Config
	if path != "" {
		var err error
		if cfg, err = LoadConfig(path); err != nil {
			return Config{}, err
		}
	}
	// Re-parsing into cfg applies exactly the flags the user set.
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "backend" {
			cfg.Backends = nil
			for _, u := range backends {
				cfg.Backends = append(cfg.Backends, Backend{URL: u, Weight: 1})
			}
			return
		}
		if f.Name == "config" {
			return
		}
		var ignored backendFlags
		var ignoredPath string
		dst := flagSet(&cfg, &ignored, &ignoredPath, io.Discard)
		_ = dst.Set(f.Name, f.Value.String())
	})
	_ = fromFlags
	return cfg, nil
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
