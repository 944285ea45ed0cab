package provisioner

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// writeKnownHosts writes lines to a fresh known_hosts file.
func writeKnownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func dialT(t *testing.T, tg Target, o Options) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, tg, o)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestDialHostKeyVerification(t *testing.T) {
	identity, client := newIdentity(t)
	hostKey, otherKey := newKey(t), newKey(t)
	srv := startServer(t, "root", client.PublicKey(), hostKey)
	addr := "127.0.0.1:" + strconv.Itoa(srv.port())
	hashed := knownhosts.HashHostname(knownhosts.Normalize(addr)) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey.PublicKey())))
	tests := []struct {
		name    string
		lines   []string
		pinned  string
		wantErr string // "" for success
	}{
		{name: "right key", lines: []string{srv.knownHostsLine(hostKey.PublicKey())}},
		{name: "hashed entry with port", lines: []string{hashed}},
		{name: "right key among other hosts", lines: []string{"[10.9.9.9]:22 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherKey.PublicKey()))), srv.knownHostsLine(hostKey.PublicKey())}},
		{name: "changed key", lines: []string{"# comment", srv.knownHostsLine(otherKey.PublicKey())}, wantErr: "CHANGED"},
		{name: "pinned right key", pinned: string(ssh.MarshalAuthorizedKey(hostKey.PublicKey()))},
		{name: "pinned wrong key", pinned: string(ssh.MarshalAuthorizedKey(otherKey.PublicKey())), wantErr: "CHANGED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh := writeKnownHosts(t, tt.lines...)
			tg := srv.target(identity, kh)
			tg.HostKey = tt.pinned
			c, err := dialT(t, tg, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Dial: got %v; want success", err)
				}
				if out, err := c.Run(context.Background(), "echo hello", nil); err != nil || string(out) != "hello\n" {
					t.Fatalf("Run: got %q, %v; want \"hello\\n\"", out, err)
				}
				return
			}
			var changed *HostKeyChangedError
			if !errors.As(err, &changed) {
				t.Fatalf("Dial: got %v; want *HostKeyChangedError", err)
			}
			msg := err.Error()
			for _, want := range []string{"CHANGED", "man-in-the-middle", ssh.FingerprintSHA256(hostKey.PublicKey()), ssh.FingerprintSHA256(otherKey.PublicKey())} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q: missing %q", msg, want)
				}
			}
			if tt.pinned == "" && !strings.Contains(msg, kh+":2") {
				t.Errorf("error %q: missing file:line %s:2", msg, kh)
			}
		})
	}
}

func TestDialOffersOnlyKnownAlgorithms(t *testing.T) {
	// The server has an ed25519 and an RSA key; known_hosts records only
	// the RSA one. Without restricting HostKeyAlgorithms the client would
	// negotiate ed25519 and report a false key change.
	identity, client := newIdentity(t)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := ssh.NewSignerFromKey(rsaPriv)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "root", client.PublicKey(), newKey(t), rsaKey)
	kh := writeKnownHosts(t, srv.knownHostsLine(rsaKey.PublicKey()))
	if _, err := dialT(t, srv.target(identity, kh), Options{}); err != nil {
		t.Fatalf("Dial: got %v; want success", err)
	}
}

func TestDialUnknownHost(t *testing.T) {
	identity, client := newIdentity(t)
	hostKey := newKey(t)
	srv := startServer(t, "root", client.PublicKey(), hostKey)
	kh := filepath.Join(t.TempDir(), "ssh", "known_hosts") // neither file nor dir exists
	tg := srv.target(identity, kh)

	_, err := dialT(t, tg, Options{})
	var unknown *UnknownHostError
	if !errors.As(err, &unknown) {
		t.Fatalf("Dial: got %v; want *UnknownHostError", err)
	}
	for _, want := range []string{"ssh-keyscan", "-trust-new-hosts", ssh.FingerprintSHA256(hostKey.PublicKey())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: missing %q", err, want)
		}
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Fatalf("known_hosts after refused dial: got %v; want not created", err)
	}

	if _, err := dialT(t, tg, Options{TrustNewHosts: true}); err != nil {
		t.Fatalf("Dial with TrustNewHosts: got %v; want success", err)
	}
	fi, err := os.Stat(kh)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("known_hosts mode: got %o; want 600", fi.Mode().Perm())
	}
	got, _ := os.ReadFile(kh)
	if want := srv.knownHostsLine(hostKey.PublicKey()) + "\n"; string(got) != want {
		t.Errorf("known_hosts: got %q; want %q", got, want)
	}
	if _, err := dialT(t, tg, Options{}); err != nil {
		t.Fatalf("Dial after recording: got %v; want success", err)
	}
}

func TestDialAuthFailureNotRetried(t *testing.T) {
	identity, _ := newIdentity(t)
	_, authorized := newIdentity(t)
	hostKey := newKey(t)
	srv := startServer(t, "root", authorized.PublicKey(), hostKey)
	kh := writeKnownHosts(t, srv.knownHostsLine(hostKey.PublicKey()))
	_, err := dialT(t, srv.target(identity, kh), Options{})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Dial: got %v; want ErrAuth", err)
	}
	if !strings.Contains(err.Error(), identity) || !strings.Contains(err.Error(), "user root") {
		t.Errorf("error %q: want it to name the identity file and user", err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("connections: got %d; want 1 (auth failures are not retried)", n)
	}
}

func TestDialAgent(t *testing.T) {
	_, client := newIdentity(t)
	hostKey := newKey(t)
	srv := startServer(t, "root", client.PublicKey(), hostKey)
	kh := writeKnownHosts(t, srv.knownHostsLine(hostKey.PublicKey()))

	keyring := agent.NewKeyring()
	_, priv := newEd25519(t)
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	srv.authKey = signer.PublicKey()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	if _, err := dialT(t, srv.target("", kh), Options{}); err != nil {
		t.Fatalf("Dial with agent: got %v; want success", err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := dialT(t, srv.target("", kh), Options{}); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Fatalf("Dial without agent: got %v; want an error naming SSH_AUTH_SOCK", err)
	}
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	identity, _ := newIdentity(t)
	tg := Target{Address: "127.0.0.1", Port: port, IdentityFile: identity, KnownHosts: writeKnownHosts(t)}
	_, err = dialT(t, tg, Options{})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Dial: got %v; want connection refused", err)
	}
}

func TestDialRetriesUntilServerListens(t *testing.T) {
	// The port refuses connections at first (a host still booting); the
	// server starts during Dial's backoff and the retry connects.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	identity, client := newIdentity(t)
	hostKey := newKey(t)
	started := make(chan *testServer, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			started <- nil
			return
		}
		started <- serve(t, ln, "root", client.PublicKey(), hostKey)
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	kh := writeKnownHosts(t, knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey.PublicKey()))
	_, err = dialT(t, Target{Address: "127.0.0.1", Port: port, IdentityFile: identity, KnownHosts: kh}, Options{})
	if srv := <-started; srv == nil {
		t.Skip("port was taken by another process meanwhile")
	}
	if err != nil {
		t.Fatalf("Dial: got %v; want success after a retry", err)
	}
}
