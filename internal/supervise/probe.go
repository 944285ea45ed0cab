package supervise

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// Probe checks that the role answers like a healthy agent: a cache
// answers `version`, an app answers GET /health with 200, a proxy accepts
// connections on its port and answers GET /health on its admin listener.
func Probe(ctx context.Context, name, configFile string) error {
	kind, err := Kind(name)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(configFile)
	if err != nil {
		return err
	}
	var cfg struct {
		Listen      string `json:"listen"`
		AdminListen string `json:"admin_listen"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("read %s: %w", configFile, err)
	}
	switch kind {
	case "cache":
		return probeMemcache(ctx, dialable(cfg.Listen))
	case "app":
		return probeHTTP(ctx, dialable(cfg.Listen))
	default:
		if err := probeTCP(ctx, dialable(cfg.Listen)); err != nil {
			return err
		}
		if cfg.AdminListen == "" || cfg.AdminListen == "off" {
			return nil
		}
		return probeHTTP(ctx, dialable(cfg.AdminListen))
	}
}

// dialable turns a listen address into one we can dial: a wildcard host
// becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func probeTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func probeMemcache(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("memcache version on %s: %w", addr, err)
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("memcache version on %s: got %q", addr, strings.TrimSpace(line))
	}
	return nil
}

func probeHTTP(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	if err != nil {
		return err
	}
	// A fresh transport per probe: no pooled connection hides a restart.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET http://%s/health: %s", addr, resp.Status)
	}
	return nil
}
