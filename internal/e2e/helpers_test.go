// Package e2e holds the end-to-end tests of plan, apply and destroy: the
// real CLI, driven in-process (and as a built binary where a process must
// die), against the hosts of a lab made by the test.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/cli"
	"github.com/stickyform/stickyform/internal/engine"
	"github.com/stickyform/stickyform/internal/lab"
	"github.com/stickyform/stickyform/internal/lab/labtest"
	"github.com/stickyform/stickyform/internal/supervise"
)

// tier is examples/classic deployed (or to be) on a fresh lab.
type tier struct {
	t   *testing.T
	lab *lab.Lab
	dir string // temp copy of examples/classic
	bin string // stickyform built for this test
}

// newTier makes a lab and a working copy of examples/classic pointed at
// it, with the binary that apply deploys.
func newTier(t *testing.T) *tier {
	t.Helper()
	l := labtest.Start(t, 3)
	bin := buildBinary(t)
	t.Setenv(engine.BinaryEnv, bin)
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "classic")
	files, _ := filepath.Glob(filepath.Join(src, "*.hcl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &tier{t: t, lab: l, dir: dir, bin: bin}
}

// buildBinary builds stickyform into a temp dir as `make build` does
// (static, stripped), so timings match what users get.
func buildBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "stickyform")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "github.com/stickyform/stickyform/cmd/stickyform")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build stickyform: %v\n%s", err, b)
	}
	return out
}

// labVars are the -var flags that point the example at this lab.
func (tr *tier) labVars() []string {
	return []string{"-var", "key=" + tr.lab.KeyFile, "-var", "known_hosts=" + tr.lab.KnownHostsFile}
}

// run runs the CLI in-process in the tier's directory.
func (tr *tier) run(args ...string) (string, error) {
	tr.t.Helper()
	return tr.runIn(strings.NewReader(""), args...)
}

func (tr *tier) runIn(stdin *strings.Reader, args ...string) (string, error) {
	var out bytes.Buffer
	full := append([]string{"-chdir", tr.dir}, args[0])
	if args[0] == "plan" || args[0] == "apply" || args[0] == "destroy" {
		full = append(full, tr.labVars()...)
	}
	full = append(full, args[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := cli.Run(ctx, full, stdin, &out, &out)
	return out.String(), err
}

// runBinary runs the built stickyform as its own process, as a user
// would, and returns its output and how long it took.
func (tr *tier) runBinary(t *testing.T, args ...string) (string, time.Duration) {
	t.Helper()
	full := append([]string{"-chdir", tr.dir}, args...)
	full = append(full, tr.labVars()...)
	cmd := exec.Command(tr.bin, full...)
	cmd.Env = append(os.Environ(), engine.BinaryEnv+"="+tr.bin)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("stickyform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), took
}

// mustRun runs the CLI and fails the test on error.
func (tr *tier) mustRun(args ...string) string {
	tr.t.Helper()
	out, err := tr.run(args...)
	if err != nil {
		tr.t.Fatalf("stickyform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// edit replaces every old with new in the tier's main.hcl.
func (tr *tier) edit(t *testing.T, old, new string) {
	t.Helper()
	path := filepath.Join(tr.dir, "main.hcl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("edit main.hcl: %q not found", old)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// status asks a host's stickyform what runs there, without SSH.
func (tr *tier) status(host string) supervise.Status {
	tr.t.Helper()
	out, err := tr.lab.Exec(context.Background(), host, supervise.DefaultBinary, "agent", "status")
	if err != nil {
		tr.t.Fatalf("status of %s: %v", host, err)
	}
	var st supervise.Status
	if err := json.Unmarshal(out, &st); err != nil {
		tr.t.Fatalf("status of %s: %v\n%s", host, err, out)
	}
	return st
}

// pids maps every role on the lab to its agent's pid.
func (tr *tier) pids() map[string]int {
	out := map[string]int{}
	for _, h := range tr.lab.Hosts {
		for _, r := range tr.status(h.Name).Roles {
			out[r.Name] = r.PID
		}
	}
	return out
}

// browser is a client with a cookie jar, as a user's browser.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 5 * time.Second}
}

// session GETs /api/session through the proxy and returns its server.
func session(c *http.Client) (string, error) {
	resp, err := c.Get("http://172.25.1.2/api/session")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /api/session: %s", resp.Status)
	}
	var s struct{ ID, Server string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return "", err
	}
	if s.ID == "" || s.Server == "" {
		return "", errors.New("GET /api/session: no id or server")
	}
	return s.Server, nil
}

// load sends requests through the proxy from several browsers until
// stop is closed, counting requests and failures.
type load struct {
	mu       sync.Mutex
	requests int
	failures []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(clients int) *load {
	l := &load{stop: make(chan struct{})}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := browser()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				_, err := session(c)
				l.mu.Lock()
				l.requests++
				if err != nil {
					l.failures = append(l.failures, err.Error())
				}
				l.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) finish() (int, []string) {
	close(l.stop)
	l.wg.Wait()
	return l.requests, l.failures
}
