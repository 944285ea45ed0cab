package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStateSaveKeepsBackup(t *testing.T) {
	dir := t.TempDir()
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != 0 || st.Lineage != "" || len(st.Resources) != 0 {
		t.Fatalf("missing state: got %+v; want empty, serial 0", st)
	}
	st.setResource("app.a", &ResourceState{Addr: "app.a", Kind: "app", Name: "a", HostName: "h"})
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
	lineage := st.Lineage
	st.setResource("app.b", &ResourceState{Addr: "app.b", Kind: "app", Name: "b", HostName: "h"})
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != 2 || got.Lineage != lineage || len(got.Resources) != 2 {
		t.Errorf("reloaded: got serial %d lineage %q %d resources; want 2, %q, 2", got.Serial, got.Lineage, len(got.Resources), lineage)
	}
	backup, err := os.ReadFile(filepath.Join(dir, StateFile+".backup"))
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if !strings.Contains(string(backup), `"serial": 1`) || strings.Contains(string(backup), "app.b") {
		t.Errorf("backup: got\n%s\nwant the previous state (serial 1, without app.b)", backup)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, StateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: got %v (%v); want 0600", fi.Mode().Perm(), err)
	}
}

func TestStateRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, StateFile), []byte(`{"version": 99}`), 0o600)
	if _, err := LoadState(dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer format: got %v; want an error saying it is newer", err)
	}
}

func TestLockContention(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	held, err := AcquireLock(ctx, dir, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("second fails at once naming the holder", func(t *testing.T) {
		_, err := AcquireLock(ctx, dir, "plan", 0)
		var locked *LockedError
		if !errors.As(err, &locked) {
			t.Fatalf("got %v; want a LockedError", err)
		}
		msg := err.Error()
		for _, want := range []string{"state is locked by", "apply", "pid " + itoa(os.Getpid()), "force-unlock"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q: want it to contain %q", msg, want)
			}
		}
	})
	t.Run("waits with a timeout", func(t *testing.T) {
		prev := held
		go func() {
			time.Sleep(150 * time.Millisecond)
			prev.Unlock()
		}()
		l, err := AcquireLock(ctx, dir, "apply", time.Minute)
		if err != nil {
			t.Fatalf("got %v; want the lock once released", err)
		}
		held = l
	})
	t.Run("force-unlock frees it", func(t *testing.T) {
		info, err := ForceUnlock(dir)
		if err != nil {
			t.Fatal(err)
		}
		if info.Operation != "apply" || info.PID != os.Getpid() {
			t.Errorf("force-unlock: got holder %+v; want this process's apply", info)
		}
		l, err := AcquireLock(ctx, dir, "apply", 0)
		if err != nil {
			t.Fatalf("after force-unlock: got %v; want the lock", err)
		}
		l.Unlock()
	})
	held.Unlock()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestBinaryForArch(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "stickyform")
	os.WriteFile(self, []byte("native"), 0o755)
	os.WriteFile(self+"-linux-arm64", []byte("arm"), 0o755)
	b := newBinaries(self)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
		os.WriteFile(self+"-linux-amd64", []byte("amd"), 0o755)
	}
	if path, sum, err := b.forArch(runtime.GOARCH); err != nil || path != self || sum == "" {
		t.Errorf("native arch: got %q %q %v; want the binary itself", path, sum, err)
	}
	if path, _, err := b.forArch(other); err != nil || path != self+"-linux-"+other {
		t.Errorf("%s: got %q %v; want the build beside the binary", other, path, err)
	}
	_, _, err := b.forArch("riscv64")
	if err == nil || !strings.Contains(err.Error(), "linux/riscv64") || !strings.Contains(err.Error(), "make build") {
		t.Errorf("missing build: got %v; want an error naming the arch and how to build it", err)
	}
}
