package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/cli"
	"github.com/stickyform/stickyform/internal/engine"
	"github.com/stickyform/stickyform/internal/lab"
	"github.com/stickyform/stickyform/internal/lab/labtest"
	"github.com/stickyform/stickyform/internal/verify"
)

// classic is examples/classic applied to a fresh three-host lab.
type classic struct {
	lab *lab.Lab
	dir string // a copy of examples/classic
}

// deployClassic makes a lab, applies examples/classic to it with the CLI
// in-process, and destroys it at the end. It skips where no lab can be
// made (not root).
func deployClassic(t *testing.T) *classic {
	t.Helper()
	l := labtest.Start(t, 3)
	t.Setenv(engine.BinaryEnv, buildBinary(t))
	c := &classic{lab: l, dir: t.TempDir()}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "examples", "classic", "*.hcl"))
	if len(files) == 0 {
		t.Fatal("no examples/classic/*.hcl")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run("apply", "-auto-approve"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := c.run("destroy", "-auto-approve"); err != nil {
			t.Errorf("destroy: %v\n%s", err, out)
		}
	})
	return c
}

// run runs the CLI in-process on the deployment, with the lab's key and
// known_hosts.
func (c *classic) run(args ...string) (string, error) {
	full := append([]string{"-chdir", c.dir}, args...)
	full = append(full, "-var", "key="+c.lab.KeyFile, "-var", "known_hosts="+c.lab.KnownHostsFile)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := cli.Run(ctx, full, strings.NewReader(""), &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

// verifyJSON runs `stickyform verify -json` with extra flags.
func (c *classic) verifyJSON(t *testing.T, args ...string) (*verify.Report, error) {
	t.Helper()
	full := append([]string{"-chdir", c.dir, "verify", "-json"}, args...)
	full = append(full, "-var", "key="+c.lab.KeyFile, "-var", "known_hosts="+c.lab.KnownHostsFile)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := cli.Run(ctx, full, strings.NewReader(""), &stdout, &stderr)
	t.Logf("verify progress:\n%s", stderr.String())
	var rep verify.Report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("verify -json printed no report (%v; run error %v):\n%s", jerr, err, stdout.String())
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("verify:\n%s", table.String())
	return &rep, err
}

// buildBinary builds the stickyform that apply deploys.
func buildBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "stickyform")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/stickyform/stickyform/cmd/stickyform")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build stickyform: %v\n%s", err, b)
	}
	return out
}
