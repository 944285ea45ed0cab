package cache

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the memory test run the agent as a child process (this
// test binary re-executed), so its resident memory can be measured alone.
func TestMain(m *testing.M) {
	if args := os.Getenv("STICKYFORM_CACHE_CHILD"); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		err := Main(ctx, strings.Fields(args), os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fill writes total bytes of values with sizes in [minSize, maxSize) as
// noreply sets on one connection, then waits for the server to catch up.
// Every value encodes its key, so a later get can verify it.
func fill(t *testing.T, addr, prefix string, total, minSize, maxSize int) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	for written := 0; written < total; n++ {
		size := minSize + rng.IntN(maxSize-minSize)
		key := prefix + strconv.Itoa(n)
		fmt.Fprintf(w, "set %s 0 0 %d noreply\r\n", key, size)
		w.Write(valueFor(key, size))
		w.WriteString("\r\n")
		written += size
	}
	w.WriteString("mn\r\n")
	if err := w.Flush(); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "MN\r\n" {
		t.Fatalf("sync after fill: got %q, %v; want MN", line, err)
	}
	return n
}

// valueFor is a deterministic value of size bytes for key.
func valueFor(key string, size int) []byte {
	return bytes.Repeat([]byte(key+"."), size/(len(key)+1)+1)[:size]
}

func TestEvictionKeepsBytesUnderTheLimit(t *testing.T) {
	const limit = 4 << 20
	tg := startAgent(t, ServerConfig{MemoryBytes: limit})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	n := fill(t, tg.addr, "ev", 5*limit, 100, 20000)

	s := dialSession(t, tg.addr)
	st := statsOf(t, s)
	used, _ := strconv.ParseInt(st["bytes"], 10, 64)
	if used > limit || used < limit/2 {
		t.Errorf("bytes: got %d; want between %d and the limit %d", used, limit/2, limit)
	}
	if ev, _ := strconv.Atoi(st["evictions"]); ev == 0 {
		t.Errorf("evictions: got 0; want > 0 after writing 5x the limit")
	}
	// The newest item survives and is intact; the oldest was evicted.
	last := "ev" + strconv.Itoa(n-1)
	got := s.do("get " + last + "\r\n")
	if !strings.HasPrefix(got, "VALUE "+last) {
		t.Errorf("newest item %s: got %q; want it present", last, abbrev(got))
	}
	if got := s.do("get ev0\r\n"); got != "END\r\n" {
		t.Errorf("oldest item: got %q; want it evicted", abbrev(got))
	}
	// Honest accounting: what the items really occupy on the heap stays
	// within the limit plus slack for buffers and the test's own garbage.
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > limit+limit/4+(1<<20) {
		t.Errorf("live heap grew by %d bytes; want at most %d for a %d-byte limit", grew, limit+limit/4+(1<<20), limit)
	}
}

func TestLRUKeepsRecentlyUsedItems(t *testing.T) {
	const limit = 1 << 20
	tg := startAgent(t, ServerConfig{MemoryBytes: limit})
	s := dialSession(t, tg.addr)
	s.expect("set hot 0 0 5\r\nhello\r\n", "STORED\r\n")
	value := strings.Repeat("v", 5000)
	for i := 0; i < 1000; i++ { // about 5x the limit
		s.expect("set cold"+strconv.Itoa(i)+" 0 0 5000 noreply\r\n"+value+"\r\nget hot\r\n", "VALUE hot 0 5\r\nhello\r\nEND\r\n")
	}
	if st := statsOf(t, s); st["evictions"] == "0" {
		t.Errorf("evictions: got 0; want > 0")
	}
}

// residentSlack is what the agent may hold beyond -memory-mb: the Go
// runtime, connection buffers and the collector's headroom over the
// indexes (whose entries the limit already counts). memcached 1.6 at -m 32
// grows by the limit plus about 10 MiB under the same load.
const residentSlack = 12 << 20

// TestResidentMemoryStaysNearTheLimit runs the agent as its own process
// with -memory-mb 32 and writes 5x that in large values, then the limit
// again in small ones and twice it in tiny ones (where an index kept apart
// from the limit would grow with the item count): its resident memory
// must grow by no more than the limit plus residentSlack.
func TestResidentMemoryStaysNearTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 160 MB through a child process")
	}
	const mb = 32
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd := exec.Command(childBinary(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), "STICKYFORM_CACHE_CHILD=-listen "+addr+" -memory-mb "+strconv.Itoa(mb))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitVersion(t, addr, 10*time.Second)
	base := peakRSS(t, cmd.Process.Pid)

	for _, phase := range []struct {
		prefix        string
		total, lo, hi int
	}{
		{"rss", 5 * mb << 20, 1000, 100000},
		{"small", mb << 20, 10, 300},
		{"tiny", 2 * mb << 20, 1, 30},
	} {
		fill(t, addr, phase.prefix, phase.total, phase.lo, phase.hi)
		peak := peakRSS(t, cmd.Process.Pid)
		grew := peak - base
		t.Logf("after %d MiB of %s values: peak RSS %.1f MiB, %.1f MiB over the %.1f MiB at start, for -memory-mb %d",
			phase.total>>20, phase.prefix, mib(peak), mib(grew), mib(base), mb)
		if grew > mb<<20+residentSlack {
			t.Errorf("after %s values: resident memory grew by %.1f MiB; want at most the limit plus %d MiB, %d MiB",
				phase.prefix, mib(grew), residentSlack>>20, (mb<<20+residentSlack)>>20)
		}
	}
	st := statsOf(t, dialSession(t, addr))
	if used, _ := strconv.ParseInt(st["bytes"], 10, 64); used > mb<<20 {
		t.Errorf("bytes: got %d; want at most %d", used, mb<<20)
	}
	if ev, _ := strconv.Atoi(st["evictions"]); ev == 0 {
		t.Errorf("evictions: got 0; want > 0 after writing 8x the limit")
	}

	// SIGTERM ends the agent cleanly.
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent exit after SIGTERM: got %v; want status 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("agent did not exit within 10s of SIGTERM")
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// childBinary is this test binary, or under -race (whose shadow memory
// would swamp the measurement) the same tests built without it.
func childBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return os.Args[0]
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("race build and no go tool to build a plain agent for measuring")
	}
	bin := filepath.Join(t.TempDir(), "cache.test")
	if out, err := exec.Command(goBin, "test", "-c", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build agent without -race: %v\n%s", err, out)
	}
	return bin
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("cannot read /proc (not Linux?): %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
