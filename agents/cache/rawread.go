package cache

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// waitFirstReader reads a TCP connection the way an event loop does: when
// the previous read drained the socket (returned less than asked), it
// waits for readiness before reading, instead of making the read that
// would fail with EAGAIN first, which saves a system call per request for
// request/response clients. Go's poller is edge-triggered and remembers an
// edge that fired while nobody waited, so no arrival is missed: data that
// came after the draining read always raises a new edge.
type waitFirstReader struct {
	rc      syscall.RawConn
	drained bool
}

// newConnReader returns the reader for nc: a waitFirstReader for TCP
// connections, nc itself otherwise.
func newConnReader(nc net.Conn) io.Reader {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc
	}
	if _, isTCP := nc.(*net.TCPConn); !isTCP {
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	return &waitFirstReader{rc: rc}
}

func (r *waitFirstReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	skip := r.drained
	err := r.rc.Read(func(fd uintptr) bool {
		if skip {
			skip = false
			return false // wait for readiness first
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
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n <= 0 {
		return 0, io.EOF
	}
	r.drained = n < len(p)
	return n, nil
}
