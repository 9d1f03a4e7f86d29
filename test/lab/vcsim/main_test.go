package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds hdm-vcsim the documented way (GOPATH mode, offline) into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hdm-vcsim")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOPATH=/usr/share/gocode", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("ready line and SIGTERM", func(t *testing.T) {
		cmd := exec.Command(bin, "-site", "cloud", "-listen", "127.0.0.1:0", "-data-dir", t.TempDir())
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		lines := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var line string
		select {
		case line = <-lines:
		case <-time.After(20 * time.Second):
			t.Fatalf("no ready line; stderr:\n%s", stderr.String())
		}
		var ready map[string]string
		if err := json.Unmarshal([]byte(line), &ready); err != nil {
			t.Fatalf("ready line %q: %v", line, err)
		}
		if ready["event"] != "ready" || ready["site"] != "cloud" || len(ready) != 4 {
			t.Fatalf("ready line %q", line)
		}
		if !strings.HasPrefix(ready["url"], "https://127.0.0.1:") || !strings.HasSuffix(ready["url"], "/sdk") {
			t.Fatalf("url %q", ready["url"])
		}
		host := strings.TrimSuffix(strings.TrimPrefix(ready["url"], "https://"), "/sdk")
		conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		served := thumbprint(conn.ConnectionState().PeerCertificates[0].Raw)
		_ = conn.Close()
		if ready["thumbprint"] != served || len(served) != 59 {
			t.Errorf("thumbprint %q, served certificate %q", ready["thumbprint"], served)
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if more, ok := <-lines; ok {
			t.Errorf("second stdout line %q", more)
		}
		if err := waitExit(cmd, 10*time.Second); err != nil {
			t.Fatalf("after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
	})

	t.Run("port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addr := l.Addr().String()
		out, err := exec.Command(bin, "-site", "prem", "-listen", addr, "-data-dir", t.TempDir()).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("exit %v, want 2; output:\n%s", err, out)
		}
		if !strings.Contains(string(out), addr) || !strings.Contains(string(out), "address already in use") {
			t.Errorf("message lacks the address and \"address already in use\":\n%s", out)
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{"-site", "moon"},
			{"-site", "prem", "-disk-mib", "0"},
			{"-site", "prem", "-no-such-flag"},
			{"-site", "prem", "-cert", "x.pem"},
		} {
			out, err := exec.Command(bin, args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || len(out) == 0 {
				t.Errorf("%v: exit %v, want 2 with a message; output:\n%s", args, err, out)
			}
		}
	})
}

func waitExit(cmd *exec.Cmd, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		return errors.New("did not exit in time")
	}
}
