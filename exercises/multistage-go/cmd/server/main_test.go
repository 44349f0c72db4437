package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var testInfo = buildInfo{Version: "1.2.3", GoVersion: "go1.test", CARoots: 42}

// healthResponse is the JSON body of GET /health, as the tests decode it.
type healthResponse struct {
	Status string `json:"status"`
	buildInfo
}

// TestHealthJSONEscapes proves the hand-written encoder emits valid JSON for
// strings that need escaping, by decoding them with encoding/json.
func TestHealthJSONEscapes(t *testing.T) {
	in := buildInfo{Version: "v\"1\"\\x", GoVersion: "go\n\t\x01é", CARoots: 7,
		CAError: "open /etc/ssl: \"denied\""}
	var got healthResponse
	if err := json.Unmarshal(in.healthJSON(), &got); err != nil {
		t.Fatalf("invalid JSON %q: %v", in.healthJSON(), err)
	}
	if got.Status != "ok" || got.buildInfo != in {
		t.Fatalf("round trip: got %+v, want %+v", got.buildInfo, in)
	}
}

func TestHealth(t *testing.T) {
	rec := httptest.NewRecorder()
	newHandler(testInfo).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON %q: %v", rec.Body.String(), err)
	}
	want := map[string]any{
		"status":     "ok",
		"version":    "1.2.3",
		"go_version": "go1.test",
		"ca_roots":   float64(42), // JSON numbers decode as float64
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["ca_error"]; ok {
		t.Errorf("ca_error present although empty: %s", rec.Body.String())
	}
}

func TestHealthReportsCAError(t *testing.T) {
	info := buildInfo{Version: "dev", GoVersion: "go1.test", CAError: "boom"}
	rec := httptest.NewRecorder()
	newHandler(info).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))

	var got healthResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.CAError != "boom" || got.CARoots != 0 {
		t.Errorf("got ca_roots=%d ca_error=%q, want 0 and \"boom\"", got.CARoots, got.CAError)
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/health", http.StatusOK}, // GET patterns also match HEAD
		{http.MethodPost, "/health", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodGet, "/health/extra", http.StatusNotFound},
	}
	h := newHandler(testInfo)
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s: status = %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
}

// TestCountCARoots checks the CA count in a child process, because
// SystemCertPool caches its result for the life of the process. The child
// re-runs this test binary with SSL_CERT_FILE/SSL_CERT_DIR pointing at our own
// files, which the Linux loader honours.
func TestCountCARoots(t *testing.T) {
	if os.Getenv("COUNT_CA_ROOTS_CHILD") == "1" {
		n, errMsg := countCARoots()
		fmt.Printf("roots=%d err=%q\n", n, errMsg)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("SSL_CERT_FILE/SSL_CERT_DIR are only honoured on Unix-like systems")
	}

	dir := t.TempDir()
	oneCert := filepath.Join(dir, "one.pem")
	if err := os.WriteFile(oneCert, selfSignedPEM(t), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, certFile, want string
	}{
		// Like a scratch image: no bundle at all, empty pool, no error.
		{"no bundle", filepath.Join(dir, "missing.pem"), `roots=0 err=""`},
		{"one cert", oneCert, `roots=1 err=""`},
	}
	for _, tt := range tests {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCountCARoots$")
		cmd.Env = append(os.Environ(), "COUNT_CA_ROOTS_CHILD=1",
			"SSL_CERT_FILE="+tt.certFile, "SSL_CERT_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: child failed: %v\n%s", tt.name, err, out)
		}
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: child printed %q, want %s", tt.name, out, tt.want)
		}
	}
}

// selfSignedPEM returns one freshly generated self-signed CA certificate.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(newHandler(testInfo))
	defer ok.Close()
	if err := probe(ok.URL+"/health", 2*time.Second); err != nil {
		t.Errorf("probe healthy server: %v", err)
	}

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer broken.Close()
	if err := probe(broken.URL+"/health", 2*time.Second); err == nil {
		t.Error("probe of a 500 server succeeded, want error")
	}

	if err := probe("http://"+freeAddr(t)+"/health", 2*time.Second); err == nil {
		t.Error("probe of a closed port succeeded, want error")
	}
}

func TestProbeTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer slow.Close()
	defer close(release) // runs before slow.Close, which waits for handlers

	start := time.Now()
	if err := probe(slow.URL, 100*time.Millisecond); err == nil {
		t.Error("probe of a hanging server succeeded, want timeout")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("probe took %v, want about 100ms", d)
	}
}

func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-version"}, env(nil), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0 (stderr: %s)", code, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != version {
		t.Errorf("printed %q, want %q", got, version)
	}
}

func TestRunBadFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-nope"}, env(nil), &stdout, &stderr); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "-nope") {
		t.Errorf("stderr does not mention the bad flag: %q", stderr.String())
	}
}

func TestRunBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	var stderr bytes.Buffer
	code := run(context.Background(), nil, env(map[string]string{"PORT": port}), &bytes.Buffer{}, &stderr)
	if code != 1 {
		t.Errorf("exit code = %d, want 1 (stderr: %s)", code, stderr.String())
	}
}

// TestRunServeAndShutdown starts the real server, checks it over TCP, uses
// -healthcheck against it, then cancels the context (what SIGTERM does in
// main) and expects a prompt, clean exit.
func TestRunServeAndShutdown(t *testing.T) {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	getenv := env(map[string]string{"PORT": port})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, getenv, &bytes.Buffer{}, &logs) }()

	url := "http://127.0.0.1:" + port + "/health"
	deadline := time.Now().Add(5 * time.Second)
	for probe(url, 200*time.Millisecond) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var body healthResponse
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || body.Status != "ok" || body.Version != version {
		t.Errorf("health body = %+v, err = %v", body, err)
	}

	var hcErr bytes.Buffer
	if code := run(context.Background(), []string{"-healthcheck"}, getenv, &bytes.Buffer{}, &hcErr); code != 0 {
		t.Errorf("-healthcheck while up: exit code = %d, want 0 (%s)", code, hcErr.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exit code = %d, want 0; logs:\n%s", code, logs.String())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("run did not return within 2s of cancellation")
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("logs lack \"shutting down\":\n%s", logs.String())
	}

	hcErr.Reset()
	if code := run(context.Background(), []string{"-healthcheck"}, getenv, &bytes.Buffer{}, &hcErr); code != 1 {
		t.Errorf("-healthcheck after shutdown: exit code = %d, want 1", code)
	}
	if !strings.Contains(hcErr.String(), "healthcheck failed") {
		t.Errorf("-healthcheck stderr = %q, want a reason", hcErr.String())
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// env returns a getenv function backed by a map, so tests never depend on
// the real environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of the server
// goroutine and reads of the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
