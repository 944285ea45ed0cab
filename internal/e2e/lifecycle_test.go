package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stickyform/stickyform/hclspec"
	"github.com/stickyform/stickyform/internal/cli"
	"github.com/stickyform/stickyform/internal/engine"
)

// TestLifecycle walks examples/classic through its life on one lab:
// cold apply, no-op, a one-attribute change, drift, a crashed agent, a
// held lock, a rolling change under load, and destroy.
func TestLifecycle(t *testing.T) {
	tr := newTier(t)

	t.Run("cold apply serves sticky sessions", func(t *testing.T) {
		out, took := tr.runBinary(t, "apply", "-auto-approve")
		t.Logf("cold apply (stickyform apply -auto-approve, own process) took %s", took)
		if !strings.Contains(out, "Apply complete! Resources: 5 added, 0 changed, 0 destroyed.") {
			t.Fatalf("apply output:\n%s\nwant 5 added", out)
		}
		if !strings.Contains(out, `url = "http://172.25.1.2/"`) {
			t.Errorf("apply output:\n%s\nwant the url output", out)
		}
		c := browser()
		first, err := session(c)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			got, err := session(c)
			if err != nil {
				t.Fatal(err)
			}
			if got != first {
				t.Fatalf("request %d: served by %s; want %s (sticky)", i, got, first)
			}
		}
	})

	t.Run("second plan has no changes and apply uploads nothing", func(t *testing.T) {
		out, took := tr.runBinary(t, "plan", "-detailed-exitcode")
		t.Logf("no-op plan (stickyform plan, own process) took %s", took)
		if !strings.Contains(out, "No changes.") {
			t.Fatalf("plan:\n%s\nwant No changes. and exit 0", out)
		}
		out = tr.mustRun("apply", "-auto-approve")
		if strings.Contains(out, "Uploading") || !strings.Contains(out, "No changes.") {
			t.Errorf("second apply:\n%s\nwant No changes. and no upload", out)
		}
	})

	t.Run("one attribute changes one resource, through a saved plan", func(t *testing.T) {
		before := tr.pids()
		tr.edit(t, `timeout = "30m"`, `timeout = "20m"`)
		planFile := filepath.Join(t.TempDir(), "change.plan")
		out, err := tr.run("plan", "-detailed-exitcode", "-out", planFile)
		var exit *cli.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 {
			t.Errorf("plan -detailed-exitcode: got %v; want exit 2", err)
		}
		if !strings.Contains(out, "Plan: 0 to add, 1 to change, 0 to destroy.") || !strings.Contains(out, `~ timeout = "30m0s" -> "20m0s"`) {
			t.Fatalf("plan:\n%s\nwant exactly app.tomcat1's timeout to change", out)
		}
		out = tr.mustRun("apply", planFile)
		if !strings.Contains(out, "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.") {
			t.Errorf("apply of the saved plan:\n%s", out)
		}
		after := tr.pids()
		for role, pid := range before {
			if changed := after[role] != pid; changed != (role == "app-tomcat1") {
				t.Errorf("%s: pid %d -> %d; want only app-tomcat1 restarted", role, pid, after[role])
			}
		}
		if _, err := tr.run("apply", planFile); err == nil || !strings.Contains(err.Error(), "stale") {
			t.Errorf("second apply of the same saved plan: got %v; want it refused as stale", err)
		}
	})

	t.Run("drift is shown and repaired", func(t *testing.T) {
		ctx := context.Background()
		if _, err := tr.lab.Exec(ctx, "server3", "sed", "-i", "s/20m0s/21m0s/", "/etc/stickyform/app-tomcat1.json"); err != nil {
			t.Fatal(err)
		}
		r := connect(t, tr)
		if err := r.Stop(ctx, "cache.n2"); err != nil {
			t.Fatal(err)
		}
		drift, err := r.Drift(ctx, loadConfig(t, tr))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(drift, " ") != "cache.n2 app.tomcat1" {
			t.Errorf("Drift: got %v; want [cache.n2 app.tomcat1]", drift)
		}
		out := tr.mustRun("plan")
		for _, want := range []string{"changed outside stickyform", "not running on server4", "Plan: 0 to add, 2 to change, 0 to destroy."} {
			if !strings.Contains(out, want) {
				t.Errorf("plan:\n%s\nwant %q", out, want)
			}
		}
		out, err = tr.runIn(strings.NewReader("no\n"), "apply")
		if err == nil || !strings.Contains(out, "Only 'yes' will be accepted") || !strings.Contains(out, "Apply cancelled.") {
			t.Errorf("apply answered no: got %v\n%s\nwant it to ask and cancel", err, out)
		}
		if out := tr.mustRun("plan"); !strings.Contains(out, "2 to change") {
			t.Errorf("plan after a cancelled apply:\n%s\nwant the drift still there", out)
		}
		out, err = tr.runIn(strings.NewReader("yes\n"), "apply")
		if err != nil || !strings.Contains(out, "0 added, 2 changed, 0 destroyed") {
			t.Errorf("apply answered yes: got %v\n%s\nwant the drift repaired", err, out)
		}
		if out := tr.mustRun("plan"); !strings.Contains(out, "No changes.") {
			t.Errorf("plan after repair:\n%s\nwant No changes.", out)
		}
	})

	t.Run("killed agent is restarted by its supervisor", func(t *testing.T) {
		pid := tr.pids()["app-tomcat2"]
		if _, err := tr.lab.Exec(context.Background(), "server4", "kill", "-9", itoa(pid)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			for _, r := range tr.status("server4").Roles {
				if r.Name == "app-tomcat2" && r.Healthy && r.PID != pid && r.PID != 0 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("app-tomcat2 not back 20s after kill -9 of %d: %+v", pid, tr.status("server4"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("verify's controls stop, start and reload single agents", func(t *testing.T) {
		ctx := context.Background()
		r := connect(t, tr)
		before := tr.pids()
		if err := r.Reload(ctx, "proxy.lb"); err != nil {
			t.Fatal(err)
		}
		if err := r.Stop(ctx, "app.tomcat1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // a supervisor would have restarted it by now
		if pid := tr.pids()["app-tomcat1"]; pid != 0 {
			t.Fatalf("app-tomcat1 after Stop: pid %d; want it to stay stopped", pid)
		}
		if err := r.Start(ctx, "app.tomcat1"); err != nil {
			t.Fatal(err)
		}
		after := tr.pids()
		if after["proxy-lb"] != before["proxy-lb"] || after["app-tomcat1"] == 0 {
			t.Errorf("pids %v -> %v; want the proxy reloaded in place and tomcat1 running again", before, after)
		}
		if drift, err := r.Drift(ctx, loadConfig(t, tr)); err != nil || len(drift) != 0 {
			t.Errorf("Drift after restoring: got %v, %v; want none", drift, err)
		}
	})

	t.Run("a second apply meets the lock", func(t *testing.T) {
		held, err := engine.AcquireLock(context.Background(), tr.dir, "apply", 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tr.run("apply", "-auto-approve")
		if err == nil || !strings.Contains(err.Error(), "state is locked by") || !strings.Contains(err.Error(), "pid ") {
			t.Errorf("apply while locked: got %v\n%s\nwant the lock message naming the holder", err, out)
		}
		time.AfterFunc(300*time.Millisecond, func() { held.Unlock() })
		if out, err := tr.run("plan", "-lock-timeout", "20s"); err != nil {
			t.Errorf("plan -lock-timeout: %v\n%s\nwant it to wait for the lock", err, out)
		}
	})

	t.Run("changing every app under load fails no request", func(t *testing.T) {
		tr.edit(t, "session {", "session {\n    locking = \"none\"")
		l := startLoad(4)
		time.Sleep(300 * time.Millisecond)
		out := tr.mustRun("apply", "-auto-approve")
		time.Sleep(300 * time.Millisecond)
		requests, failures := l.finish()
		if !strings.Contains(out, "0 added, 2 changed, 0 destroyed") {
			t.Errorf("apply:\n%s\nwant both apps changed", out)
		}
		if requests < 50 || len(failures) > 0 {
			t.Errorf("load during the apply: %d requests, %d failed (%v); want many, none failed", requests, len(failures), first(failures, 5))
		}
	})

	t.Run("a changed host key stops the run", func(t *testing.T) {
		kh := swappedKnownHosts(t, tr.lab.KnownHostsFile, "172.25.1.3", "172.25.1.2")
		before := tr.pids()
		out, err := tr.run("apply", "-auto-approve", "-var", "known_hosts="+kh)
		if err == nil || !strings.Contains(err.Error(), "CHANGED") || !strings.Contains(err.Error(), "server3") {
			t.Fatalf("apply with server3's key changed: got %v\n%s\nwant the changed-key error", err, out)
		}
		if strings.Contains(out, "Modifying") || strings.Contains(out, "Creating") {
			t.Errorf("apply went ahead:\n%s", out)
		}
		if after := tr.pids(); !equalMaps(before, after) {
			t.Errorf("agents changed: %v -> %v; want untouched", before, after)
		}
	})

	t.Run("apply killed mid-way converges on the next apply", func(t *testing.T) {
		tr.edit(t, `memory_mb = 64`, `memory_mb = 48`)
		tr.edit(t, `timeout = "20m"`, `timeout = "15m"`)
		killMidApply(t, tr, "Modifying...")
		out := tr.mustRun("apply", "-auto-approve")
		if !strings.Contains(out, "Apply complete!") {
			t.Fatalf("apply after the kill:\n%s", out)
		}
		if out := tr.mustRun("plan"); !strings.Contains(out, "No changes.") {
			t.Errorf("plan after converging:\n%s\nwant No changes.", out)
		}
		c := browser()
		if _, err := session(c); err != nil {
			t.Errorf("tier after converging: %v", err)
		}
	})

	t.Run("verify's controls reconnect after a network cut", func(t *testing.T) {
		ctx := context.Background()
		r := connect(t, tr)
		if err := tr.lab.CutHost("server4"); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.Start(cctx, "app.tomcat2") // the connection dies while cut
		cancel()
		if rerr := tr.lab.RestoreHost("server4"); rerr != nil {
			t.Fatal(rerr)
		}
		if err == nil {
			t.Fatal("control of a cut host: got no error")
		}
		if err := r.Start(ctx, "app.tomcat2"); err != nil {
			t.Fatalf("Start after the host came back: %v; want a fresh connection", err)
		}
		if drift, err := r.Drift(ctx, loadConfig(t, tr)); err != nil || len(drift) != 0 {
			t.Errorf("Drift after the cut: got %v, %v; want none", drift, err)
		}
	})

	t.Run("destroy leaves nothing", func(t *testing.T) {
		out := tr.mustRun("destroy", "-auto-approve")
		if !strings.Contains(out, "Destroy complete! Resources: 5 destroyed.") {
			t.Fatalf("destroy:\n%s", out)
		}
		assertNothingLeft(t, tr)
		if out := tr.mustRun("state", "list"); strings.TrimSpace(out) != "" {
			t.Errorf("state list after destroy: %q; want empty", out)
		}
	})
}

func connect(t *testing.T, tr *tier) *engine.Remote {
	t.Helper()
	r, err := engine.Connect(context.Background(), loadConfig(t, tr), engine.ConnectOptions{Binary: tr.bin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func loadConfig(t *testing.T, tr *tier) *hclspec.Config {
	t.Helper()
	cfg, _, diags := hclspec.Load(tr.dir, hclspec.VarInputs{Flags: []string{"key=" + tr.lab.KeyFile, "known_hosts=" + tr.lab.KnownHostsFile}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// assertNothingLeft checks every host for stickyform's processes, ports,
// files and units.
func assertNothingLeft(t *testing.T, tr *tier) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "/opt/stickyform/bin/stickyform") {
			t.Errorf("process left: %s: %q", p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	for _, addr := range []string{"172.25.1.2:80", "172.25.1.3:8080", "172.25.1.3:11211", "172.25.1.4:8080", "172.25.1.4:11211"} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("port %s still answers", addr)
		}
	}
	for _, h := range tr.lab.Hosts {
		// The lab mounts tmpfs on /etc/stickyform, so it stays as an empty
		// directory; anything in it, or named stickyform elsewhere, is left.
		out, err := tr.lab.Exec(context.Background(), h.Name, "sh", "-c",
			"find /opt /var/lib /var/log /run /etc/systemd/system -path /run/sflab-\\* -prune -o -iname '*stickyform*' -print 2>/dev/null; find /etc/stickyform -mindepth 1")
		if err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("%s: left behind:\n%s", h.Name, s)
		}
	}
}

// swappedKnownHosts writes a copy of known_hosts in which host's entry
// carries other's key, as if host had been reinstalled (or impersonated).
func swappedKnownHosts(t *testing.T, path, host, other string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 3 {
			keys[f[0]] = f[1:]
		}
	}
	if keys[host] == nil || keys[other] == nil {
		t.Fatalf("known_hosts %s: no plain entries for %s and %s:\n%s", path, host, other, b)
	}
	for i, l := range lines {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == host {
			lines[i] = host + " " + strings.Join(keys[other], " ")
		}
	}
	out := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// killMidApply runs the built binary's apply and SIGKILLs it as soon as
// it prints marker.
func killMidApply(t *testing.T, tr *tier, marker string) {
	t.Helper()
	args := append([]string{"-chdir", tr.dir, "apply", "-auto-approve"}, tr.labVars()...)
	cmd := exec.Command(tr.bin, args...)
	cmd.Env = append(os.Environ(), engine.BinaryEnv+"="+tr.bin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), marker) {
			cmd.Process.Kill()
			break
		}
	}
	err = cmd.Wait()
	if !strings.Contains(fmt.Sprint(err), "killed") {
		t.Fatalf("apply was not killed mid-way (%v); it printed:\n%s", err, strings.Join(seen, "\n"))
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
