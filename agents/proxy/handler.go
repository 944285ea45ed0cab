package proxy

import (
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// handle serves one client request: route it (sticky cookie, else balance),
// forward it, retry where that is safe, and answer.
func (p *Proxy) handle(ctx *fasthttp.RequestCtx) {
	st := p.state.Load()
	if conflictingFraming(&ctx.Request.Header) {
		ctx.SetConnectionClose()
		ctx.Error("400 Bad Request: conflicting Content-Length and Transfer-Encoding\n", fasthttp.StatusBadRequest)
		p.logAccess(ctx, nil, 0)
		return
	}
	x := exchange{p: p, st: st, ctx: ctx, now: time.Now(), idem: idempotent(ctx.Method())}
	if isUpgrade(ctx) {
		p.upgrade(&x)
		return
	}
	hb := p.heads.Get().(*[]byte)
	defer func() { *hb = x.head[:0]; p.heads.Put(hb) }()
	bodyLen, err := x.prepareBody()
	if err != nil {
		ctx.SetConnectionClose()
		ctx.Error("408 Request Time-out\n", fasthttp.StatusRequestTimeout)
		p.logAccess(ctx, nil, 0)
		return
	}
	x.head = appendRequestHead((*hb)[:0], ctx, bodyLen, false)
	x.forward()
	p.logAccess(ctx, x.backend, x.upstream)
}

// prepareBody decides how the request body travels: small bodies are read
// now (replayable), large and chunked ones streamed. It returns the body
// length to announce upstream (-1 chunked, -2 none).
func (x *exchange) prepareBody() (int, error) {
	h := &x.ctx.Request.Header
	cl := h.ContentLength()
	switch {
	case cl == -1:
		x.chunked = true
		x.stream = &clientBody{ctx: x.ctx, r: x.ctx.RequestBodyStream(), timeout: time.Duration(x.st.cfg.ClientBodyTimeout)}
		return -1, nil
	case cl > maxBufferedRequest:
		x.stream = &clientBody{ctx: x.ctx, r: x.ctx.RequestBodyStream(), timeout: time.Duration(x.st.cfg.ClientBodyTimeout)}
		return cl, nil
	case cl > 0:
		x.body = make([]byte, cl)
		r := &clientBody{ctx: x.ctx, r: x.ctx.RequestBodyStream(), timeout: time.Duration(x.st.cfg.ClientBodyTimeout)}
		if _, err := io.ReadFull(r, x.body); err != nil {
			return 0, err
		}
		return cl, nil
	case cl == 0 && headerValue(h.RawHeaders(), "Content-Length") != nil:
		return 0, nil
	}
	return -2, nil
}

// forward runs the attempts: the sticky backend first when the cookie names
// a live one, else balanced picks, each backend at most once.
func (x *exchange) forward() {
	st, ctx := x.st, x.ctx
	opt := &st.cfg.Sticky
	want := st.sticky.lookup(ctx.Request.Header.Cookie(opt.Name))
	idx, assign := want, false
	if want >= 0 && !st.backends[want].available(x.now) {
		if opt.NoFallback {
			ctx.Error("502 Bad Gateway: sticky backend down\n", fasthttp.StatusBadGateway)
			return
		}
		idx = -1
	}
	if idx < 0 {
		idx, assign = st.pick(0, x.now), true
	}
	var tried uint64
	status := fasthttp.StatusBadGateway
	for idx >= 0 {
		tried |= 1 << idx
		b := st.backends[idx]
		x.backend = b
		b.requests.Add(1)
		b.active.Add(1)
		out, s := x.try(b)
		b.active.Add(-1)
		if out == done {
			if assign {
				// Like the module, replace a cookie of the same name.
				ctx.Response.Header.DelCookie(opt.Name)
				var buf [256]byte
				ctx.Response.Header.AddBytesV("Set-Cookie", st.sticky.setCookie(buf[:0], idx, x.now))
			}
			return
		}
		status = s
		if out == failed || (out == failedIdem && !x.idem) || (want >= 0 && opt.NoFallback) {
			break
		}
		b.retries.Add(1)
		idx, assign = st.pick(tried, x.now), true
	}
	ctx.Response.Reset()
	ctx.Error(fasthttp.StatusMessage(status)+"\n", status)
}
