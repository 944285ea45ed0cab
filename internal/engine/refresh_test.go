package engine

import (
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name       string
		out        string
		wantArch   string
		wantBin    string
		wantRoles  map[string]string // role → config hash
		wantSysd   bool
		wantFallbk bool
	}{
		{
			name:     "agent answers",
			out:      `{"version":"dev","binary_sha256":"abc","arch":"arm64","systemd":true,"roles":[{"name":"app-a","config_sha256":"c1","running":true,"healthy":true,"pid":7,"manager":"systemd"}]}` + "\n",
			wantArch: "arm64", wantBin: "abc", wantSysd: true,
			wantRoles: map[string]string{"app-a": "c1"},
		},
		{
			name:     "fresh host",
			out:      "#fallback\nx86_64\nnosystemd\n",
			wantArch: "amd64", wantFallbk: true, wantRoles: map[string]string{},
		},
		{
			name: "binary replaced, configs left",
			out: "#fallback\naarch64\nsystemd\n" +
				"ffff  /opt/stickyform/bin/stickyform\n" +
				"c2  /etc/stickyform/cache-n1.json\n" +
				"c3  /etc/stickyform/notarole.json\n",
			wantArch: "arm64", wantBin: "ffff", wantSysd: true, wantFallbk: true,
			wantRoles: map[string]string{"cache-n1": "c2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := parseStatus([]byte(tt.out))
			if err != nil {
				t.Fatal(err)
			}
			if hs.Arch != tt.wantArch || hs.BinarySHA256 != tt.wantBin || hs.Systemd != tt.wantSysd || hs.Fallback != tt.wantFallbk {
				t.Errorf("got arch %q bin %q systemd %v fallback %v; want %q %q %v %v",
					hs.Arch, hs.BinarySHA256, hs.Systemd, hs.Fallback, tt.wantArch, tt.wantBin, tt.wantSysd, tt.wantFallbk)
			}
			if len(hs.Roles) != len(tt.wantRoles) {
				t.Errorf("roles: got %v; want %v", hs.Roles, tt.wantRoles)
			}
			for name, sum := range tt.wantRoles {
				if hs.Roles[name].ConfigSHA256 != sum {
					t.Errorf("role %s: got config hash %q; want %q", name, hs.Roles[name].ConfigSHA256, sum)
				}
			}
		})
	}
	for _, bad := range []string{"not json", "#fallback\nsparc64\nnosystemd\n", "#fallback\n"} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q): got no error", bad)
		}
	}
}
