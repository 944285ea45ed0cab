package proxy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// accessLog writes nginx "combined" lines plus the backend and the upstream
// time. Lines are buffered and flushed every second, so logging costs a
// formatted append per request, not a write system call. A nil *accessLog
// logs nothing.
type accessLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	f    io.Closer
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

// openAccessLog opens path for appending; "" disables logging, "-" is stderr.
func openAccessLog(path string) (*accessLog, error) {
	if path == "" {
		return nil, nil
	}
	var w io.Writer = os.Stderr
	var c io.Closer = io.NopCloser(nil)
	if path != "-" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("open access log: %w", err)
		}
		w, c = f, f
	}
	a := &accessLog{w: bufio.NewWriterSize(w, 64<<10), f: c, stop: make(chan struct{}), done: make(chan struct{})}
	go a.flusher()
	return a, nil
}

func (a *accessLog) flusher() {
	defer close(a.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.mu.Lock()
			_ = a.w.Flush()
			a.mu.Unlock()
		case <-a.stop:
			return
		}
	}
}

func (a *accessLog) close() {
	if a == nil {
		return
	}
	close(a.stop)
	<-a.done
	a.mu.Lock()
	_ = a.w.Flush()
	_ = a.f.Close()
	a.mu.Unlock()
}

// logAccess appends one line for ctx's exchange with backend b.
func (p *Proxy) logAccess(ctx *fasthttp.RequestCtx, b *backend, upstream time.Duration) {
	a := p.access.Load()
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf = appendAccessLine(a.buf[:0], ctx, b, upstream, time.Now())
	_, _ = a.w.Write(a.buf)
}

// appendAccessLine renders:
// addr - - [time] "request" status bytes "referer" "agent" backend upstream_time
func appendAccessLine(dst []byte, ctx *fasthttp.RequestCtx, b *backend, upstream time.Duration, now time.Time) []byte {
	h := &ctx.Request.Header
	dst = appendIP(dst, ctx.RemoteIP())
	dst = append(dst, " - - ["...)
	dst = now.AppendFormat(dst, "02/Jan/2006:15:04:05 -0700")
	dst = append(dst, "] \""...)
	dst = append(dst, h.Method()...)
	dst = append(dst, ' ')
	dst = append(dst, h.RequestURI()...)
	dst = append(dst, ' ')
	dst = append(dst, h.Protocol()...)
	dst = append(dst, "\" "...)
	dst = strconv.AppendInt(dst, int64(ctx.Response.StatusCode()), 10)
	dst = append(dst, ' ')
	// A streamed body is not sent yet when the line is written: log its
	// announced length (Body would read the stream into memory).
	sent := max(ctx.Response.Header.ContentLength(), 0)
	if !ctx.Response.IsBodyStream() {
		sent = len(ctx.Response.Body())
	}
	dst = strconv.AppendInt(dst, int64(sent), 10)
	dst = append(dst, " \""...)
	dst = appendOrDash(dst, h.Referer())
	dst = append(dst, "\" \""...)
	dst = appendOrDash(dst, h.UserAgent())
	dst = append(dst, "\" "...)
	if b == nil {
		dst = append(dst, "- -\n"...)
		return dst
	}
	dst = append(dst, b.dialTo...)
	dst = append(dst, ' ')
	dst = strconv.AppendFloat(dst, upstream.Seconds(), 'f', 3, 64)
	return append(dst, '\n')
}

// appendOrDash appends v, or "-" when empty, as nginx logs empty variables.
func appendOrDash(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, '-')
	}
	return append(dst, v...)
}
