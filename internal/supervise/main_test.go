package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestMain lets the test binary play stickyform on a host: invoked as
// `TEST agent supervise ...` it supervises, as `TEST agent app -config F`
// it is a tiny agent that serves GET /health on the config's listen
// address, and as `TEST agent crash` it exits 1 at once.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "agent" {
		os.Exit(helperAgent(os.Args[2], os.Args[3:]))
	}
	os.Exit(m.Run())
}

func helperAgent(role string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	switch role {
	case "supervise":
		if err := SuperviseMain(ctx, args, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "crash":
		return 1
	case "app":
		return helperApp(ctx, args)
	}
	return 2
}

func helperApp(ctx context.Context, args []string) int {
	if len(args) != 2 || args[0] != "-config" {
		return 2
	}
	b, err := os.ReadFile(args[1])
	if err != nil {
		return 3
	}
	var cfg struct{ Listen string }
	if err := json.Unmarshal(b, &cfg); err != nil {
		return 3
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return 4
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go func() { <-ctx.Done(); srv.Close() }()
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	go func() {
		for range hups {
			os.WriteFile(args[1]+".hup", nil, 0o600)
		}
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return 5
	}
	return 0
}
