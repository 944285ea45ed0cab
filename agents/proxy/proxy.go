package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Proxy is the sticky reverse proxy. Its configuration lives in an atomically
// swapped state, so Reload never blocks or drops a request.
type Proxy struct {
	state  atomic.Pointer[state]
	log    *slog.Logger
	access atomic.Pointer[accessLog]
	srv    *fasthttp.Server

	// heads recycles request head buffers; bufs the buffers that stream
	// bodies, so a 1 GiB body costs one 32 KiB buffer, not 1 GiB of heap.
	heads, bufs sync.Pool

	// handoff passes connections from the event loops to srv;
	// loopClients counts the client connections the loops serve.
	handoff     atomic.Pointer[handoffListener]
	loopClients atomic.Int32

	mu      sync.Mutex // serialises Reload
	checker *checker
	started time.Time
}

// New validates cfg (after defaults) and prepares a proxy for it.
func New(cfg Config, log *slog.Logger) (*Proxy, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("proxy config: %w", err)
	}
	st, err := newState(cfg, nil)
	if err != nil {
		return nil, err
	}
	al, err := openAccessLog(cfg.AccessLog)
	if err != nil {
		return nil, err
	}
	p := &Proxy{log: log, started: time.Now()}
	p.access.Store(al)
	p.heads.New = func() any { b := make([]byte, 0, 2048); return &b }
	p.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	p.state.Store(st)
	p.checker = startChecker(st, log)
	p.srv = &fasthttp.Server{
		Handler:                       p.handle,
		Name:                          "stickyform",
		ReadTimeout:                   time.Duration(cfg.ClientHeaderTimeout),
		IdleTimeout:                   time.Duration(cfg.IdleTimeout),
		StreamRequestBody:             true,
		MaxRequestBodySize:            maxBufferedRequest,
		DisableHeaderNamesNormalizing: true,
		NoDefaultServerHeader:         true,
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		DisablePreParseMultipartForm:  true,
		CloseOnShutdown:               true,
		ReadBufferSize:                8 << 10,
		Logger:                        fasthttpLogger{log},
	}
	return p, nil
}

// Reload validates cfg and swaps it in. Backends whose URL stays keep their
// pools and health; requests in flight finish on the state they started
// with. The listen address cannot change without a restart.
func (p *Proxy) Reload(cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("reload proxy config: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.state.Load()
	if cfg.Listen != old.cfg.Listen || cfg.AdminListen != old.cfg.AdminListen {
		p.log.Warn("reload: listen addresses change only on restart", "listen", old.cfg.Listen, "admin_listen", old.cfg.AdminListen)
		cfg.Listen, cfg.AdminListen = old.cfg.Listen, old.cfg.AdminListen
	}
	st, err := newState(cfg, old)
	if err != nil {
		return fmt.Errorf("reload proxy config: %w", err)
	}
	if cfg.AccessLog != old.cfg.AccessLog {
		al, err := openAccessLog(cfg.AccessLog)
		if err != nil {
			return fmt.Errorf("reload proxy config: %w", err)
		}
		p.access.Swap(al).close()
	}
	p.state.Store(st)
	p.checker.stop()
	p.checker = startChecker(st, p.log)
	p.dropRemoved(old, st)
	p.log.Info("proxy config reloaded", "backends", len(st.backends))
	return nil
}

// dropRemoved closes the idle connections of backends no longer configured.
func (p *Proxy) dropRemoved(old, cur *state) {
	keep := map[*backend]bool{}
	for _, b := range cur.backends {
		keep[b] = true
	}
	for _, b := range old.backends {
		if !keep[b] {
			b.mu.Lock()
			b.maxIdle = 0
			b.mu.Unlock()
			b.closeIdle()
		}
	}
}

// Serve accepts clients on ln until ctx ends, then stops accepting, lets
// requests in flight finish (up to drain) and returns.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	cfg := p.state.Load().cfg
	if tl, ok := ln.(*net.TCPListener); ok && cfg.TLSCert == "" {
		return p.serveLoops(ctx, tl, drain)
	}
	ln = rawListener{ln}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load tls certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	errc := make(chan error, 1)
	go func() { errc <- p.srv.Serve(ln) }()
	select {
	case err := <-errc:
		p.shutdownAux()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := p.srv.ShutdownWithContext(sctx)
	<-errc
	p.shutdownAux()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("drain: %w", err)
	}
	return nil
}

func (p *Proxy) shutdownAux() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checker.stop()
	p.access.Load().close()
	for _, b := range p.state.Load().backends {
		b.closeIdle()
	}
}

// fasthttpLogger routes fasthttp's internal messages to slog.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...))
}
