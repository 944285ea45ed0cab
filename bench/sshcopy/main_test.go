package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stickyform/stickyform/internal/lab/labtest"
)

// TestRunRefusesBadArguments checks that bad arguments are refused before
// any lab is looked at (so it runs without root).
func TestRunRefusesBadArguments(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"-hosts", "3"}, "usage: sshcopy"},
		{"extra argument", []string{"-file", file, "server2"}, "usage: sshcopy"},
		{"missing file", []string{"-file", file + ".missing"}, "no such file"},
		{"unknown flag", []string{"-nodes", "3"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v; want an error containing %q", tt.args, err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q; want nothing", stdout.String())
			}
		})
	}
}

// TestCopiesToLabHosts copies a file to two lab hosts: it reports the
// figures, refuses more hosts than the lab has, and leaves no copy behind.
func TestCopiesToLabHosts(t *testing.T) {
	l := labtest.Start(t, 2)
	file := filepath.Join(t.TempDir(), "payload")
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-hosts", "2", "-file", file}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v (stderr: %s)", err, stderr.String())
	}
	want := regexp.MustCompile(`^sshcopy hosts=2 bytes=3145745 wall=[0-9.]+ busy=[0-9.]+\n$`)
	if !want.MatchString(stdout.String()) {
		t.Errorf("stdout = %q; want it to match %s", stdout.String(), want)
	}
	for _, h := range l.Hosts {
		out, err := l.Exec(ctx, h.Name, "sh", "-c", "ls -a /opt")
		if err != nil {
			t.Fatalf("ls on %s: %v", h.Name, err)
		}
		if strings.Contains(string(out), filepath.Base(dest)) {
			t.Errorf("%s still has %s: %s", h.Name, dest, out)
		}
	}

	err := run(ctx, []string{"-hosts", "3", "-file", file}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "the lab has 2 hosts") {
		t.Errorf("run -hosts 3 on a 2-host lab = %v; want it refused", err)
	}
}
