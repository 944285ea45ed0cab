package cache

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

// TestManyConcurrentClients runs clients in parallel, each checking its
// own keys' values and all sharing counters, under -race in `make test`.
func TestManyConcurrentClients(t *testing.T) {
	tg := startAgent(t, ServerConfig{MemoryBytes: 8 << 20})
	const clients, rounds = 32, 200
	mc := memcache.New(tg.addr)
	mc.MaxIdleConns = clients
	defer mc.Close()
	must(t, mc.Set(&memcache.Item{Key: "shared", Value: []byte("0")}))
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- clientLoop(mc, c, rounds)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	it, err := mc.Get("shared")
	must(t, err)
	if got := string(it.Value); got != strconv.Itoa(clients*rounds) {
		t.Errorf("shared counter: got %s; want %d (lost increments)", got, clients*rounds)
	}
}

func clientLoop(mc *memcache.Client, c, rounds int) error {
	for i := range rounds {
		key := fmt.Sprintf("c%d-%d", c, i%10)
		val := []byte(fmt.Sprintf("%s=%d", key, i))
		if err := mc.Set(&memcache.Item{Key: key, Value: val}); err != nil {
			return fmt.Errorf("client %d set: %w", c, err)
		}
		it, err := mc.Get(key)
		if err != nil {
			return fmt.Errorf("client %d get %s: %w", c, key, err)
		}
		if string(it.Value) != string(val) {
			return fmt.Errorf("client %d get %s: got %q; want %q", c, key, it.Value, val)
		}
		if _, err := mc.Increment("shared", 1); err != nil {
			return fmt.Errorf("client %d incr: %w", c, err)
		}
	}
	return nil
}

// TestMaxConns refuses connections past -max-conns as memcached does.
func TestMaxConns(t *testing.T) {
	tg := startAgent(t, ServerConfig{MaxConns: 2})
	a, b := dialSession(t, tg.addr), dialSession(t, tg.addr)
	a.expect("version\r\n", "VERSION 1.6.18\r\n")
	b.expect("version\r\n", "VERSION 1.6.18\r\n")
	c := dialSession(t, tg.addr)
	if got := roundTrip(t, c.c, "version\r\n", true); got != "ERROR Too many open connections\r\n<EOF>" {
		t.Errorf("third connection: got %q; want the refusal and a hang-up", got)
	}
}

// TestCloseDrains checks that Close wakes idle connections and returns,
// and that a connection with a request in flight gets either its whole
// reply or none (when Close came before the request was read), never a
// torn one, before the hang-up.
func TestCloseDrains(t *testing.T) {
	tg := startAgent(t, ServerConfig{})
	idle := dialSession(t, tg.addr)
	idle.expect("set k 0 0 1\r\nx\r\n", "STORED\r\n")
	busy := dialSession(t, tg.addr)
	if _, err := busy.c.Write([]byte("get k\r\n")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		tg.srv.Close()
		close(closed)
	}()
	if got := roundTrip(t, busy.c, "", true); got != "VALUE k 0 1\r\nx\r\nEND\r\n<EOF>" && got != "<EOF>" {
		t.Errorf("busy connection: got %q; want its reply, then EOF", got)
	}
	if got := roundTrip(t, idle.c, "", true); got != "<EOF>" {
		t.Errorf("idle connection: got %q; want EOF", got)
	}
	<-closed
}
