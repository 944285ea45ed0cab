package proxy

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// checker runs active health checks for one state: each backend is asked
// for HealthCheck.Path every Interval; Fall consecutive failures mark it
// down, Rise consecutive successes up again.
type checker struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startChecker starts checks for st's backends; with a zero interval it
// starts nothing and every backend counts as up for active checks.
func startChecker(st *state, log *slog.Logger) *checker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{cancel: cancel}
	hc := st.cfg.HealthCheck
	for _, b := range st.backends {
		if hc.Interval <= 0 {
			b.activeDown.Store(false)
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.loop(ctx, b, hc, log)
		}()
	}
	return c
}

func (c *checker) stop() {
	c.cancel()
	c.wg.Wait()
}

func (c *checker) loop(ctx context.Context, b *backend, hc HealthCheck, log *slog.Logger) {
	t := time.NewTicker(time.Duration(hc.Interval))
	defer t.Stop()
	ups, downs := 0, 0
	for {
		err := probe(ctx, b.dialTo, hc.Path, time.Duration(hc.Timeout))
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			ups, downs = ups+1, 0
			if ups >= hc.Rise && b.activeDown.Swap(false) {
				log.Info("backend up", "backend", b.url)
			}
		} else {
			ups, downs = 0, downs+1
			if downs >= hc.Fall && !b.activeDown.Swap(true) {
				log.Warn("backend down", "backend", b.url, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe sends one GET for path to addr and wants a 2xx or 3xx answer
// within timeout.
func probe(ctx context.Context, addr, path string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: stickyform-proxy-check\r\nConnection: close\r\n\r\n", path, addr); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("health check %s%s: status %d", addr, path, resp.StatusCode)
	}
	return nil
}
