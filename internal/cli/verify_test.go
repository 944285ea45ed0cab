package cli

import (
	"strings"
	"testing"
)

// TestVerifyRefusesEarly covers what verify checks before it touches a
// host; the scenarios themselves run against the lab in
// internal/verify/live.
func TestVerifyRefusesEarly(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stderr
	}{
		{"unknown scenario", []string{"verify", "-scenario", "sticky,chaos"}, 1, `unknown scenario "chaos"`},
		{"stray argument", []string{"verify", "now"}, 1, `unexpected arguments ["now"]`},
		{"nothing deployed", []string{"verify"}, 1, "run 'stickyform apply' first"},
		{"help", []string{"verify", "-h"}, 0, "-scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := classicCopy(t, "", "") // a valid config and no state
			_, stderr, code := run(t, "", append([]string{"-chdir", dir}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit %d, stderr %q; want exit %d and %q", code, stderr, tt.wantCode, tt.want)
			}
		})
	}
}
