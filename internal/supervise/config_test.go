package supervise

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteConfig(t *testing.T) {
	dir := t.TempDir()
	h := Host{ConfigDir: filepath.Join(dir, "etc")}
	for _, content := range []string{`{"listen":"a"}`, `{"listen":"b"}`} {
		if err := h.WriteConfig("app-web", []byte(content)); err != nil {
			t.Fatalf("WriteConfig: %v", err)
		}
		got, err := os.ReadFile(h.ConfigFile("app-web"))
		if err != nil || string(got) != content {
			t.Fatalf("config: got %q, %v; want %q", got, err, content)
		}
	}
	fi, err := os.Stat(h.ConfigFile("app-web"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %o; want 600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(h.ConfigDir)
	if len(entries) != 1 {
		t.Errorf("files in the config dir: got %d; want 1 (no temporary file left)", len(entries))
	}
	if err := h.WriteConfig("web", nil); err == nil {
		t.Error("WriteConfig of a bad role name: got nil error; want one")
	}
}

func TestConfigFromStdin(t *testing.T) {
	tests := []struct {
		name    string
		action  string
		roles   []string
		wantErr string
	}{
		{"start one role", "start", []string{"cache-n1"}, ""},
		{"reload one role", "reload", []string{"cache-n1"}, ""},
		{"two roles", "start", []string{"cache-n1", "app-web"}, "exactly one role"},
		{"no role", "start", nil, "exactly one role"},
		{"stop", "stop", []string{"cache-n1"}, "goes with start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Host{ConfigDir: t.TempDir()}
			err := h.configFromStdin(tt.action, tt.roles, strings.NewReader("{}"))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v; want nil", err)
				}
				if b, err := os.ReadFile(h.ConfigFile(tt.roles[0])); err != nil || string(b) != "{}" {
					t.Errorf("config: got %q, %v; want {}", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestBinaryKeyMatchesStat proves that the key a shell script records with
// `stat -c BinaryKeyStatFormat` is the key binarySHA256 looks up, so a
// hash recorded at upload is used.
func TestBinaryKeyMatchesStat(t *testing.T) {
	dir := t.TempDir()
	h := Host{Binary: filepath.Join(dir, "stickyform"), StateDir: filepath.Join(dir, "lib")}.withDefaults()
	if err := os.WriteFile(h.Binary, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("stat", "-c", BinaryKeyStatFormat, h.Binary).Output()
	if err != nil {
		t.Skipf("no GNU stat: %v", err)
	}
	want, err := binaryKey(h.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("stat key: got %q; want %q", got, want)
	}
	// A recorded (here deliberately fake) hash is answered without hashing.
	os.MkdirAll(h.StateDir, 0o755)
	if err := os.WriteFile(filepath.Join(h.StateDir, BinaryHashFile), []byte(want+"=recorded\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := h.binarySHA256(); err != nil || got != "recorded" {
		t.Errorf("binarySHA256: got %q, %v; want the recorded hash", got, err)
	}
}
