// Command server is a tiny HTTP service used to practise Docker multi-stage
// builds. It uses only the standard library, so it compiles to one static
// binary (with CGO_ENABLED=0) that can run in a "FROM scratch" image.
//
// Endpoints:
//
//	GET /        plain-text hello
//	GET /health  JSON: status, version, Go version and the number of trusted
//	             CA roots (0 in a bare scratch image: a hint that HTTPS calls
//	             would fail until you copy the CA bundle into the image)
//
// Flags:
//
//	-version      print the version and exit
//	-healthcheck  probe http://127.0.0.1:$PORT/health and exit 0 (healthy) or
//	              1 (unhealthy). A scratch image has no shell and no curl, so
//	              the binary checks itself:
//	              HEALTHCHECK CMD ["/server", "-healthcheck"]
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// version is replaced at build time, e.g.
//
//	go build -ldflags "-X main.version=1.2.3" ./cmd/server
//
// It must be a package-level string variable (not a const) for -X to work.
var version = "dev"

// buildInfo is what /health reports (see healthJSON). It is computed once at
// startup and never changes, so handlers can read it without locking. The
// struct tags name the JSON fields; the tests decode /health with them.
type buildInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	CARoots   int    `json:"ca_roots"`
	CAError   string `json:"ca_error,omitempty"`
}

// countCARoots reports how many trusted root certificates the process can see.
//
// On Linux, x509.SystemCertPool reads the CA bundle files (for example
// /etc/ssl/certs/ca-certificates.crt, or $SSL_CERT_FILE / $SSL_CERT_DIR), so
// len(pool.Subjects()) is an honest count of what was loaded. Subjects is
// marked deprecated because on macOS and Windows the system pool is backed by
// the OS verifier and the list is empty; that caveat does not apply here.
//
// In a scratch image there are no bundle files: the pool is empty and no error
// is returned, so the count is 0. An error only occurs when a file exists but
// cannot be read.
func countCARoots() (int, string) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		return 0, err.Error()
	}
	return len(pool.Subjects()), ""
}

// healthJSON is the body of GET /health, for example
//
//	{"status":"ok","version":"dev","go_version":"go1.22.10","ca_roots":142}
//
// It is written by hand rather than with encoding/json, which would add about
// 0.25 MB to a binary whose whole point is to be small; the tests decode it
// with encoding/json to prove it is valid JSON.
func (info buildInfo) healthJSON() []byte {
	b := []byte(`{"status":"ok","version":`)
	b = appendJSONString(b, info.Version)
	b = append(b, `,"go_version":`...)
	b = appendJSONString(b, info.GoVersion)
	b = append(b, `,"ca_roots":`...)
	b = strconv.AppendInt(b, int64(info.CARoots), 10)
	if info.CAError != "" {
		b = append(b, `,"ca_error":`...)
		b = appendJSONString(b, info.CAError)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string literal: quotes, backslashes and
// control characters are escaped; everything else (UTF-8 included) is copied.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// newHandler returns the HTTP routes of the service.
//
// The patterns use Go 1.22 ServeMux syntax: a method prefix ("GET /health")
// makes the mux answer 405 Method Not Allowed for other methods, and "/{$}"
// matches only "/" itself, so unknown paths get 404 instead of the hello page.
// This syntax requires "go 1.22" (or later) in go.mod.
func newHandler(info buildInfo) http.Handler {
	// Encode once: the answer never changes.
	body := info.healthJSON()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello from multistage-go %s\n", info.Version)
	})
	return mux
}

// probe sends GET to url and returns nil only for a 200 answer received
// within timeout. It backs the -healthcheck flag.
//
// It writes the HTTP/1.0 request by hand and parses the answer with
// http.ReadResponse instead of using http.Client: the client side of net/http
// (transport, HTTP/2, proxy support) would add about 0.3 MB to the binary,
// for one request to localhost.
func probe(rawURL string, timeout time.Duration) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unexpected status %s", resp.Status)
	}
	return nil
}

// run is the whole program minus process-level concerns (signals, os.Exit),
// so tests can call it directly. It returns the exit code: 0 on success or
// clean shutdown, 1 on failure, 2 on bad command-line usage.
//
// The server stops when ctx is cancelled; main cancels it on SIGINT/SIGTERM.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	healthcheck := fs.Bool("healthcheck", false,
		"probe http://127.0.0.1:$PORT/health; exit 0 if healthy, 1 otherwise")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package already printed the error and usage
	}

	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}

	switch {
	case *showVersion:
		fmt.Fprintln(stdout, version)
		return 0
	case *healthcheck:
		if err := probe("http://127.0.0.1:"+port+"/health", 2*time.Second); err != nil {
			fmt.Fprintln(stderr, "healthcheck failed:", err)
			return 1
		}
		return 0
	}

	// The plain log package keeps the binary small (log/slog adds ~0.3 MB).
	logger := log.New(stderr, "", log.LstdFlags)

	roots, caErr := countCARoots()
	info := buildInfo{
		Version:   version,
		GoVersion: runtime.Version(),
		CARoots:   roots,
		CAError:   caErr,
	}

	srv := &http.Server{
		Addr:    ":" + port, // all interfaces: 127.0.0.1 would be unreachable from outside the container
		Handler: newHandler(info),
		// Timeouts protect against slow or stuck clients holding connections
		// (and goroutines) forever; the zero value means "no timeout".
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          logger,
	}

	// Listen before serving so a bad or busy port is reported right away.
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		logger.Printf("cannot listen: %v", err)
		return 1
	}
	logger.Printf("listening addr=%s version=%s go=%s ca_roots=%d",
		ln.Addr(), version, info.GoVersion, roots)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		// Serve only returns before Shutdown on a real failure.
		logger.Printf("server failed: %v", err)
		return 1
	case <-ctx.Done():
	}

	// Stop accepting new connections and let in-flight requests finish, but
	// give up after 5 s: Docker sends SIGKILL 10 s after SIGTERM anyway.
	logger.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Printf("shutdown failed: %v", err)
		return 1
	}
	return 0
}

// main wires run to the real process: arguments, environment, standard
// streams and signals.
//
// In a container the server is PID 1, and Linux does not apply the default
// "terminate" action to PID 1: a program that installs no handler ignores
// SIGTERM, and `docker stop` hangs for 10 s before resorting to SIGKILL.
// signal.NotifyContext installs a handler, so SIGTERM (docker stop) and
// SIGINT (Ctrl-C) cancel ctx and run shuts down gracefully.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
