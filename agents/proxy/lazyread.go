package proxy

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// lazyConn is a TCP connection that, right after a write, waits for
// readability before its first read attempt. A proxy reads right after it
// writes (the backend's answer to a request just sent, the client's next
// request after a response), when the answer cannot be there yet; a plain
// read would cost a system call that only says EAGAIN, on nearly every
// request. The poller's edge-triggered readiness still covers an answer
// that arrived first: waiting then returns at once.
type lazyConn struct {
	*net.TCPConn
	rc    syscall.RawConn
	wrote bool
}

// newLazyConn wraps c; connections that are not plain TCP are returned as is.
func newLazyConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &lazyConn{TCPConn: tc, rc: rc}
}

func (c *lazyConn) Write(p []byte) (int, error) {
	c.wrote = true
	return c.TCPConn.Write(p)
}

func (c *lazyConn) Read(p []byte) (int, error) {
	if !c.wrote || len(p) == 0 {
		return c.TCPConn.Read(p)
	}
	c.wrote = false
	var n int
	var rerr error
	waited := false
	err := c.rc.Read(func(fd uintptr) bool {
		if !waited {
			waited = true
			return false
		}
		for {
			n, rerr = syscall.Read(int(fd), p)
			if !errors.Is(rerr, syscall.EINTR) {
				break
			}
		}
		return !errors.Is(rerr, syscall.EAGAIN)
	})
	if err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: rerr}
	}
	if n <= 0 {
		return 0, io.EOF
	}
	return n, nil
}
