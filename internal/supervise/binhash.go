package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// binarySHA256 returns the hash of the roles' binary. Hashing 15 MB on
// every refresh is most of a status query's time, so the hash is kept in
// StateDir keyed by the file's identity (device, inode, size, mtime and
// ctime: any write or replacement changes one of them, and ctime cannot
// be set back).
func (h Host) binarySHA256() (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(h.Binary, &st); err != nil {
		return "", err
	}
	key := fmt.Sprintf("%d %d %d %d.%d %d.%d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	cache := filepath.Join(h.StateDir, "binary.sha256")
	if b, err := os.ReadFile(cache); err == nil {
		if k, sum, ok := strings.Cut(strings.TrimSpace(string(b)), "="); ok && k == key {
			return sum, nil
		}
	}
	sum, err := FileSHA256(h.Binary)
	if err != nil {
		return "", err
	}
	// Best effort: without the cache the next query hashes again.
	if os.MkdirAll(h.StateDir, 0o755) == nil {
		writeFileAtomic(cache, []byte(key+"="+sum+"\n"))
	}
	return sum, nil
}
