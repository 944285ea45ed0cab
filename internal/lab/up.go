package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Options tune Up.
type Options struct {
	Hosts int    // number of hosts; if zero, 3 (server2..server4)
	Dir   string // lab directory; if empty, DefaultDir
}

// privateDirs are covered with a fresh tmpfs in every host, as on a fresh
// VM: nothing the host writes there reaches the machine or another host.
// The rest of /etc is a copy-on-write overlay.
// /run covers /run/systemd (hosts look systemd-less, so systemctl inside
// them can never drive the machine's systemd), /run/stickyform and sshd's
// privilege separation directory.
func privateDirs() []string {
	return []string{"/root", "/home", "/opt", "/etc/stickyform", "/etc/systemd/system", "/var/lib", "/var/log", "/run"}
}

// Up makes the lab, or completes a partly made one; on a complete lab it
// changes nothing. It returns the lab and what it did (empty when nothing).
func Up(ctx context.Context, o Options) (*Lab, []string, error) {
	if os.Geteuid() != 0 {
		return nil, nil, ErrNotRoot
	}
	if o.Hosts == 0 {
		o.Hosts = 3
	}
	if o.Hosts < 1 || o.Hosts > MaxHosts {
		return nil, nil, fmt.Errorf("lab up: -hosts %d: want 1 to %d", o.Hosts, MaxHosts)
	}
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	var did []string
	if err := ensureTools(ctx, &did); err != nil {
		return nil, did, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, did, fmt.Errorf("lab up: %w", err)
	}
	st, err := loadState(o.Dir)
	if err != nil {
		return nil, did, err
	}
	if st == nil {
		st = &state{}
	}
	u := &upper{ctx: ctx, dir: o.Dir, st: st, did: did}
	err = u.run(o.Hosts)
	if serr := st.save(o.Dir); err == nil {
		err = serr
	}
	if err != nil {
		return nil, u.did, fmt.Errorf("lab up: %w", err)
	}
	return newLab(o.Dir, st), u.did, nil
}

// ensureTools installs openssh-server when sshd is missing and checks the
// other commands the lab runs.
func ensureTools(ctx context.Context, did *[]string) error {
	if _, err := os.Stat(sshdPath); err != nil {
		if err := installSSHD(ctx); err != nil {
			return err
		}
		*did = append(*did, "installed openssh-server")
	}
	for _, c := range []string{"ip", "unshare", "nsenter", "mount"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("lab up: %s not found (install iproute2 and util-linux): %w", c, err)
		}
	}
	return nil
}

// installSSHD installs openssh-server with apt-get, refreshing the package
// lists first if the install fails (a fresh machine may have none).
func installSSHD(ctx context.Context) error {
	apt := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	install := []string{"install", "-y", "-qq", "--no-install-recommends", "openssh-server"}
	if _, err := apt(install...); err == nil {
		return nil
	}
	if out, err := apt("update", "-qq"); err != nil {
		return fmt.Errorf("lab up: apt-get update (sshd is missing): %w; output:\n%s", err, out)
	}
	if out, err := apt(install...); err != nil {
		return fmt.Errorf("lab up: install openssh-server (sshd is missing): %w; output:\n%s", err, out)
	}
	return nil
}

// upper carries one Up run.
type upper struct {
	ctx context.Context
	dir string
	st  *state

	mu  sync.Mutex
	did []string
}

func (u *upper) note(format string, args ...any) {
	u.mu.Lock()
	u.did = append(u.did, fmt.Sprintf(format, args...))
	u.mu.Unlock()
}

func (u *upper) run(n int) error {
	clientPub, made, err := ensureKey(filepath.Join(u.dir, "id_ed25519"), "stickyform-lab")
	if err != nil {
		return err
	}
	if made {
		u.note("generated client key %s", filepath.Join(u.dir, "id_ed25519"))
	}
	if err := u.removeExtraHosts(n); err != nil {
		return err
	}
	if err := u.ensureMountPoints(); err != nil {
		return err
	}
	if err := u.ensureBridge(); err != nil {
		return err
	}
	hosts, keys, err := u.ensureHosts(n, clientPub)
	if err != nil {
		return err
	}
	return u.writeKnownHosts(hosts, keys)
}

// removeExtraHosts takes down hosts beyond the n requested.
func (u *upper) removeExtraHosts(n int) error {
	var keep []hostState
	for _, h := range u.st.Hosts {
		if h.Num >= 2 && h.Num <= n+1 {
			keep = append(keep, h)
			continue
		}
		if err := removeHost(h.Num, []proc{h.Holder, h.SSHD}); err != nil {
			return err
		}
		os.RemoveAll(filepath.Join(u.dir, "hosts", h.Name))
		u.note("removed %s", h.Name)
	}
	u.st.Hosts = keep
	return nil
}

// ensureMountPoints creates the private dirs missing on the machine (none
// on a usual Debian) and records them so down removes them.
func (u *upper) ensureMountPoints() error {
	for _, d := range privateDirs() {
		if _, err := os.Stat(d); err == nil || strings.HasPrefix(d, "/etc/") || d == "/run" {
			continue // /etc's are made in the host's /etc overlay
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create mount point %s: %w", d, err)
		}
		u.st.CreatedDirs = append(u.st.CreatedDirs, d)
		u.note("created mount point %s", d)
	}
	return nil
}

// ensureBridge makes sflab0 with 172.25.1.1/24, up.
func (u *upper) ensureBridge() error {
	if checkBridge() == nil {
		return nil
	}
	if _, err := net.InterfaceByName(Bridge); err != nil {
		if err := ipCmd(u.ctx, "link", "add", Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if err := ipCmd(u.ctx, "addr", "replace", BridgeIP+"/24", "dev", Bridge); err != nil {
		return err
	}
	if err := ipCmd(u.ctx, "link", "set", Bridge, "up"); err != nil {
		return err
	}
	u.note("made bridge %s %s/24", Bridge, BridgeIP)
	return nil
}

// ensureHosts sets hosts server2..server(n+1) up, several at a time.
func (u *upper) ensureHosts(n int, clientPub ssh.PublicKey) ([]Host, map[string]ssh.PublicKey, error) {
	byNum := map[int]hostState{}
	for _, h := range u.st.Hosts {
		byNum[h.Num] = h
	}
	results := make([]hostState, n)
	errs := make([]error, n)
	keys := make([]ssh.PublicKey, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		k := i + 2
		hs, ok := byNum[k]
		if !ok {
			hs = hostState{Host: hostFor(k), Num: k, Veth: vethName(k)}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			keys[i], errs[i] = u.ensureHost(&hs, clientPub)
			results[i] = hs
		}()
	}
	wg.Wait()
	u.st.Hosts = results
	sort.Slice(u.st.Hosts, func(i, j int) bool { return u.st.Hosts[i].Num < u.st.Hosts[j].Num })
	var hosts []Host
	byName := map[string]ssh.PublicKey{}
	for i, err := range errs {
		if err != nil {
			return nil, nil, err
		}
		hosts = append(hosts, results[i].Host)
		byName[results[i].Name] = keys[i]
	}
	return hosts, byName, nil
}

// writeKnownHosts writes known_hosts when its content would change.
func (u *upper) writeKnownHosts(hosts []Host, keys map[string]ssh.PublicKey) error {
	path := filepath.Join(u.dir, "known_hosts")
	want := knownHostsFor(hosts, keys)
	if got, err := os.ReadFile(path); err == nil && string(got) == string(want) {
		return nil
	}
	if err := writeFileAtomic(path, want, 0o644); err != nil {
		return err
	}
	u.note("wrote %s", path)
	return nil
}
