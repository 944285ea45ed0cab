package cache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestVersionParsesAsMemcached runs the agent as `stickyform agent cache`
// does and checks that "version" answers a plain MAJOR.MINOR.PATCH, which
// clients parse (the npm "memcached" client crashed on a suffix), and that
// the build is still visible in stats.
func TestVersionParsesAsMemcached(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, []string{"-listen", addr, "-memory-mb", "8"}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		<-done
	}()
	var conn net.Conn
	var err error
	for range 200 { // wait for the listener without a timing threshold on the result
		if conn, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	fmt.Fprint(conn, "version\r\nstats\r\n")
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read version: %v", err)
	}
	if !regexp.MustCompile(`^VERSION \d+\.\d+\.\d+\r\n$`).MatchString(line) {
		t.Errorf("got %q; want VERSION MAJOR.MINOR.PATCH as memcached answers", line)
	}
	var stats []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read stats: %v", err)
		}
		if l == "END\r\n" {
			break
		}
		stats = append(stats, l)
	}
	all := strings.Join(stats, "")
	if !strings.Contains(all, "STAT version "+strings.TrimPrefix(line, "VERSION ")) || !strings.Contains(all, "STAT stickyform_version ") {
		t.Errorf("got stats %q; want the version line and stickyform_version", all)
	}
}
