// Package labtest gives tests a fresh lab: Start skips when this machine
// cannot make one, serialises labs across test processes, and removes the
// lab when the test ends.
package labtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stickyform/stickyform/internal/lab"
)

// Start brings up a fresh lab of n hosts for t and takes it down on
// cleanup. It skips with the reason when not root or when namespaces
// cannot be made. It holds the machine-wide lab lock from before up until
// after down, since go test runs packages in parallel and only one lab
// can exist. Any lab already there is taken down first.
func Start(t testing.TB, n int) *lab.Lab {
	t.Helper()
	if reason := cannotMakeLab(); reason != "" {
		t.Skip("no lab: " + reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	unlock, err := lab.Lock(ctx, func() { t.Logf("waiting for the lab lock %s", lab.LockFile) })
	if err != nil {
		t.Fatal(err)
	}
	down := func() {
		if _, err := lab.Down(context.Background(), ""); err != nil {
			t.Errorf("lab down: %v", err)
		}
	}
	if _, err := lab.Down(ctx, ""); err != nil {
		unlock()
		t.Fatalf("remove the previous lab: %v", err)
	}
	l, _, err := lab.Up(ctx, lab.Options{Hosts: n})
	if err != nil {
		down()
		unlock()
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() { down(); unlock() })
	if err := l.Check(); err != nil {
		t.Fatalf("lab check: %v", err)
	}
	return l
}

// cannotMakeLab says why this machine cannot make a lab, or "".
func cannotMakeLab() string {
	if os.Geteuid() != 0 {
		return "not root (the lab makes network namespaces, a bridge and mounts; run the tests as root)"
	}
	for _, c := range []string{"ip", "unshare", "nsenter"} {
		if _, err := exec.LookPath(c); err != nil {
			return c + " is not installed (iproute2, util-linux)"
		}
	}
	if out, err := exec.Command("unshare", "--net", "--uts", "--mount", "true").CombinedOutput(); err != nil {
		return "cannot make namespaces here: " + err.Error() + ": " + string(out)
	}
	return ""
}
