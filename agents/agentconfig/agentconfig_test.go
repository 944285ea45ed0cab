package agentconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"minutes", `"30m"`, 30 * time.Minute, false},
		{"empty is zero", `""`, 0, false},
		{"number refused", `30`, 0, true},
		{"garbage refused", `"soon"`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v; want error %v", tt.in, err, tt.wantErr)
			}
			if time.Duration(d) != tt.want {
				t.Errorf("Unmarshal(%s) = %v; want %v", tt.in, time.Duration(d), tt.want)
			}
		})
	}
	out, err := json.Marshal(Duration(2 * time.Second))
	if err != nil || string(out) != `"2s"` {
		t.Errorf("Marshal(2s) = %s, %v; want \"2s\"", out, err)
	}
}

func TestLoad(t *testing.T) {
	type cfg struct {
		Name    string   `json:"name"`
		Timeout Duration `json:"timeout"`
	}
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"valid", `{"name":"n1","timeout":"1m"}`, ""},
		{"unknown field", `{"name":"n1","nmae":"x"}`, `unknown field "nmae"`},
		{"trailing data", `{"name":"n1"} {"name":"n2"}`, "trailing data"},
		{"not json", `name = "n1"`, "load cache config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache-n1.json")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			var c cfg
			err := Load(path, "cache", &c)
			if tt.wantErr == "" {
				if err != nil || c.Name != "n1" || time.Duration(c.Timeout) != time.Minute {
					t.Errorf("Load = %+v, %v; want name n1, timeout 1m", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error = %v; want it to mention %q", err, tt.wantErr)
			}
		})
	}
	if err := Load(filepath.Join(t.TempDir(), "missing.json"), "app", new(cfg)); err == nil {
		t.Error("Load of a missing file: got nil error")
	}
}
