package cli

import (
	"fmt"

	"github.com/stickyform/stickyform/agents/app"
	"github.com/stickyform/stickyform/agents/cache"
	"github.com/stickyform/stickyform/agents/proxy"
	"github.com/stickyform/stickyform/internal/supervise"
)

// runAgent runs one agent role in the foreground until ctx ends. It is
// what apply starts on the hosts and what an operator runs to debug.
func runAgent(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, "Usage: stickyform agent cache|app|proxy [options]\n")
		if len(args) == 0 {
			return errReported
		}
		return nil
	}
	role, rest := args[0], args[1:]
	switch role {
	case "cache":
		return cache.Main(e.ctx, rest, e.stdout, e.stderr)
	case "app":
		return app.Main(e.ctx, rest, e.stdout, e.stderr)
	case "proxy":
		return proxy.Main(e.ctx, rest, e.stdout, e.stderr)
	case "supervise":
		return supervise.SuperviseMain(e.ctx, rest, e.stderr)
	case "status":
		return supervise.StatusMain(e.ctx, rest, e.stdout, e.stderr)
	case "ctl":
		return supervise.CtlMain(e.ctx, rest, e.stdin, e.stdout, e.stderr)
	}
	return fmt.Errorf("unknown agent role %q: want cache, app, proxy, supervise, status or ctl", role)
}
