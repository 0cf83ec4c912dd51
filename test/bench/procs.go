package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU times; 100
// on every Linux this runs on.
const clockTicks = 100

// cpuTime is the user and system CPU a process has used.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from after it.
	s := string(raw)
	rest := s[strings.LastIndexByte(s, ')')+2:]
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the name", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: CPU times %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// peakRSS is the process's peak resident set (VmHWM) since it started or since
// resetPeak.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}

// resetPeak starts the peak RSS afresh from the current RSS (clear_refs 5).
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0o200)
}

// ReadPID reads a pid file.
func ReadPID(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(raw)))
}

// usage is a process's CPU and peak RSS over a window.
type usage struct {
	pid   int
	start time.Duration
}

func startUsage(pid int) (*usage, error) {
	if pid == 0 {
		return nil, nil
	}
	if err := resetPeak(pid); err != nil {
		return nil, fmt.Errorf("resetting the peak RSS of %d: %w", pid, err)
	}
	cpu, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	return &usage{pid: pid, start: cpu}, nil
}

func (u *usage) stop(f *Figures) error {
	if u == nil {
		return nil
	}
	cpu, err := cpuTime(u.pid)
	if err != nil {
		return err
	}
	f.CPU = cpu - u.start
	f.PeakRSS, err = peakRSS(u.pid)
	return err
}

// startServerCPU starts counting the CPU of the cluster's servers; the function it
// returns says how much they used since.
func (e *Env) startServerCPU() (func() (time.Duration, error), error) {
	if e.ServerPIDs == nil {
		return func() (time.Duration, error) { return 0, nil }, nil
	}
	pids, err := e.ServerPIDs()
	if err != nil {
		return nil, err
	}
	total := func() (time.Duration, error) {
		var sum time.Duration
		for _, pid := range pids {
			cpu, err := cpuTime(pid)
			if err != nil {
				return 0, err
			}
			sum += cpu
		}
		return sum, nil
	}
	start, err := total()
	if err != nil {
		return nil, err
	}
	return func() (time.Duration, error) {
		end, err := total()
		return end - start, err
	}, nil
}
