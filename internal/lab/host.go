package lab

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// ensureHost makes whatever of host hs is missing and returns its host key.
func (u *upper) ensureHost(hs *hostState, clientPub ssh.PublicKey) (ssh.PublicKey, error) {
	sshDir := filepath.Join(u.dir, "hosts", hs.Name, "ssh")
	hostKey, err := u.ensureSSHDir(hs, sshDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(netnsPath(hs.Netns)); err != nil {
		if err := ipCmd(u.ctx, "netns", "add", hs.Netns); err != nil {
			return nil, err
		}
		u.note("made network namespace %s", hs.Netns)
	}
	if _, err := net.InterfaceByName(hs.Veth); err != nil {
		// eth0 gets a fixed MAC: a remade link (a partial lab completed)
		// must keep the MAC the machine and the other hosts have cached
		// for its address, or they send to the old one until their
		// neighbour entries expire, many seconds later.
		if err := ipCmd(u.ctx, "link", "add", hs.Veth, "type", "veth", "peer", "name", "eth0",
			"address", hostMAC(hs.Num), "netns", hs.Netns); err != nil {
			return nil, err
		}
		if err := ipCmd(u.ctx, "link", "set", hs.Veth, "master", Bridge, "up"); err != nil {
			return nil, err
		}
		u.note("linked %s to %s", hs.Name, Bridge)
	} else if master, _ := os.Readlink("/sys/class/net/" + hs.Veth + "/master"); filepath.Base(master) != Bridge {
		// The bridge was remade: its ports were detached with it.
		if err := ipCmd(u.ctx, "link", "set", hs.Veth, "master", Bridge, "up"); err != nil {
			return nil, err
		}
		u.note("relinked %s to %s", hs.Name, Bridge)
	}
	// Idempotent, so always applied: lo up, the address, eth0 up. No
	// route besides the bridge's subnet: nothing leaves the lab.
	batch := fmt.Sprintf("link set lo up\naddr replace %s/24 dev eth0\nlink set eth0 up\n", hs.Address)
	if err := ipBatch(u.ctx, hs.Netns, batch); err != nil {
		return nil, err
	}
	if !hs.Holder.alive() {
		// Whatever still runs in the namespace (an sshd of a lab whose
		// state was lost) lives in a stale mount namespace and holds port
		// 22: it goes before the new holder comes.
		stale, err := procsInNetns(netnsPath(hs.Netns))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hs.Name, err)
		}
		if err := stop(append(stale, hs.SSHD), 2*time.Second); err != nil {
			return nil, err
		}
		hs.SSHD = proc{}
		if hs.Holder, err = startHolder(u.ctx, hs, sshDir, clientPub); err != nil {
			return nil, err
		}
		u.note("started holder of %s (pid %d)", hs.Name, hs.Holder.PID)
	}
	if !hs.SSHD.alive() {
		if hs.SSHD, err = startSSHD(u.ctx, hs, sshDir); err != nil {
			return nil, err
		}
		u.note("started sshd on %s:22 (pid %d)", hs.Address, hs.SSHD.PID)
	}
	return hostKey, nil
}

