package engine

import (
	"net"
	"strings"
	"testing"
)

func TestNearLink(t *testing.T) {
	_, lan, _ := net.ParseCIDR("172.25.1.1/24")
	lan.IP = net.ParseIP("172.25.1.1")
	_, lo, _ := net.ParseCIDR("127.0.0.1/8")
	local := []net.Addr{lo, lan}
	tests := []struct {
		name string
		addr net.Addr
		want bool
	}{
		{"loopback", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 22}, true},
		{"ipv6 loopback", &net.TCPAddr{IP: net.ParseIP("::1"), Port: 22}, true},
		{"same segment", &net.TCPAddr{IP: net.ParseIP("172.25.1.7"), Port: 22}, true},
		{"behind a router", &net.TCPAddr{IP: net.ParseIP("198.51.100.7"), Port: 22}, false},
		{"next segment", &net.TCPAddr{IP: net.ParseIP("172.25.2.7"), Port: 22}, false},
		{"not tcp", &net.UnixAddr{Name: "/run/x", Net: "unix"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearLink(tt.addr, local); got != tt.want {
				t.Errorf("nearLink(%v): got %v; want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestUploadScript(t *testing.T) {
	tests := []struct {
		name     string
		packed   bool
		want     []string
		wantNone []string
	}{
		{"raw", false, []string{"cat > \"$t\"", "-eq 123 ]", "=%s\\n' \"$k\" abc"}, []string{"gzip", "sha256sum"}},
		{"packed", true, []string{"gzip -dc > \"$t\"", "exit 97", "-eq 123 ]"}, []string{"sha256sum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := uploadScript("abc", 123, tt.packed)
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("script lacks %q:\n%s", w, s)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(s, w) {
					t.Errorf("script has %q:\n%s", w, s)
				}
			}
		})
	}
}
