package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stickyform/stickyform/internal/lab"
	"github.com/stickyform/stickyform/internal/lab/labtest"
)

func TestLabUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no subcommand", args: []string{"lab"}, wantErr: "exit status 1"},
		{name: "unknown subcommand", args: []string{"lab", "sideways"}, wantErr: `unknown lab command "sideways"`},
		{name: "too many hosts", args: []string{"lab", "up", "-hosts", "300"}, wantErr: "want 1 to 253"},
		{name: "no hosts", args: []string{"lab", "up", "-hosts=0"}, wantErr: "want 1 to 253"},
		{name: "stray argument", args: []string{"lab", "up", "extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), tt.args, nil, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run %q: got %v; want error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// TestLabCommands drives up, status and down on a lab. labtest holds the
// machine-wide lab lock meanwhile, so the commands run without taking it.
func TestLabCommands(t *testing.T) {
	labtest.Start(t, 2)
	noLock := func(*env) (func(), error) { return func() {}, nil }
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		e := &env{ctx: context.Background(), stdout: &out, stderr: &out}
		err := labMain(e, args, noLock)
		return out.String(), err
	}
	tests := []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{args: []string{"up", "-hosts", "2"}, want: []string{"Lab already up: nothing to do.", "server3   172.25.1.3",
			"ssh -i /var/lib/stickyform-lab/id_ed25519 -o UserKnownHostsFile=/var/lib/stickyform-lab/known_hosts root@172.25.1.3"}},
		{args: []string{"status"}, want: []string{"server2   172.25.1.2   up", "2 of 2 hosts up"}},
		{args: []string{"down"}, want: []string{"removed server2", "removed bridge sflab0", "Lab down"}},
		{args: []string{"status"}, wantErr: true},
		{args: []string{"down"}, want: []string{"No lab: nothing to remove."}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := run(tt.args...)
			if tt.wantErr != (err != nil) {
				t.Fatalf("lab %v: got error %v; want error %v\n%s", tt.args, err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lab %v output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
	if left := lab.Leftovers(lab.DefaultDir); len(left) != 0 {
		t.Errorf("after lab down: %v left", left)
	}
}
