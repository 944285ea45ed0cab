package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stickyform/stickyform/internal/engine"
)

// deployedDir returns a directory whose state records a small deployment.
func deployedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st := &engine.State{
		Resources: []*engine.ResourceState{
			{Addr: "cache.n1", Kind: "cache", Name: "n1", HostName: "server3", HostAddress: "172.25.1.3",
				Listen: "172.25.1.3:11211", ConfigSHA256: "c1", BinarySHA256: "b1",
				Config: json.RawMessage(`{"name":"n1","listen":"172.25.1.3:11211","memory_mb":64}`)},
			{Addr: "app.tomcat1", Kind: "app", Name: "tomcat1", HostName: "server3", HostAddress: "172.25.1.3",
				Listen: "172.25.1.3:8080", Config: json.RawMessage(`{"name":"tomcat1"}`)},
		},
		Outputs: map[string]engine.OutputState{
			"url":    {Value: json.RawMessage(`"http://172.25.1.2/"`), Type: json.RawMessage(`"string"`)},
			"ports":  {Value: json.RawMessage(`[80,8080]`), Type: json.RawMessage(`["list","number"]`)},
			"secret": {Value: json.RawMessage(`"k"`), Type: json.RawMessage(`"string"`), Sensitive: true},
		},
	}
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStateCommands(t *testing.T) {
	dir := deployedDir(t)
	tests := []struct {
		name     string
		args     []string
		want     []string
		wantCode int
	}{
		{"state list", []string{"state", "list"}, []string{"app.tomcat1\ncache.n1\n"}, 0},
		{"show", []string{"show"}, []string{"# cache.n1:\ncache \"n1\" {\n", `    memory_mb     = 64`, `listen        = "172.25.1.3:11211"`, "Outputs:", `url = "http://172.25.1.2/"`}, 0},
		{"show -json", []string{"show", "-json"}, []string{`"lineage":`, `"addr": "app.tomcat1"`}, 0},
		{"output", []string{"output"}, []string{"ports = [80,8080]\nsecret = <sensitive>\nurl = \"http://172.25.1.2/\"\n"}, 0},
		{"output NAME", []string{"output", "url"}, []string{"\"http://172.25.1.2/\"\n"}, 0},
		{"output -raw", []string{"output", "-raw", "url"}, []string{"http://172.25.1.2/"}, 0},
		{"output -json", []string{"output", "-json"}, []string{`"url": {`, `"sensitive": false`}, 0},
		{"output unknown", []string{"output", "nope"}, []string{`output "nope" not found`}, 1},
		{"output -raw of a list", []string{"output", "-raw", "ports"}, []string{"use -json"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, "", append([]string{"-chdir", dir}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit code: got %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output:\n%s%s\nwant it to contain %q", stdout, stderr, w)
				}
			}
		})
	}
}

func TestShowEmptyState(t *testing.T) {
	stdout, _, code := run(t, "", "-chdir", t.TempDir(), "show")
	if code != 0 || !strings.Contains(stdout, "nothing is deployed") {
		t.Errorf("show without state: code %d, %q; want a clear empty message", code, stdout)
	}
}

func TestLockedStateIsReported(t *testing.T) {
	dir := classicCopy(t, "", "")
	held, err := engine.AcquireLock(context.Background(), dir, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	for _, cmd := range []string{"plan", "apply", "destroy"} {
		t.Run(cmd, func(t *testing.T) {
			_, stderr, code := run(t, "", "-chdir", dir, cmd, "-auto-approve")
			if cmd == "plan" {
				_, stderr, code = run(t, "", "-chdir", dir, cmd)
			}
			if code != 1 || !strings.Contains(stderr, "state is locked by") || !strings.Contains(stderr, "(pid ") {
				t.Errorf("%s while locked: code %d, stderr %q; want exit 1 with the holder", cmd, code, stderr)
			}
		})
	}
	t.Run("force-unlock", func(t *testing.T) {
		stdout, _, code := run(t, "", "-chdir", dir, "force-unlock")
		if code != 0 || !strings.Contains(stdout, "unlocked") || !strings.Contains(stdout, "apply") {
			t.Errorf("force-unlock: code %d, %q; want it to say whose lock it broke", code, stdout)
		}
		l, err := engine.AcquireLock(context.Background(), dir, "plan", 0)
		if err != nil {
			t.Fatalf("lock after force-unlock: %v", err)
		}
		l.Unlock()
	})
}

func TestApplySavedPlanErrors(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := run(t, "", "-chdir", dir, "apply", dir+"/missing.plan")
	if code != 1 || !strings.Contains(stderr, "load plan") {
		t.Errorf("apply of a missing plan file: code %d, %q", code, stderr)
	}
	_, stderr, code = run(t, "", "-chdir", dir, "apply", "a", "b")
	if code != 1 || !strings.Contains(stderr, "at most one plan file") {
		t.Errorf("apply with two files: code %d, %q", code, stderr)
	}
}
