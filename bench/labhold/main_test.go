package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunRefusesBadArguments checks that bad arguments are refused before
// the lab lock is taken or any lab is touched (so it runs without root).
func TestRunRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero hosts", []string{"-hosts", "0"}, "-hosts 0: want 1 to 253"},
		{"too many hosts", []string{"-hosts", "254"}, "-hosts 254: want 1 to 253"},
		{"unknown flag", []string{"-nodes", "3"}, "flag provided but not defined"},
		{"not a number", []string{"-hosts", "x"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v; want an error containing %q", tt.args, err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q; want nothing (no READY)", stdout.String())
			}
		})
	}
}
