//go:build e2e

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopWait bounds how long a signalled controller may take to exit: the controller
// drains passes under way for at most 30s (DrainTimeout) and then exits.
const stopWait = 45 * time.Second

// controllerProcess is one instance of the controller under test, run from the
// binary built from cmd/ as its own process. Each instance has its own arguments and
// its own log file, to which every run appends after a header line; the suite runs
// one instance (controller), the chaos and leader election tests start more.
type controllerProcess struct {
	name                     string
	bin, kubeconfig, logPath string
	args                     []string

	mu       sync.Mutex
	run      *processRun // the current run; nil once reaped
	runStart int64       // offset in the log where the current (or last) run begins
	runs     int
}

// processRun is one run of an instance: done closes when it has exited, err is then
// its exit error; stopping says the test asked it to stop.
type processRun struct {
	cmd      *exec.Cmd
	done     chan struct{}
	err      error
	stopping bool
}

// baseControllerArgs are the flags every instance gets besides --kubeconfig.
var baseControllerArgs = []string{"--workers=5", "--kube-api-qps=100", "--kube-api-burst=200", "-v=2"}

// newControllerProcess describes an instance; logName "" logs to controller-<name>.log.
func newControllerProcess(name, logName string, args ...string) *controllerProcess {
	if logName == "" {
		logName = "controller-" + name + ".log"
	}
	return &controllerProcess{
		name: name, bin: os.Getenv("MSTS_CONTROLLER_BIN"), kubeconfig: os.Getenv("MSTS_KUBECONFIG"),
		logPath: filepath.Join(artifacts, logName), args: append(append([]string(nil), baseControllerArgs...), args...),
	}
}

func (p *controllerProcess) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		return fmt.Errorf("controller %s was started and not reaped (pid %d)", p.name, p.run.cmd.Process.Pid)
	}
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if fi, err := log.Stat(); err == nil {
		p.runStart = fi.Size()
	}
	args := append([]string{"--kubeconfig", p.kubeconfig}, p.args...)
	fmt.Fprintf(log, "===== controller %s started at %s: %s =====\n", p.name, time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := exec.Command(p.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// an instance must not outlive the test binary (a panic, a -timeout)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	r := &processRun{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		fmt.Fprintf(log, "===== controller %s exited at %s: %v =====\n", p.name, time.Now().Format(time.RFC3339Nano), exitText(r.err))
		log.Close()
		close(r.done)
	}()
	p.run = r
	p.runs++
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func (p *controllerProcess) current() *processRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

func exited(r *processRun) bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// running reports whether the current run is alive.
func (p *controllerProcess) running() bool {
	r := p.current()
	return r != nil && !exited(r)
}

// stopped reports whether there is no run: never started, or stopped and reaped.
func (p *controllerProcess) stopped() bool { return p.current() == nil }

// pid is the current run's process id, 0 when there is none.
func (p *controllerProcess) pid() int {
	if r := p.current(); r != nil {
		return r.cmd.Process.Pid
	}
	return 0
}

// stop signals the controller, waits (bounded) for it to exit and reaps it. It
// returns the process's exit error: nil only for exit status 0. A SIGKILL always ends
// a process with an error, so for SIGKILL only a failure to kill is returned.
func (p *controllerProcess) stop(sig syscall.Signal) error {
	p.mu.Lock()
	r := p.run
	if r != nil {
		r.stopping = true
	}
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	defer p.reap(r)
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-r.done:
	case <-time.After(stopWait):
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("controller %s did not exit within %v of %v", p.name, stopWait, sig)
	}
	if sig == syscall.SIGKILL {
		return nil
	}
	return r.err
}

func (p *controllerProcess) reap(r *processRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == r {
		p.run = nil
	}
}

// wait waits (bounded) for the controller to exit by itself, reaps it and returns
// its exit error; ok is false when it still runs after the bound.
func (p *controllerProcess) wait(timeout time.Duration) (err error, ok bool) {
	r := p.current()
	if r == nil {
		return errors.New("not running"), true
	}
	select {
	case <-r.done:
		p.reap(r)
		return r.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// exitedAlone reports, without waiting, whether the current run has exited although
// nobody stopped it, and reaps it: its exit error is returned.
func (p *controllerProcess) exitedAlone() (error, bool) {
	r := p.current()
	if r == nil || !exited(r) {
		return nil, false
	}
	p.mu.Lock()
	stopping := r.stopping
	p.mu.Unlock()
	if stopping {
		return nil, false
	}
	p.reap(r)
	return r.err, true
}

// signal sends a signal without waiting, for SIGSTOP and SIGCONT.
func (p *controllerProcess) signal(sig syscall.Signal) error {
	r := p.current()
	if r == nil {
		return fmt.Errorf("controller %s is not running", p.name)
	}
	return r.cmd.Process.Signal(sig)
}

// runLog returns the log of the current (or last) run.
func (p *controllerProcess) runLog() string {
	p.mu.Lock()
	off := p.runStart
	p.mu.Unlock()
	raw, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if off > int64(len(raw)) {
		off = 0
	}
	return string(raw[off:])
}

// tail returns the last n lines of the instance's log.
func (p *controllerProcess) tail(n int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// logTail returns the last n lines of the suite controller's log.
func logTail(n int) string {
	if controller == nil {
		return "(controller runs outside the test)"
	}
	return controller.tail(n)
}

// acquiredLease reports whether the current run's log says it took the Lease; the
// line is client-go's leaderelection package's own.
func (p *controllerProcess) acquiredLease() bool {
	return strings.Contains(strings.ToLower(p.runLog()), "successfully acquired lease")
}

// synced reports whether the current run's informers have synced (client-go's own
// log line), so it is past its start-up and doing its work.
func (p *controllerProcess) synced() bool {
	return strings.Contains(p.runLog(), `"Caches are synced"`)
}

// waitSynced waits (bounded) until the current run has synced its caches.
func (p *controllerProcess) waitSynced() error {
	deadline := time.Now().Add(shortWait)
	for !p.synced() {
		if !p.running() {
			return fmt.Errorf("controller %s exited during its start-up", p.name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("controller %s did not sync its caches within %v", p.name, shortWait)
		}
		time.Sleep(poll)
	}
	return nil
}

// leaderArgs are the flags of an instance that takes part in leader election with
// short durations, so a handover takes seconds.
func leaderArgs(namespace string) []string {
	return []string{"--leader-elect", "--leader-elect-resource-namespace=" + namespace,
		"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=1s"}
}

// leaseName is the name of the controller's leader election Lease.
const leaseName = "ministatefulset-controller"
