package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cache-n1.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name, json string
		want       Config
		wantErr    string
	}{
		{"contract example",
			`{"name":"n1","listen":"172.25.1.3:11211","memory_mb":64,"max_item_size":1048576,"max_conns":1024,"engine":"builtin"}`,
			Config{Name: "n1", Listen: "172.25.1.3:11211", MemoryMB: 64, MaxItemSize: 1048576, MaxConns: 1024, Engine: "builtin"}, ""},
		{"unknown field", `{"listen":"127.0.0.1:1","memory":64}`, Config{}, `unknown field "memory"`},
		{"not json", `listen=1`, Config{}, "invalid character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadConfig(writeFile(t, tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	file := writeFile(t, `{"name":"n1","listen":"127.0.0.1:11211","memory_mb":64,"max_item_size":2097152,"max_conns":10,"engine":"memcached"}`)
	cases := []struct {
		name    string
		args    []string
		want    Config
		wantErr string
	}{
		{"flags only", []string{"-listen", "127.0.0.1:1", "-memory-mb", "8", "-max-item-size", "512k"},
			Config{Listen: "127.0.0.1:1", MemoryMB: 8, MaxItemSize: 512 << 10, MaxConns: 1024, Engine: "builtin"}, ""},
		{"file only", []string{"-config", file},
			Config{Name: "n1", Listen: "127.0.0.1:11211", MemoryMB: 64, MaxItemSize: 2 << 20, MaxConns: 10, Engine: "memcached"}, ""},
		{"set flags override the file", []string{"-config", file, "-memory-mb", "16", "-engine", "builtin", "-max-item-size", "1m"},
			Config{Name: "n1", Listen: "127.0.0.1:11211", MemoryMB: 16, MaxItemSize: 1 << 20, MaxConns: 10, Engine: "builtin"}, ""},
		{"listen required", []string{"-memory-mb", "8"}, Config{}, "listen address is required"},
		{"bad engine", []string{"-listen", "127.0.0.1:1", "-engine", "redis"}, Config{}, `engine "redis"`},
		{"item larger than memory", []string{"-listen", "127.0.0.1:1", "-memory-mb", "1", "-max-item-size", "2m"}, Config{}, "larger than memory_mb"},
		{"bad size", []string{"-listen", "127.0.0.1:1", "-max-item-size", "big"}, Config{}, "want a size"},
		{"stray argument", []string{"-listen", "127.0.0.1:1", "extra"}, Config{}, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			got, err := parseFlags(tc.args, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestMemcachedArgs(t *testing.T) {
	cfg := Config{Listen: "172.25.1.3:11211", MemoryMB: 64, MaxItemSize: 1 << 20, MaxConns: 1024}
	got, err := memcachedArgs(cfg, false)
	want := "-l 172.25.1.3 -p 11211 -m 64 -I 1048576 -c 1024 -U 0"
	if err != nil || strings.Join(got, " ") != want {
		t.Errorf("got %q, %v; want %q", strings.Join(got, " "), err, want)
	}
	root, _ := memcachedArgs(cfg, true)
	if n := len(root); n < 2 || root[n-2] != "-u" {
		t.Errorf("as root: got %q; want a -u user to drop privileges", root)
	}
}
