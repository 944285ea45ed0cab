package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/verify"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErr  string
		rounds   int
		duration time.Duration
	}{
		{name: "defaults", args: nil, rounds: 3, duration: 5 * time.Second},
		{name: "set", args: []string{"-rounds", "1", "-duration", "2s", "-chdir", "/x"}, rounds: 1, duration: 2 * time.Second},
		{name: "zero rounds", args: []string{"-rounds", "0"}, wantErr: "must be positive"},
		{name: "negative duration", args: []string{"-duration", "-1s"}, wantErr: "must be positive"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, err := parseArgs(tt.args, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseArgs(%q) error = %v; want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if opt.rounds != tt.rounds || opt.o.Duration != tt.duration {
				t.Errorf("got rounds %d, duration %v; want %d, %v", opt.rounds, opt.o.Duration, tt.rounds, tt.duration)
			}
		})
	}
}

func TestPrintResult(t *testing.T) {
	var out, errs bytes.Buffer
	r := verify.Result{Name: "network-cut", Pass: true, Requests: 120, Errors: 2, Lost: 1,
		Worst: 1500 * time.Millisecond, Recovery: 900 * time.Millisecond, Detail: "2 failed requests"}
	printResult(&out, &errs, "failover", r)
	if got, want := out.String(), "failover network-cut 120 2 1 1500 900 1\n"; got != want {
		t.Errorf("line = %q; want %q", got, want)
	}
	if got, want := errs.String(), "failover network-cut: 2 failed requests\n"; got != want {
		t.Errorf("detail = %q; want %q", got, want)
	}
}
