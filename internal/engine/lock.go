package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the lock's file name beside the configuration. It holds a
// kernel flock while a command runs, so a process that dies releases it.
const LockFile = ".stickyform.lock"

// LockInfo says who holds the lock.
type LockInfo struct {
	Who       string    `json:"who"` // user@hostname
	PID       int       `json:"pid"`
	Operation string    `json:"operation"`
	Created   time.Time `json:"created"`
}

// Lock is a held state lock.
type Lock struct {
	f *os.File
}

// LockedError is returned when another process holds the lock.
type LockedError struct {
	Path string
	Info LockInfo
}

func (e *LockedError) Error() string {
	i := e.Info
	return fmt.Sprintf("state is locked by %s (pid %d, %s) since %s; wait for it to finish, "+
		"or if that process is gone for good run: stickyform force-unlock (lock file %s)",
		i.Who, i.PID, i.Operation, i.Created.Local().Format(time.RFC3339), e.Path)
}

// AcquireLock takes dir's state lock for operation, retrying until timeout
// (0: fail at once) with a LockedError that names the holder.
func AcquireLock(ctx context.Context, dir, operation string, timeout time.Duration) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	deadline := time.Now().Add(timeout)
	for {
		l, err := tryLock(path, operation)
		var locked *LockedError
		if !errors.As(err, &locked) || !time.Now().Before(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tryLock(path, operation string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, Info: readLockInfo(path)}
		}
		return nil, fmt.Errorf("lock state: %w", err)
	}
	// force-unlock removes the file; a lock on a removed inode protects
	// nothing, so make sure we locked the file that is at path now.
	if !sameFile(f, path) {
		f.Close()
		return tryLock(path, operation)
	}
	info := LockInfo{Who: whoAmI(), PID: os.Getpid(), Operation: operation, Created: time.Now().UTC()}
	data, _ := json.Marshal(info)
	if err := f.Truncate(0); err == nil {
		f.WriteAt(append(data, '\n'), 0)
		f.Sync()
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock. The file stays (removing it would race with
// a process that just opened it).
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}

// ForceUnlock removes dir's lock file, for a holder that can no longer
// release it (a lock held over a network filesystem by a dead machine).
// It returns who held it.
func ForceUnlock(dir string) (LockInfo, error) {
	path := filepath.Join(dir, LockFile)
	info := readLockInfo(path)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return info, fmt.Errorf("force-unlock: %w", err)
	}
	return info, nil
}

func readLockInfo(path string) LockInfo {
	var info LockInfo
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &info)
	}
	if info.Who == "" {
		info.Who = "unknown"
	}
	if info.Operation == "" {
		info.Operation = "unknown operation"
	}
	return info
}

func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func whoAmI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
