// Package engine turns a stickyform configuration into running agents on
// hosts, Terraform's way: it builds the dependency graph of the desired
// resources, refreshes what really runs on the hosts, plans the
// difference, applies it over SSH in parallel, keeps the state file and
// its lock, and destroys everything on request.
package engine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// StateFile is the state's file name beside the configuration.
const StateFile = "stickyform.state.json"

// stateVersion is the format version of the state file.
const stateVersion = 1

// State is what stickyform deployed, as of its last apply. It never holds
// a private key: hosts are recorded by address, user and key file path.
type State struct {
	Version   int                    `json:"version"`
	Lineage   string                 `json:"lineage"`
	Serial    int                    `json:"serial"`
	Hosts     []*HostState           `json:"hosts"`
	Resources []*ResourceState       `json:"resources"`
	Outputs   map[string]OutputState `json:"outputs,omitempty"`
}

// HostState is how to reach a host that has (or had) resources.
type HostState struct {
	Name         string `json:"name"`
	Address      string `json:"address"`
	Port         int    `json:"port"`
	User         string `json:"user"`
	IdentityFile string `json:"identity_file,omitempty"`
	KnownHosts   string `json:"known_hosts,omitempty"`
	HostKey      string `json:"host_key,omitempty"`
	// Arch is the host's GOARCH as last seen (for plans without refresh).
	Arch string `json:"arch,omitempty"`
}

// ResourceState is one deployed agent role.
type ResourceState struct {
	Addr         string          `json:"addr"` // "app.tomcat1"
	Kind         string          `json:"kind"` // "cache", "app" or "proxy"
	Name         string          `json:"name"`
	HostName     string          `json:"host"`
	HostAddress  string          `json:"host_address"`
	Listen       string          `json:"listen"` // host:port the agent serves
	ConfigSHA256 string          `json:"config_sha256"`
	BinarySHA256 string          `json:"binary_sha256"`
	Config       json.RawMessage `json:"config"` // the deployed agent config
	Dependencies []string        `json:"dependencies,omitempty"`
}

// OutputState is an output value as of the last apply.
type OutputState struct {
	Value     json.RawMessage `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// RoleName is the resource's name on its host: "<kind>-<name>".
func (r *ResourceState) RoleName() string { return r.Kind + "-" + r.Name }

// LoadState reads dir's state file. A missing file is an empty state
// (serial 0, no lineage yet: the first Save gives it one).
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return &State{Version: stateVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("load state %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.Version > stateVersion {
		return nil, fmt.Errorf("load state: format version %d is newer than this stickyform understands (%d)", s.Version, stateVersion)
	}
	return &s, nil
}

// Save writes the state atomically (temp file, fsync, rename, fsync of
// the directory), keeping the previous file as StateFile+".backup". It
// increments Serial.
func (s *State) Save(dir string) error {
	data, err := s.encode()
	if err != nil {
		return err
	}
	return writeState(dir, data)
}

// encode stamps s as a new version (serial) and returns its file content.
func (s *State) encode() ([]byte, error) {
	s.Version = stateVersion
	if s.Lineage == "" {
		s.Lineage = newLineage()
	}
	s.Serial++
	s.sort()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	return append(data, '\n'), nil
}

// writeState replaces the state file in dir with data, keeping the
// previous version as the backup.
func writeState(dir string, data []byte) error {
	path := filepath.Join(dir, StateFile)
	if old, err := os.ReadFile(path); err == nil {
		if err := writeAtomic(path+".backup", old); err != nil {
			return fmt.Errorf("save state backup: %w", err)
		}
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Resource returns the resource at addr, or nil.
func (s *State) Resource(addr string) *ResourceState {
	for _, r := range s.Resources {
		if r.Addr == addr {
			return r
		}
	}
	return nil
}

// Host returns the host named name, or nil.
func (s *State) Host(name string) *HostState {
	for _, h := range s.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// setResource replaces or adds r; a nil r with addr removes it.
func (s *State) setResource(addr string, r *ResourceState) {
	out := s.Resources[:0]
	for _, old := range s.Resources {
		if old.Addr != addr {
			out = append(out, old)
		}
	}
	if r != nil {
		out = append(out, r)
	}
	s.Resources = out
}

// setHost records h, replacing a host of the same name.
func (s *State) setHost(h *HostState) {
	for i, old := range s.Hosts {
		if old.Name == h.Name {
			s.Hosts[i] = h
			return
		}
	}
	s.Hosts = append(s.Hosts, h)
}

// pruneHosts drops hosts that no resource uses any more.
func (s *State) pruneHosts() {
	used := map[string]bool{}
	for _, r := range s.Resources {
		used[r.HostName] = true
	}
	out := s.Hosts[:0]
	for _, h := range s.Hosts {
		if used[h.Name] {
			out = append(out, h)
		}
	}
	s.Hosts = out
}

func (s *State) sort() {
	sort.Slice(s.Resources, func(i, j int) bool { return s.Resources[i].Addr < s.Resources[j].Addr })
	sort.Slice(s.Hosts, func(i, j int) bool { return s.Hosts[i].Name < s.Hosts[j].Name })
}

func newLineage() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeAtomic replaces path with data: temp file in the same directory,
// fsync, rename, then fsync of the directory so the rename is durable.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
