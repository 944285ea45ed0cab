package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostFor(t *testing.T) {
	tests := []struct {
		k    int
		want Host
		veth string
	}{
		{2, Host{Name: "server2", Address: "172.25.1.2", Netns: "sflab-server2"}, "sflab-v2"},
		{25, Host{Name: "server25", Address: "172.25.1.25", Netns: "sflab-server25"}, "sflab-v25"},
		{254, Host{Name: "server254", Address: "172.25.1.254", Netns: "sflab-server254"}, "sflab-v254"},
	}
	for _, tt := range tests {
		t.Run(tt.want.Name, func(t *testing.T) {
			if got := hostFor(tt.k); got != tt.want {
				t.Errorf("hostFor(%d): got %+v; want %+v", tt.k, got, tt.want)
			}
			// Linux interface names are at most 15 bytes.
			if got := vethName(tt.k); got != tt.veth || len(got) > 15 {
				t.Errorf("vethName(%d): got %q; want %q (<= 15 bytes)", tt.k, got, tt.veth)
			}
		})
	}
}

func TestSSHDConfigIsAFreshVM(t *testing.T) {
	cfg := sshdConfig(hostFor(3))
	for _, want := range []string{
		"ListenAddress 172.25.1.3:22", "PasswordAuthentication no", "PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password", "Subsystem sftp internal-sftp", "HostKey /etc/ssh/ssh_host_ed25519_key", "PidFile none",
	} {
		if !strings.Contains(cfg, want+"\n") {
			t.Errorf("sshd_config lacks %q:\n%s", want, cfg)
		}
	}
}

func TestHolderScriptMakesEveryDirPrivate(t *testing.T) {
	hs := &hostState{Host: hostFor(2)}
	key := newPub(t)
	script := holderScript(hs, "/var/lib/stickyform-lab/hosts/server2/ssh", key)
	for _, d := range append(privateDirs(), "hostname server2", "/etc/ssh", "authorized_keys", "echo ready") {
		if !strings.Contains(script, d) {
			t.Errorf("holder script lacks %q:\n%s", d, script)
		}
	}
	// /run is private, so /run/systemd is masked: systemctl inside a
	// host must never reach the machine's systemd.
	found := false
	for _, d := range privateDirs() {
		found = found || d == "/run" || d == "/run/systemd"
	}
	if !found {
		t.Error("privateDirs: neither /run nor /run/systemd is private")
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st := &state{Hosts: []hostState{{Host: hostFor(2), Num: 2, Veth: vethName(2), Holder: proc{PID: 10, Start: 20}}}, CreatedDirs: []string{"/etc/stickyform"}}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hosts[0] != st.Hosts[0] || got.CreatedDirs[0] != "/etc/stickyform" {
		t.Errorf("loadState: got %+v; want %+v", got, st)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "state.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("state.json mode: got %o; want 600", fi.Mode().Perm())
	}
	if none, err := loadState(t.TempDir()); none != nil || err != nil {
		t.Errorf("loadState of an empty dir: got %v, %v; want nil, nil", none, err)
	}
}

func TestProcAlive(t *testing.T) {
	self := procOf(os.Getpid())
	tests := []struct {
		name string
		p    proc
		want bool
	}{
		{"this process", self, true},
		{"same pid, other start time (reused pid)", proc{PID: self.PID, Start: self.Start + 1}, false},
		{"no pid", proc{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.alive(); got != tt.want {
				t.Errorf("alive(%+v): got %v; want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestKeysAndKnownHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id_ed25519")
	pub, made, err := ensureKey(path, "c")
	if err != nil || !made {
		t.Fatalf("ensureKey: got made=%v, %v; want a new key", made, err)
	}
	again, made, err := ensureKey(path, "c")
	if err != nil || made || string(again.Marshal()) != string(pub.Marshal()) {
		t.Fatalf("ensureKey again: got made=%v, %v; want the same key kept", made, err)
	}
	if filePub, err := readPublicKey(path + ".pub"); err != nil || string(filePub.Marshal()) != string(pub.Marshal()) {
		t.Errorf(".pub file: got %v; want the key's public half", err)
	}
	kh := string(knownHostsFor([]Host{hostFor(2)}, map[string]ssh.PublicKey{"server2": pub}))
	if !strings.HasPrefix(kh, "172.25.1.2 ssh-ed25519 ") {
		t.Errorf("known_hosts: got %q; want an entry for 172.25.1.2", kh)
	}
}

func newPub(t *testing.T) ssh.PublicKey {
	pub, _, err := ensureKey(filepath.Join(t.TempDir(), "k"), "k")
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
