package lab

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ensureKey makes an ed25519 key pair at path and path.pub unless the
// private key exists, and returns the public key. made reports creation.
func ensureKey(path, comment string) (pub ssh.PublicKey, made bool, err error) {
	if b, err := os.ReadFile(path); err == nil {
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("read key %s: %w", path, err)
		}
		return signer.PublicKey(), false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key %s: %w", path, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate key %s: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, false, fmt.Errorf("encode key %s: %w", path, err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, false, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment + "\n"
	if err := writeFileAtomic(path+".pub", []byte(line), 0o644); err != nil {
		return nil, false, err
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, false, err
	}
	return signer.PublicKey(), true, nil
}

// readPublicKey reads an authorized_keys-format .pub file.
func readPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return k, nil
}

// knownHostsFor renders the known_hosts entries of the lab hosts, one per
// address (what both ssh and the provisioner look up).
func knownHostsFor(hosts []Host, keys map[string]ssh.PublicKey) []byte {
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(knownhosts.Line([]string{h.Address}, keys[h.Name]))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
