package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/stickyform/stickyform/internal/supervise"
)

// Remote paths of the layout (DESIGN.md "Remote layout").
const (
	remoteBinary    = supervise.DefaultBinary
	remoteConfigDir = supervise.DefaultConfigDir
)

// statusScript asks a host what is there in one round trip: the agent's
// own status when the deployed binary runs, else (first apply, or a
// binary that was replaced) the same facts gathered by the shell.
const statusScript = `b=` + remoteBinary + `
if [ -x "$b" ] && out=$("$b" agent status 2>/dev/null); then printf '%s\n' "$out"; else
echo '#fallback'; uname -m
if [ -d /run/systemd/system ]; then echo systemd; else echo nosystemd; fi
sha256sum "$b" ` + remoteConfigDir + `/*.json 2>/dev/null; true
fi`

// hostStatus is what refresh found on one host.
type hostStatus struct {
	Arch         string
	Systemd      bool
	BinarySHA256 string // "" when there is no binary
	// Fallback is set when the deployed binary did not answer (absent or
	// replaced): no agent can be known to run.
	Fallback bool
	Roles    map[string]supervise.RoleStatus
}

// refreshHost runs the status query on c.
func refreshHost(ctx context.Context, c conn) (*hostStatus, error) {
	out, err := c.Run(ctx, statusScript, nil)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return parseStatus(out)
}

func parseStatus(out []byte) (*hostStatus, error) {
	if bytes.HasPrefix(out, []byte("#fallback\n")) {
		return parseFallback(out)
	}
	var st supervise.Status
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("refresh: read agent status: %w; output:\n%s", err, out)
	}
	hs := &hostStatus{Arch: st.Arch, Systemd: st.Systemd, BinarySHA256: st.BinarySHA256, Roles: map[string]supervise.RoleStatus{}}
	for _, r := range st.Roles {
		hs.Roles[r.Name] = r
	}
	return hs, nil
}

// parseFallback reads the shell's answer: uname -m, systemd or not, then
// sha256sum lines for the binary and the role configs.
func parseFallback(out []byte) (*hostStatus, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 {
		return nil, fmt.Errorf("refresh: short status answer:\n%s", out)
	}
	arch, err := goarch(lines[1])
	if err != nil {
		return nil, err
	}
	hs := &hostStatus{Arch: arch, Systemd: lines[2] == "systemd", Fallback: true, Roles: map[string]supervise.RoleStatus{}}
	for _, l := range lines[3:] {
		sum, file, ok := strings.Cut(l, "  ")
		if !ok {
			continue
		}
		if file == remoteBinary {
			hs.BinarySHA256 = sum
			continue
		}
		name := strings.TrimSuffix(path.Base(file), ".json")
		if _, err := supervise.Kind(name); err == nil {
			hs.Roles[name] = supervise.RoleStatus{Name: name, ConfigSHA256: sum}
		}
	}
	return hs, nil
}

// goarch maps `uname -m` to GOARCH.
func goarch(machine string) (string, error) {
	switch strings.TrimSpace(machine) {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	case "armv7l", "armv6l":
		return "arm", nil
	case "i386", "i686":
		return "386", nil
	case "riscv64":
		return "riscv64", nil
	case "ppc64le":
		return "ppc64le", nil
	case "s390x":
		return "s390x", nil
	}
	return "", fmt.Errorf("refresh: unsupported machine %q", machine)
}
