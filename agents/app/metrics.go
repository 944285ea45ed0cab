package app

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stickyform/stickyform/agents/app/sessions"
)

// metrics is the agent's Prometheus registry, private to one server (no
// global registry: several agents may run in one test process).
type metrics struct {
	reg     *prometheus.Registry
	latency *prometheus.HistogramVec
}

func newMetrics(mgr *sessions.Manager) *metrics {
	reg := prometheus.NewRegistry()
	st := mgr.Stats()
	counter := func(name, help string, f func() int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "stickyform_app", Name: name, Help: help,
		}, func() float64 { return float64(f()) }))
	}
	counter("sessions_created_total", "Sessions created.", st.Created.Load)
	counter("sessions_loaded_total", "Sessions loaded from a cache node.", st.Loaded.Load)
	counter("sessions_relocated_total", "Sessions moved to another node (new id) because theirs was down.", st.Relocated.Load)
	counter("sessions_reloaded_total", "Local session copies reloaded from their node after this app lost contact with it.", st.Reloaded.Load)
	counter("cache_node_down_total", "Times a cache node was marked down (it stopped answering).", st.NodeDowns.Load)
	counter("sessions_expired_total", "Local session copies dropped after the timeout.", st.Expired.Load)
	counter("sessions_invalidated_total", "Sessions ended by the client.", st.Invalidated.Load)
	counter("cache_ops_total", "Operations sent to cache nodes.", st.CacheOps.Load)
	counter("cache_errors_total", "Cache operations that failed on a broken connection.", st.CacheErrors.Load)
	counter("cache_cas_retries_total", "Writes retried after a concurrent change (merged).", st.CASRetries.Load)
	counter("cache_lock_timeouts_total", "Session locks not obtained in time (locking all).", st.LockTimeouts.Load)
	counter("session_writes_total", "Session writes (sticky mode).", st.Writes.Load)
	counter("session_touches_total", "Expiry refreshes of unchanged sessions (sticky).", st.Touches.Load)
	counter("session_write_failures_total", "Changed sessions not stored before the response, e.g. no node up (kept in memory, retried; sticky).", st.WriteFailures.Load)
	counter("write_queue_full_total", "Writes done by the request because the queue was full.", st.QueueFull.Load)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "stickyform_app", Name: "sessions_active", Help: "Sessions held in memory (sticky mode).",
	}, func() float64 { return float64(mgr.Active()) }))
	for node := range mgr.NodesUp() {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "stickyform_app", Name: "cache_node_up", Help: "Cached health of a cache node (1 up).",
			ConstLabels: prometheus.Labels{"node": node},
		}, func() float64 {
			if mgr.NodesUp()[node] {
				return 1
			}
			return 0
		}))
	}
	m := &metrics{reg: reg, latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "stickyform_app", Name: "request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})}
	reg.MustRegister(m.latency)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// instrument times every request, labelled by the route pattern the mux
// matched (a fixed set, so the label cannot grow without bound).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "other"
		}
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
