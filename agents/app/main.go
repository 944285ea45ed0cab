// Package app is the app agent: an HTTP app server whose sessions live in
// memcached-compatible nodes with memcached-session-manager's semantics
// (see package sessions). It serves a demo page and a JSON session API,
// a static docroot, and can front the user's own app on a local port,
// passing the session to it in request headers.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

// Main parses the agent's flags and runs it until ctx ends. Flags the user
// set override the -config file.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("agent", "app", "name", cfg.Name)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("app agent: listen: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "mode", cfg.Mode, "nodes", cfg.Nodes)
	return Run(ctx, cfg, ln, log)
}

// parseArgs reads the flags and the optional -config file into a checked
// Config with defaults applied.
func parseArgs(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("stickyform agent app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f Config
	var timeout time.Duration
	configPath := fs.String("config", "", "JSON config `file` (flags override it)")
	fs.StringVar(&f.Listen, "listen", "", "HTTP listen `addr`ess, e.g. 127.0.0.1:8080")
	fs.StringVar(&f.Name, "name", "", "server `name` shown on the demo page")
	fs.StringVar(&f.Nodes, "nodes", "", "memcached `nodes`: \"n1:host:port n2:host:port\"")
	fs.StringVar(&f.FailoverNodes, "failover-nodes", "", "`ids` of nodes used only when no other is up")
	fs.StringVar(&f.Mode, "mode", "", "sticky or non-sticky (default sticky)")
	fs.StringVar(&f.Cookie, "cookie", "", "session cookie `name` (default JSESSIONID)")
	fs.DurationVar(&timeout, "timeout", 0, "session idle timeout = memcached expiry (default 30m)")
	fs.StringVar(&f.Locking, "locking", "", "non-sticky concurrency: none, all or auto (default auto)")
	fs.StringVar(&f.Static, "static", "", "`dir`ectory to serve files from")
	fs.StringVar(&f.Upstream, "upstream", "", "the user's app `host:port` to forward other requests to")
	fs.BoolVar(&f.Secure, "secure", false, "always mark the session cookie Secure (behind a TLS proxy)")
	fs.BoolVar(&f.BackupAsync, "backup-async", false, "sticky mode: store changed sessions after the response (faster writes; a change\nnot yet stored is lost if the app dies right after answering)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("app agent: unexpected arguments %q", fs.Args())
	}
	var cfg Config
	if *configPath != "" {
		var err error
		if cfg, err = LoadConfig(*configPath); err != nil {
			return Config{}, err
		}
	}
	f.Timeout = Duration(timeout)
	fs.Visit(func(fl *flag.Flag) { override(&cfg, f, fl.Name) })
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("app agent: %w", err)
	}
	return cfg, nil
}

// override copies the flag named name from f into cfg.
func override(cfg *Config, f Config, name string) {
	switch name {
	case "listen":
		cfg.Listen = f.Listen
	case "name":
		cfg.Name = f.Name
	case "nodes":
		cfg.Nodes = f.Nodes
	case "failover-nodes":
		cfg.FailoverNodes = f.FailoverNodes
	case "mode":
		cfg.Mode = f.Mode
	case "cookie":
		cfg.Cookie = f.Cookie
	case "timeout":
		cfg.Timeout = f.Timeout
	case "locking":
		cfg.Locking = f.Locking
	case "static":
		cfg.Static = f.Static
	case "upstream":
		cfg.Upstream = f.Upstream
	case "secure":
		cfg.Secure = f.Secure
	case "backup-async":
		cfg.BackupAsync = f.BackupAsync
	}
}
