package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Down removes the lab in dir ("" for DefaultDir): every process in its
// namespaces (by PID), veth links, network namespaces, the bridge, the
// mount points lab up created, and the lab directory. Namespaces and
// links named sflab-* and the bridge sflab0 are removed even when the
// state file is lost: those names belong to the lab. It returns what it
// removed (empty when there was no lab).
func Down(ctx context.Context, dir string) ([]string, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if dir == "" {
		dir = DefaultDir
	}
	st, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &state{}
	}
	var mu sync.Mutex
	var did []string
	note := func(format string, args ...any) {
		mu.Lock()
		did = append(did, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	hosts := hostsToRemove(st)
	errs := make(chan error, len(hosts))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for k, procs := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := removeHost(k, procs); err != nil {
				errs <- err
				return
			}
			note("removed %s", hostFor(k).Name)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return did, fmt.Errorf("lab down: %w", err)
	}
	if err := removeLinks(ctx, note); err != nil {
		return did, fmt.Errorf("lab down: %w", err)
	}
	for i := len(st.CreatedDirs) - 1; i >= 0; i-- {
		if err := os.Remove(st.CreatedDirs[i]); err == nil {
			note("removed mount point %s", st.CreatedDirs[i])
		}
	}
	if _, err := os.Stat(dir); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return did, fmt.Errorf("lab down: %w", err)
		}
		note("removed %s", dir)
	}
	sort.Strings(did)
	return did, nil
}

// hostsToRemove maps host numbers to their recorded processes: those in
// the state file and any sflab-serverK namespace found.
func hostsToRemove(st *state) map[int][]proc {
	hosts := map[int][]proc{}
	for _, h := range st.Hosts {
		hosts[h.Num] = []proc{h.SSHD, h.Holder}
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if n, ok := strings.CutPrefix(e.Name(), prefix+"-server"); ok {
			if k, err := strconv.Atoi(n); err == nil {
				if _, seen := hosts[k]; !seen {
					hosts[k] = nil
				}
			}
		}
	}
	return hosts
}

// removeHost ends every process of host k and deletes its veth and
// network namespace. Processes are stopped first: a namespace with
// processes in it outlives `ip netns del`.
func removeHost(k int, recorded []proc) error {
	h := hostFor(k)
	procs := append([]proc(nil), recorded...)
	if _, err := os.Stat(netnsPath(h.Netns)); err == nil {
		inNs, err := procsInNetns(netnsPath(h.Netns))
		if err != nil {
			return fmt.Errorf("remove %s: %w", h.Name, err)
		}
		procs = append(procs, inNs...)
	}
	if err := stop(procs, 3*time.Second); err != nil {
		return fmt.Errorf("remove %s: %w", h.Name, err)
	}
	ctx := context.Background()
	if _, err := net.InterfaceByName(vethName(k)); err == nil {
		if err := ipCmd(ctx, "link", "del", vethName(k)); err != nil {
			return fmt.Errorf("remove %s: %w", h.Name, err)
		}
	}
	if _, err := os.Stat(netnsPath(h.Netns)); err == nil {
		if err := ipCmd(ctx, "netns", "del", h.Netns); err != nil {
			return fmt.Errorf("remove %s: %w", h.Name, err)
		}
	}
	return nil
}

// removeLinks deletes leftover sflab-v* veths and the bridge.
func removeLinks(ctx context.Context, note func(string, ...any)) error {
	ifcs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifc := range ifcs {
		if strings.HasPrefix(ifc.Name, prefix+"-v") {
			if err := ipCmd(ctx, "link", "del", ifc.Name); err != nil {
				return err
			}
			note("removed link %s", ifc.Name)
		}
	}
	if _, err := net.InterfaceByName(Bridge); err == nil {
		if err := ipCmd(ctx, "link", "del", Bridge); err != nil {
			return err
		}
		note("removed bridge %s", Bridge)
	}
	return nil
}

// Leftovers lists what exists of the lab on this machine (for tests and
// messages): namespaces, links named sflab* and the lab directory in dir
// ("" for DefaultDir).
func Leftovers(dir string) []string {
	if dir == "" {
		dir = DefaultDir
	}
	var found []string
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			found = append(found, filepath.Join("/run/netns", e.Name()))
		}
	}
	ifcs, _ := net.Interfaces()
	for _, ifc := range ifcs {
		if strings.HasPrefix(ifc.Name, prefix) {
			found = append(found, "link "+ifc.Name)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		found = append(found, dir)
	}
	return found
}
