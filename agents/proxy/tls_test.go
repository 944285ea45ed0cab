package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSTermination serves HTTPS from certificate files and tells the
// backend the client spoke https.
func TestTLSTermination(t *testing.T) {
	var proto string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto = r.Header.Get("X-Forwarded-Proto")
		_, _ = io.WriteString(w, "secure")
	}))
	t.Cleanup(s.Close)
	// Borrow httptest's certificate for 127.0.0.1.
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	ts.Close()
	cert := ts.TLS.Certificates[0]
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cfg := backendsConfig(s)
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	_, url := startProxy(t, cfg)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(strings.Replace(url, "http://", "https://", 1))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "secure" || proto != "https" {
		t.Errorf("got %d %q, X-Forwarded-Proto %q; want 200 secure https", resp.StatusCode, body, proto)
	}
}