// ensureSSHDir writes the host's /etc/ssh: host key, sshd_config and
// copies of the machine's ssh_config and moduli.
func (u *upper) ensureSSHDir(hs *hostState, dir string) (ssh.PublicKey, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", hs.Name, err)
	}
	key, _, err := ensureKey(filepath.Join(dir, "ssh_host_ed25519_key"), "root@"+hs.Name)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"ssh_config", "moduli"} {
		dst := filepath.Join(dir, f)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/etc/ssh", f)); err == nil {
			if err := writeFileAtomic(dst, b, 0o644); err != nil {
				return nil, err
			}
		}
	}
	cfg := []byte(sshdConfig(hs.Host))
	path := filepath.Join(dir, "sshd_config")
	if got, err := os.ReadFile(path); err != nil || string(got) != string(cfg) {
		if err := writeFileAtomic(path, cfg, 0o644); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// sshdConfig is the sshd_config of a fresh VM: keys only, root allowed
// with a key, SFTP on. Paths are as seen inside the host, where the lab's
// directory for the host is /etc/ssh.
func sshdConfig(h Host) string {
	return `# stickyform lab host ` + h.Name + `, configured like a fresh VM.
ListenAddress ` + h.Address + `:22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
UsePAM no
UseDNS no
PidFile none
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
`
}

// holderScript sets up the host's UTS and mount namespaces and then waits
// forever, keeping them alive. /etc becomes an overlay whose changes live
// in the host's /run, so mount points missing on the machine (such as
// /etc/stickyform) are made inside the host only.
func holderScript(hs *hostState, sshDir string, clientPub ssh.PublicKey) string {
	var b strings.Builder
	b.WriteString("exec 2>&1\nset -e\n")
	// The copies of other hosts' /run/netns bindings would keep their
	// network namespaces alive after ip netns del; drop them.
	b.WriteString("for f in /run/netns/*; do umount -l \"$f\" 2>/dev/null || true; done\numount -l /run/netns 2>/dev/null || true\n")
	fmt.Fprintf(&b, "hostname %s\n", hs.Name)
	fmt.Fprintf(&b, "mount -t tmpfs -o mode=0755 sflab-%s /run\n", hs.Name)
	b.WriteString("mkdir -p /run/sflab-etc/upper /run/sflab-etc/work\n")
	b.WriteString("mount -t overlay -o lowerdir=/etc,upperdir=/run/sflab-etc/upper,workdir=/run/sflab-etc/work sflab-etc /etc\n")
	fmt.Fprintf(&b, "mount --bind %s /etc/ssh\n", shQuote(sshDir))
	for _, d := range privateDirs() {
		if d == "/run" {
			continue
		}
		fmt.Fprintf(&b, "mkdir -p %s\nmount -t tmpfs -o mode=0755 sflab-%s %s\n", d, hs.Name, d)
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(clientPub))) + " stickyform-lab"
	fmt.Fprintf(&b, "chmod 700 /root\nmkdir -m 700 /root/.ssh\nprintf '%%s\\n' %s > /root/.ssh/authorized_keys\n", shQuote(key))
	b.WriteString("chmod 600 /root/.ssh/authorized_keys\nmkdir -m 755 /run/sshd\n")
	b.WriteString("echo ready\nexec sleep infinity </dev/null >/dev/null 2>&1\n")
	return b.String()
}

// startHolder starts the host's holder process in its network namespace
// and waits until it has set up the namespaces.
func startHolder(ctx context.Context, hs *hostState, sshDir string, clientPub ssh.PublicKey) (proc, error) {
	cmd := exec.Command("nsenter", "--net="+netnsPath(hs.Netns), "unshare", "--uts", "--mount", "--propagation", "private",
		"--", "/bin/sh", "-c", holderScript(hs, sshDir, clientPub))
	// Its own session: a ^C to `lab up` must not take the lab down.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return proc{}, err
	}
	if err := cmd.Start(); err != nil {
		return proc{}, fmt.Errorf("start holder of %s: %w", hs.Name, err)
	}
	ready := make(chan error, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				return
			}
			lines = append(lines, sc.Text())
		}
		ready <- fmt.Errorf("%s", strings.Join(lines, "\n"))
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(20 * time.Second):
		err = fmt.Errorf("no ready after 20s")
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return proc{}, fmt.Errorf("start holder of %s: %w", hs.Name, err)
	}
	out.Close()
	p := procOf(cmd.Process.Pid)
	cmd.Process.Release()
	return p, nil
}

// startSSHD starts sshd in the host's namespaces and waits until it accepts
// connections.
func startSSHD(ctx context.Context, hs *hostState, sshDir string) (proc, error) {
	pid := strconv.Itoa(hs.Holder.PID)
	cmd := exec.Command("nsenter", "-t", pid, "-n", "-u", "-m", "--", sshdPath, "-D", "-f", "/etc/ssh/sshd_config", "-E", "/etc/ssh/sshd.log")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return proc{}, fmt.Errorf("start sshd on %s: %w", hs.Name, err)
	}
	p := procOf(cmd.Process.Pid)
	cmd.Process.Release()
	if err := waitListening(ctx, hs, p); err != nil {
		log, _ := os.ReadFile(filepath.Join(sshDir, "sshd.log"))
		stop([]proc{p}, time.Second)
		return proc{}, fmt.Errorf("start sshd on %s: %w; sshd.log:\n%s", hs.Name, err, log)
	}
	return p, nil
}

// waitListening waits until port 22 of the host accepts a connection. It
// checks the bridge first: this is the first packet to a lab address.
func waitListening(ctx context.Context, hs *hostState, sshd proc) error {
	if err := checkBridge(); err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", hs.Address+":22")
		if err == nil {
			c.Close()
			return nil
		}
		if !sshd.alive() {
			reap(sshd)
			return fmt.Errorf("sshd exited")
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("port 22 not answering: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ipCmd runs ip with args.
func ipCmd(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w; output:\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// ipBatch runs ip commands inside a network namespace in one process.
func ipBatch(ctx context.Context, netns, batch string) error {
	cmd := exec.CommandContext(ctx, "ip", "-n", netns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %w; output:\n%s", netns, err, out)
	}
	return nil
}

// shQuote quotes s for a POSIX shell.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
