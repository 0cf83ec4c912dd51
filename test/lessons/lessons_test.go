//go:build e2e

package lessons

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Bounds: one command of a lesson, and the controller's start.
const (
	commandTimeout = 3 * time.Minute
	startTimeout   = 30 * time.Second
	probeAddr      = "127.0.0.1:18091"
)

// learner is the shell a learner types into: the local cluster's kubeconfig (a
// copy, since lessons switch its namespace), kubectl and kubectl-msts on PATH, the
// repository as the working directory, and a controller running as `make run` runs
// it.
type learner struct {
	// groups are the process groups of the commands run, so that what a lesson left
	// running in the background (a controller it started) is stopped at the end.
	groups     []int
	root       string
	env        []string
	controller *exec.Cmd
	logPath    string
}

func newLearner(t *testing.T) *learner {
	for _, v := range []string{"MSTS_KUBECONFIG", "MSTS_CONTROLLER_BIN", "MSTS_PLUGIN_DIR", "MSTS_BIN_DIR"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: run the lessons with `make e2e` (or `make lessons`), which set it", v)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	raw, err := os.ReadFile(os.Getenv("MSTS_KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	artifacts := os.Getenv("MSTS_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	env := append(os.Environ(),
		"KUBECONFIG="+kubeconfig,
		"PATH="+os.Getenv("MSTS_PLUGIN_DIR")+":"+os.Getenv("MSTS_BIN_DIR")+":"+os.Getenv("PATH"),
		"KUBECACHEDIR="+filepath.Join(t.TempDir(), "kube-cache"))
	return &learner{root: root, env: env, logPath: filepath.Join(artifacts, "lessons-controller.log")}
}

// startController runs the controller as `make run` does, and waits until it is ready.
func (l *learner) startController(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(l.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Getenv("MSTS_CONTROLLER_BIN"), "--kubeconfig", os.Getenv("MSTS_KUBECONFIG"), "-v=2",
		"--health-probe-bind-address", probeAddr)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the controller: %v", err)
	}
	l.controller = cmd
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, startTimeout, true, func(context.Context) (bool, error) {
		resp, err := http.Get("http://" + probeAddr + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("the controller was not ready within %v; its log: %s", startTimeout, l.logPath)
	}
}

// stopController stops it with SIGTERM, as Ctrl-C in `make run` does.
func (l *learner) stopController(t *testing.T) {
	t.Helper()
	if l.controller == nil {
		return
	}
	_ = l.controller.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- l.controller.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the controller did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(startTimeout):
		_ = l.controller.Process.Kill()
		t.Errorf("the controller did not exit within %v of SIGTERM", startTimeout)
	}
	l.controller = nil
}

// run types one command and returns what it printed (stdout and stderr, as a
// terminal shows them) and whether it succeeded.
func (l *learner) run(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	cmd.Dir, cmd.Env = l.root, l.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Start()
	if err == nil {
		l.groups = append(l.groups, cmd.Process.Pid)
		err = cmd.Wait()
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("still running after %v", commandTimeout)
	}
	return out.String(), err
}

// stopLeftovers kills whatever the lessons' commands left running.
func (l *learner) stopLeftovers() {
	for _, g := range l.groups {
		_ = syscall.Kill(-g, syscall.SIGKILL)
	}
}

// TestLessons runs every lesson of docs/lessons, in order, on the local cluster.
func TestLessons(t *testing.T) {
	l := newLearner(t)
	defer l.stopLeftovers()
	lessons, err := readLessons(filepath.Join(l.root, "docs", "lessons"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lessons) < 10 {
		t.Fatalf("found %d lessons in docs/lessons, want at least 10", len(lessons))
	}
	l.startController(t)
	defer l.stopController(t)
	for _, ls := range lessons {
		name := strings.TrimSuffix(filepath.Base(ls.path), ".md")
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			for _, s := range ls.steps {
				switch s.directive {
				case "stop-controller":
					l.stopController(t)
					continue
				case "start-controller":
					l.startController(t)
					continue
				case "":
				default:
					t.Fatalf("%s:%d: unknown test directive %q", ls.path, s.line, s.directive)
				}
				out, err := l.run(s.command)
				switch {
				case err != nil && !s.wantsFailure():
					t.Fatalf("%s:%d: $ %s\nfailed: %v\n%s", ls.path, s.line, s.command, err, out)
				case err == nil && s.wantsFailure():
					t.Fatalf("%s:%d: $ %s\nsucceeded, but the lesson shows it failing:\n%s", ls.path, s.line, s.command, out)
				}
				if mErr := matchOutput(s.want, out); mErr != nil {
					t.Fatalf("%s:%d: $ %s\nthe output does not have the shape the lesson shows: %v\nthe lesson shows:\n%s\nthe command printed:\n%s",
						ls.path, s.line, s.command, mErr, strings.Join(s.want, "\n"), out)
				}
			}
			t.Logf("%d commands in %v", len(ls.steps), time.Since(start).Round(time.Millisecond))
		})
		if t.Failed() {
			return
		}
	}
}
