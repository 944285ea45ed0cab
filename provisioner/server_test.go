package provisioner

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testServer is an in-process SSH server on 127.0.0.1:0. Exec requests run
// the received command line with the local /bin/sh, except that a leading
// "sudo -n " is emulated (stripped, or refused like sudo wanting a
// password), and a command containing FREEZE makes the connection stop
// answering, like a hung host.
type testServer struct {
	t        testing.TB
	ln       net.Listener
	hostKeys []ssh.Signer
	user     string        // the one user accepted
	authKey  ssh.PublicKey // the one client key accepted

	sudoNeedsPassword atomic.Bool
	conns             atomic.Int32 // TCP connections accepted

	mu   sync.Mutex
	cmds []string // exec command lines received
	open []*freezeConn
}

// newKey makes an ed25519 signer.
func newKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newIdentity makes a client key pair, writes the private key to a file
// and returns the file and the signer.
func newIdentity(t testing.TB) (string, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return path, s
}

// startServer serves SSH for user with the given host keys, accepting
// only authKey.
func startServer(t testing.TB, user string, authKey ssh.PublicKey, hostKeys ...ssh.Signer) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln, user, authKey, hostKeys...)
}

// serve runs the server on ln.
func serve(t testing.TB, ln net.Listener, user string, authKey ssh.PublicKey, hostKeys ...ssh.Signer) *testServer {
	s := &testServer{t: t, ln: ln, hostKeys: hostKeys, user: user, authKey: authKey}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			fc := newFreezeConn(c)
			s.mu.Lock()
			s.open = append(s.open, fc)
			s.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); s.serveConn(fc) }()
		}
	}()
	return s
}

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// target returns a Target for the server with the given identity and
// known_hosts file.
func (s *testServer) target(identity, knownHosts string) Target {
	return Target{Name: "testhost", Address: "127.0.0.1", Port: s.port(), User: s.user, IdentityFile: identity, KnownHosts: knownHosts}
}

// knownHostsLine is the known_hosts entry for key on this server.
func (s *testServer) knownHostsLine(key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize("127.0.0.1:" + strconv.Itoa(s.port()))}, key)
}

func (s *testServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

func (s *testServer) serveConn(c *freezeConn) {
	defer c.Close()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(m ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if m.User() == s.user && string(k.Marshal()) == string(s.authKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs) // replies "failure" to keepalives, as OpenSSH does
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go s.serveSession(c, ch, creqs)
	}
}

func (s *testServer) serveSession(c *freezeConn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var payload struct{ Cmd string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		s.mu.Lock()
		s.cmds = append(s.cmds, payload.Cmd)
		s.mu.Unlock()
		if strings.Contains(payload.Cmd, "FREEZE") {
			c.freeze()
			return
		}
		code := s.exec(payload.Cmd, ch)
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, uint32(code))
		ch.SendRequest("exit-status", false, status)
		return
	}
}

// exec runs a received command line and returns its exit status.
func (s *testServer) exec(line string, ch ssh.Channel) int {
	if rest, ok := strings.CutPrefix(line, "sudo -n "); ok {
		if s.sudoNeedsPassword.Load() {
			io.WriteString(ch.Stderr(), "sudo: a password is required\n")
			return 1
		}
		line = rest
	}
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		io.WriteString(ch.Stderr(), err.Error())
		return 127
	}
	return 0
}

// freezeConn is a connection that can stop answering: after freeze, reads
// and writes block until Close, as with a host that hung or dropped off
// the network.
type freezeConn struct {
	net.Conn
	frozen chan struct{}
	closed chan struct{}
	once   sync.Once
	fonce  sync.Once
}

func newFreezeConn(c net.Conn) *freezeConn {
	return &freezeConn{Conn: c, frozen: make(chan struct{}), closed: make(chan struct{})}
}

func (c *freezeConn) freeze() { c.fonce.Do(func() { close(c.frozen) }) }

func (c *freezeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return c.gate(n, err)
}

func (c *freezeConn) Write(b []byte) (int, error) {
	select {
	case <-c.frozen:
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Write(b)
}

// gate swallows everything read after freeze.
func (c *freezeConn) gate(n int, err error) (int, error) {
	select {
	case <-c.frozen:
		<-c.closed
		return 0, net.ErrClosed
	default:
		return n, err
	}
}

func (c *freezeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// newEd25519 makes a raw ed25519 key pair.
func newEd25519(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}
