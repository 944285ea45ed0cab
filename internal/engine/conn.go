package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"

	"github.com/stickyform/stickyform/internal/supervise"
)

// conn is what the engine needs of a connection to a host; the
// provisioner's *Client is the real one.
type conn interface {
	Run(ctx context.Context, cmd string, stdin io.Reader) ([]byte, error)
	Upload(ctx context.Context, local, remote string, mode os.FileMode, progress func(sent, total int64)) (bool, error)
	WriteFile(ctx context.Context, remote string, data []byte, mode os.FileMode) (bool, error)
	Close() error
}

// dialFunc opens a connection to a host.
type dialFunc func(ctx context.Context, h *HostState, trustNewHosts bool) (conn, error)

// dialAll connects to every host in parallel; one connection per host for
// the whole run. On error the connections made are closed.
func dialAll(ctx context.Context, dial dialFunc, hosts []*HostState, trustNew bool) (map[string]conn, error) {
	conns := make(map[string]conn, len(hosts))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(ctx, h, trustNew)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("connect to host %s (%s): %w", h.Name, h.Address, err))
				return
			}
			conns[h.Name] = c
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		closeAll(conns)
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	return conns, nil
}

func closeAll(conns map[string]conn) {
	for _, c := range conns {
		c.Close()
	}
}

// binaries finds the local stickyform builds to upload and their hashes,
// computing each hash once.
type binaries struct {
	self string // the build for this machine's GOOS/GOARCH
	mu   sync.Mutex
	sums map[string]binary
}

type binary struct {
	path, sha256 string
	err          error
}

func newBinaries(self string) *binaries {
	return &binaries{self: self, sums: map[string]binary{}}
}

// forArch returns the build for linux/arch: the running binary when it is
// one, else "<binary>-linux-<arch>" beside it (what `make build` leaves).
func (b *binaries) forArch(arch string) (path, sum string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if got, ok := b.sums[arch]; ok {
		return got.path, got.sha256, got.err
	}
	p := b.self
	if runtime.GOOS != "linux" || arch != runtime.GOARCH {
		p = b.self + "-linux-" + arch
	}
	s, err := supervise.FileSHA256(p)
	if err != nil {
		err = fmt.Errorf("no stickyform build for linux/%s: %w (run `make build`, which puts %s-linux-%s beside the binary)", arch, err, b.self, arch)
	}
	b.sums[arch] = binary{path: p, sha256: s, err: err}
	return p, s, err
}
