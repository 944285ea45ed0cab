package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contractJSON is the proxy config of contracts.md, verbatim.
const contractJSON = `{"name":"lb","listen":"172.25.1.2:80","admin_listen":"127.0.0.1:9180",
 "backends":[{"url":"http://172.25.1.3:8080","weight":1}],
 "balance":"round-robin",
 "sticky":{"name":"route","hash":"md5","hmac_key":"","expires":"1h","domain":"",
           "path":"/","secure":false,"httponly":true,"samesite":"","no_fallback":false},
 "health_check":{"path":"/health","interval":"2s","timeout":"1s","fall":3,"rise":2},
 "access_log":"/var/log/stickyform/proxy-lb.access.log"}`

func writeFile(t *testing.T, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "proxy.json")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigContract(t *testing.T) {
	c, err := LoadConfig(writeFile(t, contractJSON))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sticky.Expires != Duration(time.Hour) || c.HealthCheck.Interval != Duration(2*time.Second) ||
		!c.Sticky.HTTPOnly || c.Backends[0].URL != "http://172.25.1.3:8080" || c.AccessLog == "" {
		t.Errorf("got %+v; want the contract's values", c)
	}
	if err := c.withDefaults().validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"unknown field", `{"listen":"127.0.0.1:80","bogus":1}`, "unknown field"},
		{"bad duration", `{"sticky":{"expires":"soon"}}`, "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	base := func() Config {
		return Config{Listen: "127.0.0.1:80", Backends: []Backend{{URL: "http://127.0.0.1:8080"}}}
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no backends", func(c *Config) { c.Backends = nil }, "backend"},
		{"https backend", func(c *Config) { c.Backends[0].URL = "https://x:1" }, "scheme"},
		{"duplicate backend", func(c *Config) { c.Backends = append(c.Backends, c.Backends[0]) }, "twice"},
		{"hmac without key", func(c *Config) { c.Sticky.Hash = "hmac" }, "hmac_key"},
		{"bad hash", func(c *Config) { c.Sticky.Hash = "crc" }, "hash"},
		{"bad balance", func(c *Config) { c.Balance = "random" }, "balance"},
		{"bad samesite", func(c *Config) { c.Sticky.SameSite = "sometimes" }, "samesite"},
		{"cookie name injection", func(c *Config) { c.Sticky.Name = "a;b" }, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mod(&c)
			err := c.withDefaults().validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v; want error containing %q", err, tt.want)
			}
		})
	}
}

// TestFlagsOverrideFile: only flags given explicitly replace file values.
func TestFlagsOverrideFile(t *testing.T) {
	path := writeFile(t, contractJSON)
	cfg, _, err := parseConfig([]string{"-config", path, "-listen", "127.0.0.1:1", "-sticky-hash", "sha1",
		"-backend", "http://127.0.0.1:2", "-backend", "http://127.0.0.1:3", "-sticky-secure", "-sticky-expires", "30m"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen (flag)", cfg.Listen, "127.0.0.1:1"},
		{"hash (flag)", cfg.Sticky.Hash, "sha1"},
		{"backends (flag)", len(cfg.Backends), 2},
		{"secure (flag)", cfg.Sticky.Secure, true},
		{"expires (flag)", cfg.Sticky.Expires, Duration(30 * time.Minute)},
		{"httponly (file)", cfg.Sticky.HTTPOnly, true},
		{"admin (file)", cfg.AdminListen, "127.0.0.1:9180"},
		{"interval (file)", cfg.HealthCheck.Interval, Duration(2 * time.Second)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v; want %v", c.name, c.got, c.want)
		}
	}
}
