package proxy

import (
	"bufio"
	"context"
	"errors"
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
			c.loop(ctx, st, b, hc, log)
		}()
	}
	return c
}

func (c *checker) stop() {
	c.cancel()
	c.wg.Wait()
}

func (c *checker) loop(ctx context.Context, st *state, b *backend, hc HealthCheck, log *slog.Logger) {
	interval, fast := time.Duration(hc.Interval), min(time.Duration(hc.Interval), time.Duration(hc.Timeout))
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		t0 := time.Now()
		err := probe(ctx, b.dialTo, hc.Path, time.Duration(hc.Timeout))
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			up, lifted := b.checkPassed(t0, hc.Rise)
			if up || lifted {
				log.Info("backend up", "backend", b.url, "passive_mark_lifted", lifted)
			}
		} else {
			c.failed(st, b, err, log)
		}
		// While the backend's status is changing, check again sooner (as
		// HAProxy's fastinter): a hung backend is down after about
		// fall×timeout, a restarted one up after about rise×timeout.
		next := interval
		if b.changing() {
			next = fast
		}
		t.Reset(max(next-time.Since(t0), 0))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// failed accounts a failed check. A failed connect also counts as a
// passive failure, as the same connect by live traffic would: with nginx's
// default max_fails of 1 a host that stopped answering (its link cut, no
// reset) is down at the first probe that cannot reach it, not after fall
// probe timeouts, and the requests waiting on it are retried at once.
func (c *checker) failed(st *state, b *backend, err error, log *slog.Logger) {
	now := time.Now()
	wasUp := b.available(now)
	passive := errors.Is(err, errProbeConnect) &&
		b.fail(now, st.cfg.MaxFails, time.Duration(st.cfg.FailTimeout))
	active := b.checkFailed(st.cfg.HealthCheck.Fall)
	if active || (passive && wasUp) {
		n := st.wentDown(b)
		log.Warn("backend down", "backend", b.url, "err", err, "aborted_waits", n)
	}
}

// errProbeConnect marks a probe that could not connect.
var errProbeConnect = errors.New("health check connect")

// probe sends one GET for path to addr and wants a 2xx or 3xx answer
// within timeout.
func probe(ctx context.Context, addr, path string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: %w", errProbeConnect, err)
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
