package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// LockFile serialises users of the lab across processes: there is one lab
// per machine, and go test runs packages in parallel.
const LockFile = "/run/stickyform-lab.lock"

// Lock takes the lab lock, calling waiting once if another process holds
// it, and returns the function that releases it.
func Lock(ctx context.Context, waiting func()) (unlock func(), err error) {
	f, err := os.OpenFile(LockFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock lab: %w", err)
	}
	for announced := false; ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock lab %s: %w", LockFile, err)
		}
		if !announced && waiting != nil {
			waiting()
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock lab %s: %w", LockFile, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
