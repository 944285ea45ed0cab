package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// state is what lab up made, saved as state.json in the lab directory.
type state struct {
	Hosts []hostState `json:"hosts"`
	// CreatedDirs are mount points lab up created on the machine (for
	// example /etc/stickyform); down removes them when empty.
	CreatedDirs []string `json:"created_dirs,omitempty"`
}

type hostState struct {
	Host
	Num    int    `json:"num"`
	Veth   string `json:"veth"`
	Holder proc   `json:"holder"`
	SSHD   proc   `json:"sshd"`
}

// proc identifies a process by PID and start time (clock ticks after
// boot), so a PID reused by an unrelated process is never taken for ours.
type proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read lab state %s: %w", filepath.Join(dir, "state.json"), err)
	}
	return &st, nil
}

// save writes the state atomically.
func (st *state) save(dir string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "state.json"), append(b, '\n'), 0o600)
}

// writeFileAtomic writes a temp file beside path, fsyncs and renames it.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// procOf identifies a running process.
func procOf(pid int) proc {
	start, _, _ := procStat(pid)
	return proc{PID: pid, Start: start}
}

// procStat reads a process's start time and state letter.
func procStat(pid int) (start uint64, st byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may contain spaces; fields resume after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	return start, fields[0][0], err
}

// alive reports whether p is still the process it was and has not exited
// (a zombie counts as ended).
func (p proc) alive() bool {
	if p.PID <= 0 {
		return false
	}
	start, st, err := procStat(p.PID)
	return err == nil && start == p.Start && st != 'Z' && st != 'X'
}

// stop sends SIGTERM to the processes, waits up to grace for them to end,
// then SIGKILLs the rest and waits again.
func stop(procs []proc, grace time.Duration) error {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		for _, p := range procs {
			if p.alive() {
				syscall.Kill(p.PID, sig)
			}
		}
		deadline := time.Now().Add(grace)
		for {
			left := 0
			for _, p := range procs {
				reap(p)
				if p.alive() {
					left++
				}
			}
			if left == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return fmt.Errorf("stop processes: some of %v survived SIGKILL", procs)
}

// reap collects p if it is an exited child of this process (lab up run
// in-process, as by labtest, makes holders and sshd its children). Only
// that exact zombie is waited for, never "any child": other code of this
// process waits for its own children.
func reap(p proc) {
	if start, st, err := procStat(p.PID); p.PID <= 0 || err != nil || start != p.Start || st != 'Z' {
		return
	}
	var ws syscall.WaitStatus
	syscall.Wait4(p.PID, &ws, syscall.WNOHANG, nil)
}

// procsInNetns lists the processes whose network namespace is the one
// bound at path.
func procsInNetns(path string) ([]proc, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil, err
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var procs []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/ns/net"); err == nil && link == want {
			if p := procOf(pid); p.alive() {
				procs = append(procs, p)
			}
		}
	}
	return procs, nil
}
