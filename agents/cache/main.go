// Package cache is stickyform's cache agent: a memcached-compatible server
// (text and binary protocols, LRU under a memory limit, expiry) or, with engine
// "memcached", a supervisor of the real memcached binary.
package cache

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/stickyform/stickyform/internal/version"
)

// Main parses the agent's flags and runs it until ctx ends. Flags the user
// sets override the -config file.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("agent", "cache", "name", cfg.Name)
	if cfg.Engine == EngineMemcached {
		return superviseMemcached(ctx, cfg, log, stderr)
	}
	return runBuiltin(ctx, cfg, log)
}

// parseFlags reads the flags, loads -config when given, and lets the flags
// the user set win over the file.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("stickyform agent cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var flagCfg Config
	var itemSize sizeFlag
	configFile := fs.String("config", "", "JSON config `file` (flags override it)")
	fs.StringVar(&flagCfg.Listen, "listen", "", "listen `address` (host:port)")
	fs.IntVar(&flagCfg.MemoryMB, "memory-mb", DefaultMemoryMB, "item memory limit in `MiB`")
	fs.Var(&itemSize, "max-item-size", "largest item, e.g. 1m or 512k (default 1m)")
	fs.IntVar(&flagCfg.MaxConns, "max-conns", DefaultMaxConns, "maximum simultaneous connections")
	fs.StringVar(&flagCfg.Engine, "engine", EngineBuiltin, "builtin or memcached")
	fs.StringVar(&flagCfg.Name, "name", "", "node name, for logs")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("parse cache flags: unexpected argument %q", fs.Arg(0))
	}
	flagCfg.MaxItemSize = int(itemSize)
	var cfg Config
	if *configFile != "" {
		c, err := LoadConfig(*configFile)
		if err != nil {
			return Config{}, err
		}
		cfg = c
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = flagCfg.Listen
		case "memory-mb":
			cfg.MemoryMB = flagCfg.MemoryMB
		case "max-item-size":
			cfg.MaxItemSize = flagCfg.MaxItemSize
		case "max-conns":
			cfg.MaxConns = flagCfg.MaxConns
		case "engine":
			cfg.Engine = flagCfg.Engine
		case "name":
			cfg.Name = flagCfg.Name
		}
	})
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("cache config: %w", err)
	}
	return cfg, nil
}

// sizeFlag is a byte count written like memcached's -I: 1048576, 512k, 1m.
type sizeFlag int

func (s *sizeFlag) String() string { return strconv.Itoa(int(*s)) }

func (s *sizeFlag) Set(v string) error {
	mult := 1
	switch {
	case strings.HasSuffix(strings.ToLower(v), "k"):
		mult, v = 1<<10, v[:len(v)-1]
	case strings.HasSuffix(strings.ToLower(v), "m"):
		mult, v = 1<<20, v[:len(v)-1]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a size such as 1048576, 512k or 1m")
	}
	*s = sizeFlag(n * mult)
	return nil
}

// runBuiltin serves the protocol on cfg.Listen until ctx ends.
func runBuiltin(ctx context.Context, cfg Config, log *slog.Logger) error {
	// The items live in an arena outside the Go heap (see store), so the
	// heap holds only the indexes (pointer-free, so cheap to collect) and
	// connection buffers: collect often to keep its garbage small.
	limit := int64(cfg.MemoryMB) << 20
	defer debug.SetGCPercent(debug.SetGCPercent(25))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cache agent: listen: %w", err)
	}
	// One event loop per CPU the process may use, and one processor more
	// for the runtime: the loops' threads spend most of their time in the
	// kernel, and a loop blocking in epoll_wait then never holds the only
	// free processor, which the runtime would otherwise keep taking away
	// and handing back (a thread wake-up each time).
	loops := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(loops + 1)
	srv := NewServer(ServerConfig{
		MemoryBytes: limit,
		Loops:       loops,
		MaxItemSize: cfg.MaxItemSize,
		MaxConns:    cfg.MaxConns,
		Ident:       version.Version,
		Logger:      log,
	})
	log.Info("cache listening", "addr", ln.Addr().String(), "memory_mb", cfg.MemoryMB)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-done
		log.Info("cache stopped")
		return nil
	case err := <-done:
		srv.Close()
		return fmt.Errorf("cache agent: serve: %w", err)
	}
}
