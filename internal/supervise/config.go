package supervise

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteConfig installs data as the config of role name the way the
// provisioner installs files: a temporary file beside the target, fsynced,
// mode 0600 (configs may hold secrets), renamed over the old config, then
// the directory fsynced; a reader sees the old file or the new, never part.
func (h Host) WriteConfig(name string, data []byte) error {
	h = h.withDefaults()
	if _, err := Kind(name); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.MkdirAll(h.ConfigDir, 0o755); err != nil {
		return fmt.Errorf("write config of %s: %w", name, err)
	}
	if err := writeFileDurable(h.ConfigFile(name), data, 0o600); err != nil {
		return fmt.Errorf("write config of %s: %w", name, err)
	}
	return nil
}

// writeFileDurable is writeFileAtomic with fsyncs and a mode, for files
// that must survive a crash right after the write.
func writeFileDurable(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".sf-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // best effort: the rename is done either way
		d.Close()
	}
	return nil
}
