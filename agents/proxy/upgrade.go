package proxy

import (
	"bytes"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// isUpgrade reports a protocol upgrade request (WebSocket).
func isUpgrade(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	raw := h.RawHeaders()
	return len(headerValue(raw, "Upgrade")) > 0 && listedIn(headerValue(raw, "Connection"), []byte("Upgrade"))
}

// upgrade tunnels an upgrade request: it connects to the backend (sticky
// routing and connect retries as for any request), then hands both
// connections to a byte pump once the client connection is hijacked. The
// backend's 101 answer and every frame after it pass through untouched.
func (p *Proxy) upgrade(x *exchange) {
	st, ctx := x.st, x.ctx
	want := st.sticky.lookup(ctx.Request.Header.Cookie(st.cfg.Sticky.Name))
	idx := want
	if idx >= 0 && !st.backends[idx].available(x.now) {
		idx = -1
	}
	if idx < 0 {
		if want >= 0 && st.cfg.Sticky.NoFallback {
			ctx.Error("502 Bad Gateway\n", fasthttp.StatusBadGateway)
			return
		}
		idx = st.pick(0, x.now)
	}
	var tried uint64
	var up net.Conn
	for idx >= 0 && up == nil {
		tried |= 1 << idx
		b := st.backends[idx]
		c, err := net.DialTimeout("tcp", b.dialTo, time.Duration(st.cfg.ConnectTimeout))
		if err != nil {
			x.connectFailed(b)
			idx = st.pick(tried, x.now)
			continue
		}
		x.backend, up = b, c
	}
	if up == nil {
		ctx.Error("502 Bad Gateway\n", fasthttp.StatusBadGateway)
		return
	}
	head := appendRequestHead(nil, ctx, -2, true)
	x.backend.requests.Add(1)
	ctx.Response.SetStatusCode(fasthttp.StatusSwitchingProtocols) // for the log; the backend answers
	p.logAccess(ctx, x.backend, 0)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(client net.Conn) {
		defer up.Close()
		_ = client.SetDeadline(time.Time{})
		if _, err := io.Copy(up, bytes.NewReader(head)); err != nil {
			return
		}
		pump(client, up)
	})
}

// pump copies bytes both ways until either side ends, then closes both.
func pump(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		} else {
			_ = dst.Close()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
}
