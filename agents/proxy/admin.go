package proxy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stickyform/stickyform/internal/version"
)

// serveAdmin starts the admin listener: GET /health, /status (JSON) and
// /metrics (Prometheus). It is loopback by default: it tells who is down.
func (p *Proxy) serveAdmin(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	srv := &http.Server{Handler: p.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

func (p *Proxy) adminHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{p})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.Status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	return mux
}

// Status is the proxy's state as the status page shows it.
type Status struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Uptime   string          `json:"uptime"`
	Clients  int32           `json:"client_connections"`
	Backends []BackendStatus `json:"backends"`
}

// BackendStatus is one backend's health and load.
type BackendStatus struct {
	URL         string `json:"url"`
	Route       string `json:"route"` // the sticky cookie value naming it
	Up          bool   `json:"up"`
	ActiveCheck string `json:"active_check"` // "up", "down" or "off"
	Active      int64  `json:"active_requests"`
	Conns       int64  `json:"connections"`
	Idle        int    `json:"idle_connections"`
	Requests    uint64 `json:"requests"`
	Failures    uint64 `json:"failures"`
	Retries     uint64 `json:"retries"`
	// Aborted counts requests whose wait for this backend was cut short
	// when it went down (they were retried on another backend).
	Aborted uint64 `json:"aborted"`
}

// Status reports the current state.
func (p *Proxy) Status() Status {
	st := p.state.Load()
	s := Status{Name: st.cfg.Name, Version: version.Version, Uptime: time.Since(p.started).Round(time.Second).String(), Clients: p.srv.GetOpenConnectionsCount() + p.loopClients.Load()}
	now := time.Now()
	for i, b := range st.backends {
		ac := "off"
		if st.cfg.HealthCheck.Interval > 0 {
			ac = "up"
			if b.activeDown.Load() {
				ac = "down"
			}
		}
		s.Backends = append(s.Backends, BackendStatus{
			URL: b.url, Route: st.sticky.values[i], Up: b.available(now), ActiveCheck: ac,
			Active: b.active.Load(), Conns: b.conns.Load(), Idle: b.idleCount() + int(b.loopIdle.Load()),
			Requests: b.requests.Load(), Failures: b.failures.Load(), Retries: b.retries.Load(),
			Aborted: b.aborted.Load(),
		})
	}
	return s
}

// collector exposes the proxy's counters at scrape time, so serving a
// request costs atomic adds only.
type collector struct{ p *Proxy }

var (
	descUp       = prometheus.NewDesc("stickyform_proxy_backend_up", "1 when the backend takes new requests.", []string{"backend"}, nil)
	descRequests = prometheus.NewDesc("stickyform_proxy_backend_requests_total", "Requests sent to the backend.", []string{"backend"}, nil)
	descFailures = prometheus.NewDesc("stickyform_proxy_backend_failures_total", "Failed attempts (connect errors, timeouts, broken responses).", []string{"backend"}, nil)
	descRetries  = prometheus.NewDesc("stickyform_proxy_backend_retries_total", "Attempts retried after this backend failed or a pooled connection was dead.", []string{"backend"}, nil)
	descAborted  = prometheus.NewDesc("stickyform_proxy_backend_aborted_total", "Waits for a response cut short when the backend went down, and retried elsewhere.", []string{"backend"}, nil)
	descActive   = prometheus.NewDesc("stickyform_proxy_backend_active_requests", "Requests in flight.", []string{"backend"}, nil)
	descConns    = prometheus.NewDesc("stickyform_proxy_backend_connections", "Open upstream connections.", []string{"backend"}, nil)
	descClients  = prometheus.NewDesc("stickyform_proxy_client_connections", "Open client connections.", nil, nil)
)

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descRequests, descFailures, descRetries, descAborted, descActive, descConns, descClients} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.p.Status()
	ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(s.Clients))
	for _, b := range s.Backends {
		up := 0.0
		if b.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, b.URL)
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(b.Requests), b.URL)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(b.Failures), b.URL)
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(b.Retries), b.URL)
		ch <- prometheus.MustNewConstMetric(descAborted, prometheus.CounterValue, float64(b.Aborted), b.URL)
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(b.Active), b.URL)
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(b.Conns), b.URL)
	}
}
