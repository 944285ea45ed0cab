package proxy

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Bodies up to these sizes are held in memory (so a request can be replayed
// on another backend, and a response goes out in one write); larger ones and
// chunked ones are streamed.
const (
	maxBufferedRequest  = 64 << 10
	maxBufferedResponse = 64 << 10
)

// exchange is one client request on its way through the proxy.
type exchange struct {
	p   *Proxy
	st  *state
	ctx *fasthttp.RequestCtx
	now time.Time

	head     []byte    // request line and headers sent upstream
	body     []byte    // buffered request body, or nil
	stream   io.Reader // streamed request body, or nil
	chunked  bool
	started  bool // a byte of the streamed body has been consumed
	idem     bool // method is idempotent (nginx's proxy_next_upstream rule)
	backend  *backend
	upstream time.Duration
}

// errNotRetryable marks failures after which the request cannot be resent.
var errNotRetryable = errors.New("request body already sent")

// errClientBody marks a failure to read the client's body: the client's
// fault, not the backend's.
var errClientBody = errors.New("read client body")

// outcome of one attempt on one backend.
type outcome int

const (
	done       outcome = iota // response is in ctx.Response
	nextPeer                  // failed before the request could matter: try another backend
	failed                    // failed and must not be retried
	failedIdem                // failed after sending: retry only idempotent requests
)

// replayable reports whether the request can be sent again.
func (x *exchange) replayable() bool { return x.stream == nil || !x.started }

// try sends the request to b once (plus once more on a fresh connection
// when a pooled one turns out dead) and reads the response header.
func (x *exchange) try(b *backend) (outcome, int) {
	cfg := &x.st.cfg
	// A streamed body cannot be replayed once it starts, and a dead pooled
	// connection shows itself only after the first writes: streamed
	// requests always get a fresh connection (a connect is cheap next to a
	// body of more than 64 KiB).
	fresh := x.stream != nil
	// Only requests that can be replayed on another backend may have
	// their wait cut short when b goes down (with no_fallback they could
	// only fail sooner).
	abortable := x.idem && x.stream == nil && !cfg.Sticky.NoFallback
	for {
		t0 := time.Now()
		var c *upConn
		var err error
		if fresh {
			c, err = b.dial(time.Duration(cfg.ConnectTimeout))
		} else {
			c, err = b.get(time.Duration(cfg.ConnectTimeout))
		}
		if err != nil {
			x.connectFailed(b)
			return nextPeer, fasthttp.StatusBadGateway
		}
		// One deadline covers sending and the wait for the response
		// header: one runtime timer update per request, not three.
		deadline := t0.Add(time.Duration(cfg.ReadTimeout))
		_ = c.Conn.SetDeadline(deadline)
		if abortable {
			c.wait.Store(waitArmed)
			// Armed first, then checked: a backend marked down after
			// this check finds the request armed and aborts it; one
			// marked down since it was picked is left now.
			if !b.available(x.now) && x.st.otherAvailable(b) {
				c.close()
				return nextPeer, fasthttp.StatusBadGateway
			}
		}
		err = x.send(c)
		if err == nil {
			err = readResponseHeader(c, &x.ctx.Response.Header)
		}
		if abortable && c.wait.Swap(waitIdle) == waitAborted {
			// b went down while this request waited for its answer:
			// retry it elsewhere now rather than at the read timeout.
			c.abandon()
			x.ctx.Response.Header.Reset()
			return nextPeer, fasthttp.StatusGatewayTimeout
		}
		if errors.Is(err, errClientBody) {
			c.close()
			return failed, fasthttp.StatusRequestTimeout
		}
		if err != nil {
			c.abandon()
			timedOut := isTimeout(err) || !time.Now().Before(deadline)
			if c.reused && c.nread == 0 && !timedOut && x.replayable() {
				// A keep-alive connection the backend had already closed:
				// not the request's fault nor the backend's.
				b.closeIdle()
				b.retries.Add(1)
				fresh = true
				continue
			}
			return x.failure(b, err, timedOut)
		}
		x.upstream = time.Since(t0)
		if err := x.readBody(c); err != nil {
			x.ctx.Response.Reset()
			return x.failure(b, err, isTimeout(err))
		}
		b.succeed()
		return done, 0
	}
}

// connectFailed accounts a failed connect: a passive failure and, with
// active checks on, a failed check (a silent host then is down after fall
// connect timeouts of live traffic, not only of the checker's probes).
func (x *exchange) connectFailed(b *backend) {
	x.fail(b)
	if hc := &x.st.cfg.HealthCheck; hc.Interval > 0 && b.checkFailed(hc.Fall) {
		n := x.st.wentDown(b)
		x.p.log.Warn("backend down: connect failures", "backend", b.url, "aborted_waits", n)
	}
}

// fail accounts a passive failure; when it marks b down, the requests
// waiting on b are retried elsewhere.
func (x *exchange) fail(b *backend) {
	b.failures.Add(1)
	if b.fail(x.now, x.st.cfg.MaxFails, time.Duration(x.st.cfg.FailTimeout)) {
		x.st.wentDown(b)
	}
}

// failure accounts a failed attempt and says whether it may be retried.
func (x *exchange) failure(b *backend, err error, timedOut bool) (outcome, int) {
	x.fail(b)
	status := fasthttp.StatusBadGateway
	if timedOut {
		status = fasthttp.StatusGatewayTimeout
	}
	if !x.replayable() || errors.Is(err, errNotRetryable) {
		return failed, status
	}
	return failedIdem, status
}

// send writes the request head and body to c.
func (x *exchange) send(c *upConn) error {
	if _, err := c.bw.Write(x.head); err != nil {
		return err
	}
	if x.body != nil {
		if _, err := c.bw.Write(x.body); err != nil {
			return err
		}
	}
	if x.stream != nil {
		if err := x.sendStream(c); err != nil {
			return err
		}
	}
	return c.bw.Flush()
}

// readResponseHeader reads the final response header, skipping interim 1xx
// answers (100 Continue: the proxy already told its client to go on).
func readResponseHeader(c *upConn, h *fasthttp.ResponseHeader) error {
	for n := 0; n < 10; n++ {
		if err := h.Read(c.br); err != nil {
			return err
		}
		if s := h.StatusCode(); s >= 200 || s == fasthttp.StatusSwitchingProtocols {
			return nil
		}
	}
	return errors.New("too many interim responses")
}

// readBody reads a small response body into ctx.Response, or arranges for a
// large or chunked one to be streamed to the client, returning c to its pool
// once the body has been read entirely.
func (x *exchange) readBody(c *upConn) error {
	resp := &x.ctx.Response
	h := &resp.Header
	upClose := h.ConnectionClose()
	h.ResetConnectionClose()
	stripResponseHopByHop(h)
	s := h.StatusCode()
	cl := h.ContentLength()
	if x.ctx.IsHead() || s < 200 || s == 204 || s == 304 {
		resp.SkipBody = x.ctx.IsHead()
		release(c, upClose || cl == -2)
		return nil
	}
	if cl >= 0 && cl <= maxBufferedResponse {
		if err := resp.ReadBody(c.br, 0); err != nil {
			c.close()
			return err
		}
		release(c, upClose)
		return nil
	}
	up := fasthttp.AcquireResponse()
	up.StreamBody = true
	up.Header.SetContentLength(cl)
	for k := range h.Trailers() {
		_ = up.Header.AddTrailerBytes(k)
	}
	if err := up.ReadBody(c.br, 0); err != nil {
		fasthttp.ReleaseResponse(up)
		c.close()
		return err
	}
	if cl == -2 {
		cl = -1 // read to close upstream, chunked to the client
		upClose = true
	}
	resp.SetBodyStream(&upstreamBody{c: c, up: up, client: resp, timeout: time.Duration(x.st.cfg.ReadTimeout), close: upClose}, cl)
	return nil
}

// release returns c to its pool, or closes it when it cannot be reused.
func release(c *upConn, closeIt bool) {
	if closeIt {
		c.close()
		return
	}
	c.b.put(c)
}

// isTimeout reports a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// idempotent reports methods nginx's proxy_next_upstream may resend.
func idempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE":
		return true
	}
	return false
}
