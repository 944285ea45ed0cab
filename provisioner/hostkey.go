package provisioner

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyChangedError means the host offered a key different from the one
// on record. It may be an attack, so it is never retried or bypassed.
type HostKeyChangedError struct {
	Target  Target
	Known   []knownhosts.KnownKey // what is on record (Filename "" for a pinned host_key)
	Offered ssh.PublicKey
}

func (e *HostKeyChangedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verify host key of %s: the host key has CHANGED; this may mean someone is intercepting the connection (man-in-the-middle attack), or the host was reinstalled.\n", e.Target)
	fmt.Fprintf(&b, "  offered key: %s %s\n", e.Offered.Type(), ssh.FingerprintSHA256(e.Offered))
	for _, k := range e.Known {
		where := "the pinned host_key"
		if k.Filename != "" {
			where = fmt.Sprintf("%s:%d", k.Filename, k.Line)
		}
		fmt.Fprintf(&b, "  known key:   %s %s (%s)\n", k.Key.Type(), ssh.FingerprintSHA256(k.Key), where)
	}
	if len(e.Known) > 0 && e.Known[0].Filename != "" {
		fmt.Fprintf(&b, "If the change is expected, remove the old entry (line %d of %s, or run: ssh-keygen -f %s -R %s) and trust the new key.",
			e.Known[0].Line, e.Known[0].Filename, e.Known[0].Filename, knownhosts.Normalize(e.Target.addr()))
	} else {
		b.WriteString("If the change is expected, update the host_key attribute.")
	}
	return b.String()
}

// UnknownHostError means known_hosts has no entry for the host.
type UnknownHostError struct {
	Target     Target
	KnownHosts string
	Offered    ssh.PublicKey
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("verify host key of %s: the host is not in %s (it offered %s %s). "+
		"Check that fingerprint out of band, then trust the host by adding its key "+
		"(ssh-keyscan -p %d -t %s %s >> %s) or by rerunning with -trust-new-hosts, which records it.",
		e.Target, e.KnownHosts, e.Offered.Type(), ssh.FingerprintSHA256(e.Offered),
		e.Target.Port, keyscanType(e.Offered.Type()), e.Target.Address, e.KnownHosts)
}

// keyscanType is the ssh-keyscan -t name of a key type.
func keyscanType(keyType string) string {
	switch {
	case strings.HasPrefix(keyType, "ecdsa-"):
		return "ecdsa"
	case keyType == ssh.KeyAlgoRSA:
		return "rsa"
	}
	return strings.TrimPrefix(keyType, "ssh-")
}

// hostKeyCheck verifies server keys for one target.
type hostKeyCheck struct {
	target     Target
	knownHosts string // resolved path; "" when a key is pinned
	pinned     ssh.PublicKey
	known      []knownhosts.KnownKey // keys on record for this host
	db         ssh.HostKeyCallback   // nil when the file does not exist
	trustNew   bool
}

// newHostKeyCheck loads what is on record for t.
func newHostKeyCheck(t Target, trustNew bool) (*hostKeyCheck, error) {
	h := &hostKeyCheck{target: t, trustNew: trustNew}
	if t.HostKey != "" {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(t.HostKey))
		if err != nil {
			return nil, fmt.Errorf("parse host_key of %s: %w", t.Name, err)
		}
		h.pinned = k
		h.known = []knownhosts.KnownKey{{Key: k}}
		return h, nil
	}
	h.knownHosts = t.KnownHosts
	if h.knownHosts == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find known_hosts: %w", err)
		}
		h.knownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	db, err := knownhosts.New(h.knownHosts)
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read known_hosts %s: %w", h.knownHosts, err)
	}
	h.db = db
	// Ask the database with a key no host has; the KeyError lists every
	// key on record for this address.
	probe, _ := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	var ke *knownhosts.KeyError
	if err := db(t.addr(), tcpAddr(t), probe); errors.As(err, &ke) {
		h.known = ke.Want
	}
	return h, nil
}

// tcpAddr is the remote address knownhosts wants; the hostname given to the
// callback takes precedence over it, so its exact value does not matter.
func tcpAddr(t Target) net.Addr {
	ip := net.ParseIP(t.Address)
	if ip == nil {
		ip = net.IPv4zero
	}
	return &net.TCPAddr{IP: ip, Port: t.Port}
}

// algorithms lists the host key algorithms to offer: only those of keys on
// record, so a host with several key types is not a false mismatch.
func (h *hostKeyCheck) algorithms() []string {
	var algs []string
	seen := map[string]bool{}
	for _, k := range h.known {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algs = append(algs, a)
			}
		}
	}
	return algs
}

// algorithmsFor maps a key type to the signature algorithms that use it.
func algorithmsFor(keyType string) []string {
	switch keyType {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	default:
		return []string{keyType}
	}
}

// callback is the ssh.HostKeyCallback for the handshake.
func (h *hostKeyCheck) callback(_ string, remote net.Addr, key ssh.PublicKey) error {
	if h.pinned != nil {
		if bytes.Equal(h.pinned.Marshal(), key.Marshal()) {
			return nil
		}
		return &HostKeyChangedError{Target: h.target, Known: h.known, Offered: key}
	}
	if h.db != nil {
		err := h.db(h.target.addr(), remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) > 0:
			return &HostKeyChangedError{Target: h.target, Known: ke.Want, Offered: key}
		case !errors.As(err, &ke):
			return fmt.Errorf("verify host key of %s: %w", h.target, err)
		}
	}
	if !h.trustNew {
		return &UnknownHostError{Target: h.target, KnownHosts: h.knownHosts, Offered: key}
	}
	return h.record(key)
}

// record appends key for the target to known_hosts, creating the file.
func (h *hostKeyCheck) record(key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(h.knownHosts), 0o700); err != nil {
		return fmt.Errorf("record host key of %s: %w", h.target, err)
	}
	f, err := os.OpenFile(h.knownHosts, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("record host key of %s: %w", h.target, err)
	}
	// One write of one line: O_APPEND keeps parallel dials from interleaving.
	line := knownhosts.Line([]string{knownhosts.Normalize(h.target.addr())}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("record host key of %s: %w", h.target, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("record host key of %s: %w", h.target, err)
	}
	return nil
}
