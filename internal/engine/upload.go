package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/stickyform/stickyform/provisioner"
)

// noGzip is the exit status of uploadScript on a host without gzip.
const noGzip = 97

// uploadScript receives the gzipped binary on stdin and installs it the
// way the provisioner installs files (temp file beside the target, hash
// check, fsync, rename: a running binary can be replaced), unpacking on
// the host. A Go binary packs to under half its size, and the bytes on
// the wire are what a cold apply waits for.
func uploadScript(sum string) string {
	return fmt.Sprintf(`set -e
command -v gzip >/dev/null 2>&1 || exit %d
f=%s
d=$(dirname "$f")
mkdir -p "$d"
t=$(mktemp "$d/.stickyform.sf-XXXXXX")
trap 'rm -f "$t"' EXIT
gzip -dc > "$t"
echo "%s  $t" | sha256sum -c - >/dev/null || { echo "sha256 of the received binary does not match" >&2; exit 1; }
chmod 755 "$t"
chown 0:0 "$t"
sync "$t" 2>/dev/null || sync
mv -f "$t" "$f"
trap - EXIT
`, noGzip, remoteBinary, sum)
}

// packed holds gzipped builds, made once per file and shared by hosts.
type packed struct {
	mu    sync.Mutex
	files map[string]*packedFile
}

type packedFile struct {
	once sync.Once
	data []byte
	err  error
}

func (p *packed) get(path string) ([]byte, error) {
	p.mu.Lock()
	if p.files == nil {
		p.files = map[string]*packedFile{}
	}
	f := p.files[path]
	if f == nil {
		f = &packedFile{}
		p.files[path] = f
	}
	p.mu.Unlock()
	f.once.Do(func() { f.data, f.err = gzipFile(path) })
	return f.data, f.err
}

func gzipFile(path string) ([]byte, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(zw, src); err != nil {
		return nil, fmt.Errorf("compress %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// prefetch starts packing the builds the plan will upload, so that the
// work overlaps the confirmation prompt instead of delaying the upload.
func (e *Engine) prefetch(p *Plan) {
	for _, hp := range p.Hosts {
		if hp.Binary != "" && hp.BinarySHA256 != "" && hp.RemoteBinarySHA256 != hp.BinarySHA256 && planTouchesHost(p, hp.Host.Name) {
			go e.packed.get(hp.Binary)
		}
	}
}

// uploadBinary installs the build at path (hash sum) as the host's
// stickyform, compressed on the wire when the host has gzip.
func (a *applier) uploadBinary(ctx context.Context, c conn, path, sum string) error {
	data, err := a.e.packed.get(path)
	if err != nil {
		return err
	}
	_, err = c.Run(ctx, uploadScript(sum), bytes.NewReader(data))
	var exit *provisioner.ExitError
	if errors.As(err, &exit) && exit.Code == noGzip {
		_, err = c.Upload(ctx, path, remoteBinary, 0o755, nil)
	}
	return err
}
