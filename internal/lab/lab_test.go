package lab_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/lab"
	"github.com/stickyform/stickyform/internal/lab/labtest"
)

func TestLifecycle(t *testing.T) {
	l := labtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("second up changes nothing", func(t *testing.T) {
		again, did, err := lab.Up(ctx, lab.Options{Hosts: 3})
		if err != nil || len(did) != 0 {
			t.Fatalf("Up: got %q, %v; want no changes", did, err)
		}
		if len(again.Hosts) != 3 || again.Hosts[1] != l.Hosts[1] {
			t.Errorf("hosts: got %+v; want %+v", again.Hosts, l.Hosts)
		}
	})

	t.Run("hosts are separate machines", func(t *testing.T) {
		script := `hostname; echo private > /opt/marker; ls /root/.ssh; test -e /run/systemd && echo systemd-visible; ip route | grep default || true`
		out, err := l.Exec(ctx, "server2", "/bin/sh", "-c", script)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "server2\nauthorized_keys\n" {
			t.Errorf("inside server2: got %q; want hostname, authorized_keys, no /run/systemd, no default route", out)
		}
		if _, err := os.Stat("/opt/marker"); err == nil {
			t.Error("/opt/marker written in server2 is visible on the machine")
		}
		if out, err := l.Exec(ctx, "server3", "/bin/sh", "-c", "test -e /opt/marker && echo shared || echo separate"); err != nil || string(out) != "separate\n" {
			t.Errorf("server3 sees server2's /opt: got %q, %v; want separate", out, err)
		}
	})

	t.Run("status and network cut", func(t *testing.T) {
		assertStatus(t, l, "server2 up, server3 up, server4 up")
		if err := l.CutHost("server3"); err != nil {
			t.Fatal(err)
		}
		assertStatus(t, l, "server2 up, server3 down, server4 up")
		if err := l.RestoreHost("server3"); err != nil {
			t.Fatal(err)
		}
		assertStatus(t, l, "server2 up, server3 up, server4 up")
	})

	t.Run("a partial lab is completed", func(t *testing.T) {
		if out, err := exec.Command("ip", "link", "del", "sflab-v4").CombinedOutput(); err != nil {
			t.Fatalf("ip link del: %v: %s", err, out)
		}
		syscall.Kill(statePIDs(t, l.Dir, "sshd")[1], syscall.SIGKILL) // server3's sshd
		_, did, err := lab.Up(ctx, lab.Options{Hosts: 3})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(did, "\n")
		for _, want := range []string{"linked server4 to sflab0", "started sshd on 172.25.1.3:22"} {
			if !strings.Contains(got, want) {
				t.Errorf("Up did:\n%s\nwant %q", got, want)
			}
		}
		assertStatus(t, l, "server2 up, server3 up, server4 up")
	})

	t.Run("down leaves nothing", func(t *testing.T) {
		pids := append(statePIDs(t, l.Dir, "sshd"), statePIDs(t, l.Dir, "holder")...)
		pids = append(pids, netnsPIDs(t, l.Hosts)...)
		assertDown(t, ctx, pids)
	})

	t.Run("up and down without a state file", func(t *testing.T) {
		if _, _, err := lab.Up(ctx, lab.Options{Hosts: 2}); err != nil {
			t.Fatal(err)
		}
		stale := netnsPIDs(t, l.Hosts[:2])
		if err := os.Remove(filepath.Join(l.Dir, "state.json")); err != nil {
			t.Fatal(err)
		}
		// The namespaces are still there, with an sshd holding port 22.
		l2, _, err := lab.Up(ctx, lab.Options{Hosts: 2})
		if err != nil {
			t.Fatalf("Up over a lab without state: %v", err)
		}
		assertStatus(t, l2, "server2 up, server3 up")
		pids := append(stale, netnsPIDs(t, l.Hosts[:2])...)
		if err := os.Remove(filepath.Join(l.Dir, "state.json")); err != nil {
			t.Fatal(err)
		}
		assertDown(t, ctx, pids)
	})
}

func TestManyHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 24 hosts")
	}
	start := time.Now()
	l := labtest.Start(t, 24)
	t.Logf("lab up -hosts 24: %v", time.Since(start))
	if got := len(l.Hosts); got != 24 || l.Hosts[23].Address != "172.25.1.25" {
		t.Fatalf("hosts: got %d, last %+v; want 24, last 172.25.1.25", got, l.Hosts[got-1])
	}
	res, err := l.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Up {
			t.Errorf("%s: down: %v", r.Host.Name, r.Err)
		}
	}
}

// assertStatus checks the lab's Status against "name up|down, ...".
func assertStatus(t *testing.T, l *lab.Lab, want string) {
	t.Helper()
	res, err := l.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		state := "down"
		if r.Up {
			state = "up"
		} else {
			t.Logf("%s down: %v", r.Host.Name, r.Err)
		}
		got = append(got, r.Host.Name+" "+state)
	}
	if g := strings.Join(got, ", "); g != want {
		t.Errorf("Status: got %s; want %s", g, want)
	}
}

// assertDown takes the lab down and checks that no namespace, link, file
// or process of it is left.
func assertDown(t *testing.T, ctx context.Context, pids []int) {
	t.Helper()
	if len(pids) == 0 {
		t.Fatal("no lab processes found before down")
	}
	if _, err := lab.Down(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if left := lab.Leftovers(lab.DefaultDir); len(left) != 0 {
		t.Errorf("after down: %v left", left)
	}
	for _, pid := range pids {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("after down: process %d still running: %s", pid, b)
		}
	}
	if _, err := os.Stat("/etc/stickyform"); err == nil && !existedBefore("/etc/stickyform") {
		t.Error("after down: /etc/stickyform (a mount point lab up made) is left")
	}
}

// existedBefore is false: this machine's test runs do not deploy to
// itself, so a lab mount point left behind is the lab's.
func existedBefore(string) bool { return false }

// statePIDs reads the recorded PIDs of kind ("sshd" or "holder").
func statePIDs(t *testing.T, dir, kind string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Hosts []map[string]json.RawMessage `json:"hosts"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, h := range st.Hosts {
		var p struct{ PID int }
		json.Unmarshal(h[kind], &p)
		pids = append(pids, p.PID)
	}
	return pids
}

// netnsPIDs lists the processes in the hosts' network namespaces.
func netnsPIDs(t *testing.T, hosts []lab.Host) []int {
	t.Helper()
	var pids []int
	for _, h := range hosts {
		out, err := exec.Command("ip", "netns", "pids", h.Netns).Output()
		if err != nil {
			t.Fatalf("ip netns pids %s: %v", h.Netns, err)
		}
		for _, f := range strings.Fields(string(out)) {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
	}
	return pids
}
