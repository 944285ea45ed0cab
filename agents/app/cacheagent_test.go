package app

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/stickyform/stickyform/agents/cache"
)

// startCacheAgent runs stickyform's own cache agent in-process on a free
// loopback port. stop closes every connection, as a crash would.
func startCacheAgent(t testing.TB, id string) *cacheNode {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cache.Main(ctx, []string{"-listen", addr, "-memory-mb", "16", "-name", id}, io.Discard, io.Discard)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	waitVersion(t, addr)
	return &cacheNode{id: id, addr: addr, stop: stop}
}
