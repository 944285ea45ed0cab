package provisioner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
)

// factCommands are the commands whose presence Facts reports.
func factCommands() []string {
	return []string{"systemctl", "sudo", "memcached", "apt-get", "dnf", "yum", "apk", "sha256sum"}
}

// Facts describe a host, gathered in one round trip.
type Facts struct {
	Arch      string // GOARCH for `uname -m`; empty when there is no Go port for it
	Machine   string // `uname -m` as reported
	Systemd   bool   // systemd is the running init (/run/systemd/system exists)
	OSID      string // ID from /etc/os-release, e.g. "debian"
	OSVersion string // VERSION_ID from /etc/os-release, e.g. "12"
	Hostname  string
	// Commands says, for systemctl, sudo, memcached, apt-get, dnf, yum,
	// apk and sha256sum, whether `command -v` finds it.
	Commands map[string]bool
}

// factsScript prints one key=value line per fact. os-release is read in
// a subshell so its variables cannot leak into the rest.
func factsScript() string {
	return `echo "machine=$(uname -m)"
echo "hostname=$(uname -n)"
if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi
( . /etc/os-release 2>/dev/null; echo "id=${ID:-}"; echo "version=${VERSION_ID:-}" )
for c in ` + strings.Join(factCommands(), " ") + `; do
  if command -v "$c" >/dev/null 2>&1; then echo "cmd=$c"; fi
done
`
}

// Facts gathers the host's facts in one command.
func (c *Client) Facts(ctx context.Context) (Facts, error) {
	out, err := c.Run(ctx, factsScript(), nil)
	if err != nil {
		return Facts{}, fmt.Errorf("gather facts: %w", err)
	}
	return parseFacts(out), nil
}

// parseFacts reads the output of factsScript.
func parseFacts(out []byte) Facts {
	f := Facts{Commands: map[string]bool{}}
	for _, name := range factCommands() {
		f.Commands[name] = false
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), "=")
		switch key {
		case "machine":
			f.Machine, f.Arch = value, goarch(value)
		case "hostname":
			f.Hostname = value
		case "systemd":
			f.Systemd = value == "1"
		case "id":
			f.OSID = value
		case "version":
			f.OSVersion = value
		case "cmd":
			f.Commands[value] = true
		}
	}
	return f
}

// goarch maps `uname -m` to GOARCH.
func goarch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64", "aarch64_be":
		return "arm64"
	case "armv5l", "armv6l", "armv7l", "armv8l", "armhf", "arm":
		return "arm"
	case "i386", "i486", "i586", "i686":
		return "386"
	case "ppc64le", "ppc64", "s390x", "riscv64", "mips64", "mips", "loong64":
		return machine
	case "mips64el":
		return "mips64le"
	case "mipsel":
		return "mipsle"
	}
	return ""
}
