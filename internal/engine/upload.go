package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"sync"

	"github.com/stickyform/stickyform/internal/supervise"
	"github.com/stickyform/stickyform/provisioner"
)

// noGzip is the exit status of uploadScript on a host without gzip.
const noGzip = 97

// fSetPipeSize is Linux's F_SETPIPE_SZ fcntl; uploadPipeSize the size the
// upload asks for its stdin pipe (Linux's default pipe-max-size).
const (
	fSetPipeSize   = 1031
	uploadPipeSize = 1 << 20
)

// uploadScript receives the binary (gzipped when packed) on stdin and
// installs it the way the provisioner installs files (temp file beside
// the target, size check, fsync, rename: a running binary can be
// replaced). It does not hash the received bytes again: SSH's MAC already
// guards them on the wire (and gzip's CRC the unpacking), and the size
// check catches a short write. It records the hash the CLI computed in
// the agent's hash cache, keyed by the installed file's identity, so the
// next status query does not hash 15 MB either.
//
// It runs as root (directly or under sudo), so the file it creates is
// root's without a chown, and its temp name needs no mktemp: the shell's
// pid is unique on the host. Every process it starts costs the host a
// fork and an exec, on each host of a cold apply.
//
// sshd feeds stdin through a pipe of 64 KiB: while the receiver waits to
// be scheduled, sshd's channel buffer grows to the SSH window (2 MiB) and
// every packet then costs it a buffer copy; that made sshd the biggest
// CPU user of a cold apply. A 1 MiB pipe (the unprivileged maximum; perl
// is the one tool of a base Linux system that can set it) keeps sshd's
// buffer small and halves its CPU per upload. Without perl it is slower,
// not wrong.
func uploadScript(sum string, size int64, packed bool) string {
	recv, check := "cat", ""
	if packed {
		recv, check = "gzip -dc", fmt.Sprintf("command -v gzip >/dev/null 2>&1 || exit %d\n", noGzip)
	}
	return fmt.Sprintf(`set -e
%[1]sf=%[2]s
mkdir -p %[3]s %[4]s
t=%[3]s/.stickyform.sf-$$
trap 'rm -f "$t"' EXIT
perl -e 'fcntl(STDIN, %[10]d, %[11]d)' 2>/dev/null || true
%[5]s > "$t"
n=$(wc -c < "$t")
[ "$n" -eq %[6]d ] || { echo "received $n bytes of the binary; want %[6]d" >&2; exit 1; }
chmod 755 "$t"
sync "$t" 2>/dev/null || sync
mv -f "$t" "$f"
trap - EXIT
c=%[4]s/%[7]s
if k=$(stat -c '%[8]s' "$f" 2>/dev/null); then printf '%%s=%%s\n' "$k" %[9]s > "$c.tmp" && mv -f "$c.tmp" "$c" || rm -f "$c.tmp"; fi
`, check, remoteBinary, path.Dir(remoteBinary), supervise.DefaultStateDir, recv, size,
		supervise.BinaryHashFile, supervise.BinaryKeyStatFormat, sum, fSetPipeSize, uploadPipeSize)
}

// nearLink reports whether a connection to addr runs over a local link:
// loopback, or an address inside the network of one of this machine's
// interfaces (same segment, no router between). Such links carry a
// binary faster than the host can unpack it (gzip -dc of 15 MB costs
// ~0.14 CPU-s, 15 MB cross a gigabit link in 0.12 s), so the binary goes
// raw; across routers (WAN, VPN, cloud regions) the bytes are what an
// upload waits for, and gzip halves them. A connection that cannot say
// where it goes is treated as far.
func nearLink(addr net.Addr, local []net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	if tcp.IP.IsLoopback() {
		return true
	}
	for _, a := range local {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.Contains(tcp.IP) {
			return true
		}
	}
	return false
}

// packFor decides whether the upload to c is gzipped.
func packFor(c conn) bool {
	ra, ok := c.(interface{ RemoteAddr() net.Addr })
	if !ok {
		return true
	}
	local, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	return !nearLink(ra.RemoteAddr(), local)
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
			if c := e.conn(hp.Host.Name); c != nil && !packFor(c) {
				continue // goes raw; unconnected (-refresh=false): packed ahead
			}
			go e.packed.get(hp.Binary)
		}
	}
}

// uploadBinary installs the build at path (hash sum) as the host's
// stickyform: raw over a local link, else gzipped when the host has gzip.
func (a *applier) uploadBinary(ctx context.Context, c conn, path, sum string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !packFor(c) {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = c.Run(ctx, uploadScript(sum, fi.Size(), false), f)
		return err
	}
	data, err := a.e.packed.get(path)
	if err != nil {
		return err
	}
	_, err = c.Run(ctx, uploadScript(sum, fi.Size(), true), bytes.NewReader(data))
	var exit *provisioner.ExitError
	if errors.As(err, &exit) && exit.Code == noGzip {
		_, err = c.Upload(ctx, path, remoteBinary, 0o755, nil)
	}
	return err
}
