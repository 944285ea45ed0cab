package lab

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stickyform/stickyform/provisioner"
)

// hostState returns the recorded state of the named host.
func (l *Lab) hostState(name string) (hostState, error) {
	for _, h := range l.st.Hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return hostState{}, fmt.Errorf("lab: no host %q", name)
}

// Exec runs argv inside the host's network, UTS and mount namespaces (as
// root, without SSH) and returns its combined output.
func (l *Lab) Exec(ctx context.Context, host string, argv ...string) ([]byte, error) {
	hs, err := l.hostState(host)
	if err != nil {
		return nil, err
	}
	if !hs.Holder.alive() {
		return nil, fmt.Errorf("lab exec on %s: holder process %d is gone", host, hs.Holder.PID)
	}
	args := append([]string{"-t", strconv.Itoa(hs.Holder.PID), "-n", "-u", "-m", "--"}, argv...)
	out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("lab exec on %s: %s: %w; output:\n%s", host, strings.Join(argv, " "), err, out)
	}
	return out, nil
}

// CutHost takes the host off the network (its bridge port goes down):
// packets to and from it are dropped, connections stall as on a real
// network cut.
func (l *Lab) CutHost(name string) error {
	return l.setLink(name, "down")
}

// RestoreHost puts a cut host back on the network.
func (l *Lab) RestoreHost(name string) error {
	return l.setLink(name, "up")
}

func (l *Lab) setLink(name, updown string) error {
	hs, err := l.hostState(name)
	if err != nil {
		return err
	}
	if err := ipCmd(context.Background(), "link", "set", hs.Veth, updown); err != nil {
		return fmt.Errorf("lab: set %s %s: %w", name, updown, err)
	}
	return nil
}

// AddUser creates user name on host, with the lab's client key authorized
// and sudo rights: without a password when nopasswd, else sudo asks for
// one (the user has none, so sudo -n fails). The user exists only inside
// that host: /etc/passwd, /etc/group, /etc/shadow and /etc/sudoers.d are
// replaced, in the host's mount namespace only, by copies kept in the
// host's private /run, and the home is in its private /home. Nothing of
// it reaches the machine, and lab down removes it with the namespace.
func (l *Lab) AddUser(ctx context.Context, host, name string, nopasswd bool) error {
	rule := "ALL=(ALL:ALL) ALL"
	if nopasswd {
		rule = "ALL=(ALL:ALL) NOPASSWD: ALL"
	}
	script := `set -e
u=` + shQuote(name) + `
mkdir -p /run/sflab-users
for f in passwd group shadow; do
  if [ ! -e /run/sflab-users/$f ]; then
    cp -p /etc/$f /run/sflab-users/$f
    mount --bind /run/sflab-users/$f /etc/$f
  fi
done
if [ ! -e /run/sflab-users/sudoers.d ]; then
  cp -a /etc/sudoers.d /run/sflab-users/sudoers.d
  mount --bind /run/sflab-users/sudoers.d /etc/sudoers.d
fi
if ! grep -q "^$u:" /etc/passwd; then
  id=$(awk -F: 'BEGIN{m=1999} $3>m && $3<60000 {m=$3} END{print m+1}' /etc/passwd)
  echo "$u:x:$id:$id::/home/$u:/bin/sh" >> /etc/passwd
  echo "$u:x:$id:" >> /etc/group
  echo "$u:*:20000:0:99999:7:::" >> /etc/shadow
fi
mkdir -p /home/$u/.ssh
cp /root/.ssh/authorized_keys /home/$u/.ssh/authorized_keys
chown -R "$u:$u" /home/$u
chmod 700 /home/$u /home/$u/.ssh
printf '%s %s\n' "$u" ` + shQuote(rule) + ` > /etc/sudoers.d/sflab-$u
chmod 440 /etc/sudoers.d/sflab-$u
`
	if _, err := l.Exec(ctx, host, "/bin/sh", "-c", script); err != nil {
		return fmt.Errorf("lab: add user %s: %w", name, err)
	}
	return nil
}

// HostStatus is the result of checking one host over SSH.
type HostStatus struct {
	Host Host
	Up   bool
	Err  error // why it is down
}

// Status checks every host over SSH (real host key verification), in
// parallel. It refuses to send anything when Check fails.
func (l *Lab) Status(ctx context.Context) ([]HostStatus, error) {
	if err := l.Check(); err != nil {
		return nil, err
	}
	res := make([]HostStatus, len(l.Hosts))
	var wg sync.WaitGroup
	for i, h := range l.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = HostStatus{Host: h, Err: l.probe(ctx, h)}
			res[i].Up = res[i].Err == nil
		}()
	}
	wg.Wait()
	return res, nil
}

// probe logs in to h and checks that it answers with its own hostname.
func (l *Lab) probe(ctx context.Context, h Host) error {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	c, err := provisioner.Dial(ctx, l.Target(h), provisioner.Options{ConnectTimeout: 3 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	out, err := c.Run(ctx, "hostname", nil)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(out)); got != h.Name {
		return fmt.Errorf("%s answers as %q", h.Address, got)
	}
	return nil
}
