package proxy

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// clientBody reads a request body from the client, renewing the client
// connection's read deadline before each read: a slow client gets
// ClientBodyTimeout per read, not for the whole (possibly huge) upload.
type clientBody struct {
	ctx     *fasthttp.RequestCtx
	r       io.Reader
	timeout time.Duration
}

func (b *clientBody) Read(p []byte) (int, error) {
	_ = b.ctx.Conn().SetReadDeadline(time.Now().Add(b.timeout))
	return b.r.Read(p)
}

// sendStream copies the streamed request body to c, chunk-encoding it (with
// the client's trailers) when the client sent it chunked.
func (x *exchange) sendStream(c *upConn) error {
	bp := x.p.bufs.Get().(*[]byte)
	defer x.p.bufs.Put(bp)
	buf := *bp
	for {
		n, rerr := x.stream.Read(buf)
		if n > 0 {
			x.started = true
			// A long upload gets ReadTimeout per write (and for the
			// response after the last one), not in total.
			_ = c.Conn.SetDeadline(time.Now().Add(time.Duration(x.st.cfg.ReadTimeout)))
			if err := x.writeChunk(c, buf[:n]); err != nil {
				return fmt.Errorf("%w: %w", errNotRetryable, err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			// The client failed: nothing to retry, nobody to answer.
			x.ctx.SetConnectionClose()
			return fmt.Errorf("%w: %w: %w", errNotRetryable, errClientBody, rerr)
		}
	}
	if !x.chunked {
		return nil
	}
	if _, err := c.bw.WriteString("0\r\n"); err != nil {
		return err
	}
	_, err := c.bw.Write(x.ctx.Request.Header.TrailerHeader())
	return err
}

func (x *exchange) writeChunk(c *upConn, p []byte) error {
	if x.chunked {
		var hdr [20]byte
		h := strconv.AppendInt(hdr[:0], int64(len(p)), 16)
		h = append(h, '\r', '\n')
		if _, err := c.bw.Write(h); err != nil {
			return err
		}
	}
	if _, err := c.bw.Write(p); err != nil {
		return err
	}
	if x.chunked {
		_, err := c.bw.WriteString("\r\n")
		return err
	}
	return nil
}

// upstreamBody streams a large or chunked response body from a backend to
// the client. The server closes it after writing; the connection goes back
// to the pool only when the body was read to its end.
type upstreamBody struct {
	c       *upConn
	up      *fasthttp.Response // holds the decoding stream and trailers
	client  *fasthttp.Response
	timeout time.Duration
	eof     bool
	close   bool
}

func (u *upstreamBody) Read(p []byte) (int, error) {
	_ = u.c.Conn.SetReadDeadline(time.Now().Add(u.timeout))
	n, err := u.up.BodyStream().Read(p)
	if errors.Is(err, io.EOF) && !u.eof {
		u.eof = true
		// Trailers arrive after the body; pass them on before the server
		// writes the last chunk.
		for k := range u.up.Header.Trailers() {
			u.client.Header.SetBytesKV(k, u.up.Header.PeekBytes(k))
		}
	}
	return n, err
}

func (u *upstreamBody) Close() error {
	_ = u.up.CloseBodyStream()
	fasthttp.ReleaseResponse(u.up)
	release(u.c, u.close || !u.eof)
	return nil
}
