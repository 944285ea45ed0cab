package supervise

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/stickyform/stickyform/agents/proxy"
)

// WaitBackendUp waits until the proxy role reports backend url as up on
// its admin /status page: after an app restarts, the proxy must take it
// back before the next app of a rolling restart goes down.
func (h Host) WaitBackendUp(ctx context.Context, name, url string, timeout time.Duration) error {
	h = h.withDefaults()
	b, err := os.ReadFile(h.ConfigFile(name))
	if err != nil {
		return fmt.Errorf("wait for backend %s on %s: %w", url, name, err)
	}
	var cfg struct {
		AdminListen string `json:"admin_listen"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.AdminListen == "" || cfg.AdminListen == "off" {
		return fmt.Errorf("wait for backend %s on %s: no admin listener in its config", url, name)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	statusURL := "http://" + dialable(cfg.AdminListen) + "/status"
	for {
		// A proxy that does not answer, or does not route to the backend,
		// has nothing to wait for: only "listed but down" is worth waiting.
		up, listed, err := backendUp(ctx, statusURL, url)
		if err != nil {
			return fmt.Errorf("wait for backend %s on %s: %w", url, name, err)
		}
		if up || !listed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for backend %s on %s: still reported down after %s", url, name, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func backendUp(ctx context.Context, statusURL, backend string) (up, listed bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statusURL, nil)
	if err != nil {
		return false, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, false, err
	}
	defer resp.Body.Close()
	var st proxy.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return false, false, fmt.Errorf("read %s: %w", statusURL, err)
	}
	for _, b := range st.Backends {
		if strings.TrimSuffix(b.URL, "/") == strings.TrimSuffix(backend, "/") {
			return b.Up, true, nil
		}
	}
	return false, false, nil
}
