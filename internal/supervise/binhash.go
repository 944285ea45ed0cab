package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// BinaryKeyStatFormat is the `stat -c` format (GNU coreutils) that prints
// the identity key binarySHA256 keys its cached hash by, so that whoever
// installs a binary whose hash it already knows (the engine's upload)
// can record it and spare the first status query hashing 15 MB.
const BinaryKeyStatFormat = "%d %i %s %.9Y %.9Z"

// BinaryHashFile is the file under StateDir caching the binary's hash as
// one line "KEY=SHA256".
const BinaryHashFile = "binary.sha256"

// binarySHA256 returns the hash of the roles' binary. Hashing 15 MB on
// every refresh is most of a status query's time, so the hash is kept in
// StateDir keyed by the file's identity (device, inode, size, mtime and
// ctime: any write or replacement changes one of them, and ctime cannot
// be set back).
func (h Host) binarySHA256() (string, error) {
	key, err := binaryKey(h.Binary)
	if err != nil {
		return "", err
	}
	cache := filepath.Join(h.StateDir, BinaryHashFile)
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

// binaryKey is the identity key of path, as BinaryKeyStatFormat prints it.
func binaryKey(path string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d %d %d.%09d %d.%09d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), nil
}
