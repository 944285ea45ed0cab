// Package lab makes, checks and removes the local lab: hosts server2,
// server3, ... on this machine that look and are reached like fresh VMs.
//
// Each host is a named network namespace (sflab-serverK, made with
// `ip netns add`, so `ip netns exec` works on it) wired by a veth pair to
// the bridge sflab0, which holds the machine side 172.25.1.1/24; hosts
// have 172.25.1.K/24 and no route beyond the bridge. A long-lived holder
// process, started by unshare inside that network namespace, owns the
// host's UTS namespace (hostname serverK) and mount namespace, in which
// /root, /home, /opt, /etc/stickyform, /etc/systemd/system, /var/lib,
// /var/log and /run (so /run/systemd, /run/stickyform and /run/sshd too)
// are private tmpfs, the rest of /etc is a copy-on-write overlay (so
// nothing a host writes to /etc reaches the machine), and the lab's
// per-host directory is bound over /etc/ssh. The host's real OpenSSH sshd is started with nsenter in the
// holder's namespaces, reads its config and key from that /etc/ssh (also
// in every re-exec'd child) and listens on port 22 of the host's address.
//
// The lab directory (/var/lib/stickyform-lab) holds the client key, the
// known_hosts file, per-host sshd files and state.json, which records the
// holder and sshd PIDs (with their start times, so a reused PID is never
// signalled) and the mount points lab up had to create. Down removes
// exactly that, and also anything named sflab-* / sflab0 left by a lab
// whose state file is lost: those names belong to the lab.
package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/stickyform/stickyform/provisioner"
)

// Names and addresses of the lab. They are fixed: there is one lab per
// machine, and the classic example deployment uses these addresses.
const (
	DefaultDir = "/var/lib/stickyform-lab"
	Bridge     = "sflab0"
	BridgeIP   = "172.25.1.1"
	subnet     = "172.25.1."
	prefix     = "sflab"
	// MaxHosts is how many hosts fit in 172.25.1.2-254.
	MaxHosts = 253
)

// Host is one lab host.
type Host struct {
	Name    string // serverK
	Address string // 172.25.1.K
	Netns   string // sflab-serverK
}

// Lab is a lab that exists on this machine.
type Lab struct {
	Dir            string
	KeyFile        string // client private key (id_ed25519)
	KnownHostsFile string // host keys of every lab host
	Hosts          []Host
	st             *state
}

// hostFor returns host number k (2 for server2).
func hostFor(k int) Host {
	name := "server" + strconv.Itoa(k)
	return Host{Name: name, Address: subnet + strconv.Itoa(k), Netns: prefix + "-" + name}
}

// vethName is the machine-side end of host k's veth pair.
func vethName(k int) string { return prefix + "-v" + strconv.Itoa(k) }

// hostMAC is the fixed, locally administered MAC of host k's eth0.
func hostMAC(k int) string { return fmt.Sprintf("02:73:66:6c:%02x:%02x", k>>8, k&0xff) }

// Open returns the lab described by the state file in dir ("" for
// DefaultDir).
func Open(dir string) (*Lab, error) {
	if dir == "" {
		dir = DefaultDir
	}
	st, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	if st == nil || len(st.Hosts) == 0 {
		return nil, fmt.Errorf("open lab: no lab in %s; run 'stickyform lab up'", dir)
	}
	return newLab(dir, st), nil
}

func newLab(dir string, st *state) *Lab {
	l := &Lab{Dir: dir, KeyFile: filepath.Join(dir, "id_ed25519"), KnownHostsFile: filepath.Join(dir, "known_hosts"), st: st}
	for _, h := range st.Hosts {
		l.Hosts = append(l.Hosts, h.Host)
	}
	return l
}

// Host returns the host with the given name.
func (l *Lab) Host(name string) (Host, error) {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return Host{}, fmt.Errorf("lab: no host %q", name)
}

// Target is how the provisioner reaches host h as root.
func (l *Lab) Target(h Host) provisioner.Target {
	return provisioner.Target{Name: h.Name, Address: h.Address, IdentityFile: l.KeyFile, KnownHosts: l.KnownHostsFile}
}

// Check confirms that the lab's bridge carries 172.25.1.1/24 and that every
// host's network namespace and holder process exist. Anything about to
// send a packet to a lab address calls it first, so traffic never goes to
// a 172.25.1.x that is not ours.
func (l *Lab) Check() error {
	if err := checkBridge(); err != nil {
		return err
	}
	for _, h := range l.st.Hosts {
		if _, err := os.Stat(netnsPath(h.Netns)); err != nil {
			return fmt.Errorf("check lab: network namespace %s of %s is missing: %w", h.Netns, h.Name, err)
		}
		if !h.Holder.alive() {
			return fmt.Errorf("check lab: holder process %d of %s is gone; run 'stickyform lab up'", h.Holder.PID, h.Name)
		}
	}
	return nil
}

// checkBridge confirms the bridge exists with the machine's lab address.
func checkBridge() error {
	ifc, err := net.InterfaceByName(Bridge)
	if err != nil {
		return fmt.Errorf("check lab: bridge %s is missing: %w", Bridge, err)
	}
	if _, err := os.Stat("/sys/class/net/" + Bridge + "/bridge"); err != nil {
		return fmt.Errorf("check lab: %s is not a bridge", Bridge)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return fmt.Errorf("check lab: addresses of %s: %w", Bridge, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.String() == BridgeIP {
			if ones, _ := ipn.Mask.Size(); ones == 24 {
				return nil
			}
		}
	}
	return fmt.Errorf("check lab: bridge %s lacks %s/24", Bridge, BridgeIP)
}

// ErrNotRoot is returned by Up and Down, which change the machine.
var ErrNotRoot = errors.New("lab: needs root (it makes network namespaces, a bridge and mounts); run it as root, e.g. with sudo")

func netnsPath(name string) string { return "/run/netns/" + name }
