package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/stickyform/stickyform/agents/app/sessions"
)

// shutdownGrace bounds how long in-flight requests may take to finish, and
// then how long the flush of unsaved sessions may take, after ctx ends.
const shutdownGrace = 15 * time.Second

// Run serves cfg (already defaulted and validated, see Main) on ln until
// ctx ends, then stops accepting, lets in-flight requests finish and
// writes every unsaved session before it returns.
func Run(ctx context.Context, cfg Config, ln net.Listener, log *slog.Logger) error {
	specs, err := sessions.ParseNodes(cfg.Nodes, cfg.FailoverNodes)
	if err != nil {
		return fmt.Errorf("app agent: %w", err)
	}
	mgr, err := sessions.New(sessions.Options{
		Nodes: specs, Sticky: cfg.Mode == "sticky", Locking: cfg.Locking,
		Timeout: time.Duration(cfg.Timeout), BackupAsync: cfg.BackupAsync, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("app agent: %w", err)
	}
	s, err := newServer(cfg, mgr, log)
	if err != nil {
		return err
	}
	// The manager outlives ctx: node health must still be watched while
	// the last requests finish and dirty sessions are flushed.
	mgr.Start(context.WithoutCancel(ctx))
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running at shutdown", "err", err)
	}
	fctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel2()
	if err := mgr.Close(fctx); err != nil {
		log.Warn("flushing sessions at shutdown", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("app agent: serve: %w", serveErr)
	}
	log.Info("stopped")
	return nil
}
