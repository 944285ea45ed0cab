package provisioner

import (
	"context"
	"runtime"
	"testing"
)

func TestGoarch(t *testing.T) {
	tests := map[string]string{
		"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm",
		"i686": "386", "riscv64": "riscv64", "ppc64le": "ppc64le", "vax": "",
	}
	for machine, want := range tests {
		t.Run(machine, func(t *testing.T) {
			if got := goarch(machine); got != want {
				t.Errorf("goarch(%q): got %q; want %q", machine, got, want)
			}
		})
	}
}

func TestParseFacts(t *testing.T) {
	out := "machine=aarch64\nhostname=server3\nsystemd=1\nid=debian\nversion=12\ncmd=sudo\ncmd=sha256sum\n"
	f := parseFacts([]byte(out))
	if f.Arch != "arm64" || f.Machine != "aarch64" || !f.Systemd || f.OSID != "debian" || f.OSVersion != "12" || f.Hostname != "server3" {
		t.Errorf("parseFacts: got %+v", f)
	}
	for cmd, want := range map[string]bool{"sudo": true, "sha256sum": true, "systemctl": false, "apk": false} {
		got, listed := f.Commands[cmd]
		if !listed || got != want {
			t.Errorf("Commands[%q]: got %v (listed %v); want %v", cmd, got, listed, want)
		}
	}
}

func TestFactsOneRoundTrip(t *testing.T) {
	// The test server runs the script on this machine, so the facts are
	// this machine's.
	c, srv := connect(t, "root", Options{})
	f, err := c.Facts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != runtime.GOARCH {
		t.Errorf("Arch: got %q; want %q", f.Arch, runtime.GOARCH)
	}
	if !f.Commands["sha256sum"] {
		t.Errorf("Commands[sha256sum]: got false; want true")
	}
	if n := len(srv.received()); n != 1 {
		t.Errorf("commands sent: got %d; want 1", n)
	}
}
