package cache

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock injected through ServerConfig.Now, so
// expiry is tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// session is one raw protocol connection for tests.
type session struct {
	t *testing.T
	c net.Conn
}

func dialSession(t *testing.T, addr string) *session {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &session{t: t, c: c}
}

// do sends raw protocol and returns the complete reply.
func (s *session) do(send string) string {
	s.t.Helper()
	return roundTrip(s.t, s.c, send, false)
}

func (s *session) expect(send, want string) {
	s.t.Helper()
	if got := s.do(send); got != want {
		s.t.Errorf("sent %q: got %q; want %q", send, got, want)
	}
}

func TestExpiry(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	abs := func(d time.Duration) string { return itoa(start.Add(d).Unix()) }
	cases := []struct {
		name    string
		setup   string        // commands run at the start time
		alive   time.Duration // still there this long after the start
		expired time.Duration // gone this long after the start (0: never checked)
	}{
		{"relative", "set k 0 10 1\r\nx\r\n", 9 * time.Second, 10 * time.Second},
		{"30 days is still relative", "set k 0 2592000 1\r\nx\r\n", 2591999 * time.Second, 2592000 * time.Second},
		{"absolute unix time", "set k 0 " + abs(100*time.Second) + " 1\r\nx\r\n", 99 * time.Second, 100 * time.Second},
		{"zero never expires", "set k 0 0 1\r\nx\r\n", 1000 * 24 * time.Hour, 0},
		{"touch extends", "set k 0 10 1\r\nx\r\ntouch k 100\r\n", 99 * time.Second, 100 * time.Second},
		{"gat extends", "set k 0 10 1\r\nx\r\ngat 50 k\r\n", 49 * time.Second, 50 * time.Second},
		{"touch 0 makes it permanent", "set k 0 10 1\r\nx\r\ntouch k 0\r\n", 1000 * time.Hour, 0},
		{"append keeps the expiry", "set k 0 10 1\r\nx\r\nappend k 0 0 1\r\ny\r\n", 9 * time.Second, 10 * time.Second},
		{"incr keeps the expiry", "set k 0 10 1\r\n1\r\nincr k 1\r\n", 9 * time.Second, 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: start}
			tg := startAgent(t, ServerConfig{Now: clk.Now})
			s := dialSession(t, tg.addr)
			s.do(tc.setup)
			clk.Advance(tc.alive)
			if got := s.do("get k\r\n"); !strings.HasPrefix(got, "VALUE k") {
				t.Errorf("after %v: got %q; want the item", tc.alive, got)
			}
			if tc.expired == 0 {
				return
			}
			clk.Advance(tc.expired - tc.alive)
			if got := s.do("get k\r\n"); got != "END\r\n" {
				t.Errorf("after %v: got %q; want it expired", tc.expired, got)
			}
			if st := statsOf(t, s); st["get_expired"] != "1" {
				t.Errorf("get_expired: got %s; want 1", st["get_expired"])
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestExpiredItemsAreReclaimed(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tg := startAgent(t, ServerConfig{Now: clk.Now})
	s := dialSession(t, tg.addr)
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString("set e" + itoa(int64(i)) + " 0 5 10 noreply\r\n0123456789\r\n")
	}
	b.WriteString("set keep 0 0 1\r\nx\r\n")
	s.expect(b.String(), "STORED\r\n")
	clk.Advance(5 * time.Second)
	// The background sweeper runs on a real-time ticker; drive one full
	// pass directly so the test needs no sleep.
	tg.srv.st.sweep(1 << 20)
	st := statsOf(t, s)
	if st["curr_items"] != "1" {
		t.Errorf("curr_items after sweep: got %s; want 1", st["curr_items"])
	}
	if st["reclaimed"] != "1000" {
		t.Errorf("reclaimed: got %s; want 1000", st["reclaimed"])
	}
	if st["bytes"] != itoa(tg.srv.st.used.Load()) {
		t.Errorf("bytes %s disagrees with the store's count %d", st["bytes"], tg.srv.st.used.Load())
	}
}

func TestFlushAllWithDelay(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tg := startAgent(t, ServerConfig{Now: clk.Now})
	s := dialSession(t, tg.addr)
	s.expect("set old 0 0 1\r\nx\r\nflush_all 10\r\n", "STORED\r\nOK\r\n")
	clk.Advance(9 * time.Second)
	s.expect("set mid 0 0 1\r\ny\r\nget old mid\r\n", "STORED\r\nVALUE old 0 1\r\nx\r\nVALUE mid 0 1\r\ny\r\nEND\r\n")
	clk.Advance(1 * time.Second)
	s.expect("get old mid\r\n", "END\r\n")
	if st := statsOf(t, s); st["get_flushed"] != "2" {
		t.Errorf("get_flushed: got %s; want 2", st["get_flushed"])
	}
	s.expect("set new 0 0 1\r\nz\r\nget new\r\n", "STORED\r\nVALUE new 0 1\r\nz\r\nEND\r\n")
	clk.Advance(time.Hour)
	s.expect("get new\r\n", "VALUE new 0 1\r\nz\r\nEND\r\n")
}

func TestFlushAllNowCancelsADelayedFlush(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tg := startAgent(t, ServerConfig{Now: clk.Now})
	s := dialSession(t, tg.addr)
	s.expect("flush_all 10\r\nflush_all\r\nset k 0 0 1\r\nx\r\n", "OK\r\nOK\r\nSTORED\r\n")
	clk.Advance(20 * time.Second)
	s.expect("get k\r\n", "VALUE k 0 1\r\nx\r\nEND\r\n")
}

// statsOf returns the "stats" reply as a map.
func statsOf(t *testing.T, s *session) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(s.do("stats\r\n"), "\r\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "STAT" {
			m[f[1]] = f[2]
		}
	}
	return m
}

// TestCachedump lists live keys in memcached's cachedump format; expired
// ones are left out.
func TestCachedump(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tg := startAgent(t, ServerConfig{Now: clk.Now})
	s := dialSession(t, tg.addr)
	s.expect("set a 0 0 3\r\nabc\r\nset b 0 100 1\r\nx\r\nset gone 0 1 1\r\nx\r\n", "STORED\r\nSTORED\r\nSTORED\r\n")
	clk.Advance(time.Second)
	got := s.do("stats cachedump 1 0\r\n")
	for _, want := range []string{"ITEM a [3 b; 0 s]\r\n", "ITEM b [1 b; 1800000100 s]\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("cachedump: got %q; want a line %q", got, want)
		}
	}
	if strings.Contains(got, "gone") || !strings.HasSuffix(got, "END\r\n") {
		t.Errorf("cachedump: got %q; want live items only, then END", got)
	}
	s.expect("stats cachedump 2 0\r\n", "END\r\n")
}
