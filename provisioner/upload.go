package provisioner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Upload copies the local file to remote atomically: the bytes go to a
// temporary file in the target directory, which is checked, fsynced, given
// mode and owner root, and renamed over remote (so replacing a running
// binary works). When the remote sha256 already matches nothing is sent
// (the mode is still corrected). progress, when not nil, sees the bytes
// sent so far. sent reports whether bytes were sent.
func (c *Client) Upload(ctx context.Context, local, remote string, mode os.FileMode, progress func(sent, total int64)) (sent bool, err error) {
	f, err := os.Open(local)
	if err != nil {
		return false, fmt.Errorf("upload %s to %s:%s: %w", local, c.target.Name, remote, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return false, fmt.Errorf("upload %s to %s:%s: hash: %w", local, c.target.Name, remote, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("upload %s to %s:%s: %w", local, c.target.Name, remote, err)
	}
	var src io.Reader = f
	if progress != nil {
		src = &progressReader{r: f, total: size, fn: progress}
	}
	sent, _, err = c.put(ctx, src, size, hex.EncodeToString(h.Sum(nil)), remote, mode)
	if err != nil {
		return sent, fmt.Errorf("upload %s: %w", local, err)
	}
	return sent, nil
}

// WriteFile writes data to remote atomically, like Upload. changed reports
// whether the content or the mode changed.
func (c *Client) WriteFile(ctx context.Context, remote string, data []byte, mode os.FileMode) (changed bool, err error) {
	sum := sha256.Sum256(data)
	sent, chmodded, err := c.put(ctx, bytes.NewReader(data), int64(len(data)), hex.EncodeToString(sum[:]), remote, mode)
	return sent || chmodded, err
}

// put sends size bytes of src to remote unless the remote sha256 is already
// sum; it reports whether bytes were sent and whether only the mode was fixed.
func (c *Client) put(ctx context.Context, src io.Reader, size int64, sum, remote string, mode os.FileMode) (sent, chmodded bool, err error) {
	if !strings.HasPrefix(remote, "/") {
		return false, false, fmt.Errorf("write %s:%s: remote path must be absolute", c.target.Name, remote)
	}
	q, perm := shellQuote(remote), strconv.FormatUint(uint64(mode.Perm()), 8)
	// One round trip tells both the remote hash and mode.
	out, err := c.Run(ctx, "if [ -f "+q+" ]; then sha256sum < "+q+" && stat -c %a "+q+"; fi", nil)
	if err != nil {
		return false, false, fmt.Errorf("write %s:%s: check remote: %w", c.target.Name, remote, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) >= 3 && fields[0] == sum {
		if fields[2] == perm {
			return false, false, nil
		}
		if _, err := c.Run(ctx, "chmod "+perm+" "+q, nil); err != nil {
			return false, false, fmt.Errorf("write %s:%s: %w", c.target.Name, remote, err)
		}
		return false, true, nil
	}
	if _, err := c.Run(ctx, putScript(remote, size, sum, perm), src); err != nil {
		return false, false, fmt.Errorf("write %s:%s: %w", c.target.Name, remote, err)
	}
	return true, false, nil
}

// putScript receives a file on stdin into a temporary file beside remote,
// checks size and hash, fsyncs, sets mode and owner, then renames it into
// place and fsyncs the directory. Rename (never truncate in place) is what
// lets a running binary be replaced.
func putScript(remote string, size int64, sum, perm string) string {
	q := shellQuote(remote)
	return `set -e
f=` + q + `
d=$(dirname "$f")
mkdir -p "$d"
t=$(mktemp "$d/.$(basename "$f").sf-XXXXXX")
trap 'rm -f "$t"' EXIT
cat > "$t"
n=$(wc -c < "$t")
[ "$n" -eq ` + strconv.FormatInt(size, 10) + ` ] || { echo "received $n bytes; want ` + strconv.FormatInt(size, 10) + `" >&2; exit 1; }
echo "` + sum + `  $t" | sha256sum -c - >/dev/null || { echo "sha256 of received file does not match" >&2; exit 1; }
chmod ` + perm + ` "$t"
chown 0:0 "$t"
sync "$t" 2>/dev/null || sync
mv -f "$t" "$f"
trap - EXIT
sync "$d" 2>/dev/null || sync
`
}

// progressReader reports bytes read so far.
type progressReader struct {
	r     io.Reader
	sent  int64
	total int64
	fn    func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.sent += int64(n)
		p.fn(p.sent, p.total)
	}
	return n, err
}
