package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Cluster is the benchmark's local cluster: test/cluster's control plane with an
// audit log, kube-controller-manager running only its statefulset and
// garbage-collector controllers at the mode's client limits, and many kwok nodes.
type Cluster struct {
	Repo, Dir, Name string
	Nodes           int
	Mode            Mode
	// ControllerBin is MiniStatefulSet's controller, started beside it.
	ControllerBin string
	controller    *exec.Cmd
	Logf          func(format string, args ...any)
}

// benchUserAgent is the benchmark's own client's, the floor's writer's: the audit log
// tells its requests apart by it.
const benchUserAgent = "msts-bench"

func (c *Cluster) env() []string {
	qps, burst := c.Mode.clientLimits()
	return append(os.Environ(),
		"MSTS_CLUSTER_DIR="+c.Dir, "MSTS_CLUSTER_NAME="+c.Name, fmt.Sprintf("MSTS_NODES=%d", c.Nodes), "MSTS_SKIP_BUILD=1",
		"MSTS_READY_DELAY_MS=0", "MSTS_PVS=0",
		"MSTS_AUDIT_POLICY="+filepath.Join(c.Repo, "test/bench/audit-policy.yaml"),
		// MSTS_BENCH_KCM_ARGS adds flags (k=v), such as concurrent-statefulset-syncs=16.
		strings.TrimSpace(fmt.Sprintf("MSTS_KCM_ARGS=controllers=statefulset-controller,garbage-collector-controller kube-api-qps=%g kube-api-burst=%d %s",
			qps, burst, os.Getenv("MSTS_BENCH_KCM_ARGS"))))
}

func (c *Cluster) script(ctx context.Context, name string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Repo, "test/cluster", name))
	cmd.Env = c.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}

// Up starts the cluster and the MiniStatefulSet controller.
func (c *Cluster) Up(ctx context.Context) error {
	if err := c.script(ctx, "up.sh"); err != nil {
		return err
	}
	if err := c.script(ctx, "install.sh"); err != nil {
		return err
	}
	qps, burst := c.Mode.clientLimits()
	log, err := os.Create(filepath.Join(c.Dir, "controller.log"))
	if err != nil {
		return err
	}
	args := []string{"--kubeconfig", c.Kubeconfig(), "-v=1", fmt.Sprintf("--kube-api-qps=%g", qps), fmt.Sprintf("--kube-api-burst=%d", burst)}
	// MSTS_BENCH_CONTROLLER_ARGS adds flags, such as --profiling with a --metrics-bind-address.
	args = append(args, strings.Fields(os.Getenv("MSTS_BENCH_CONTROLLER_ARGS"))...)
	c.controller = exec.Command(c.ControllerBin, args...)
	c.controller.Stdout, c.controller.Stderr = log, log
	// The controller must not outlive the benchmark (a kill, a -timeout): one left
	// running would act in the next run's cluster, which has the same kubeconfig.
	c.controller.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.controller.Start(); err != nil {
		return err
	}
	return c.warmUp(ctx)
}

// warmUp waits until the garbage collector collects a MiniStatefulSet's pod: it
// watches a new resource only after its discovery comes round (every 30 s), and
// until then a deleted set's pods linger, which no controller is to blame for.
func (c *Cluster) warmUp(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e, err := c.Env(2*time.Minute, 2*time.Minute)
	if err != nil {
		return err
	}
	r := &runCtx{env: e, kind: Mini, ns: "default"}
	if r.view, err = watchNamespace(ctx, e.Clients, "default"); err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for round := 0; ; round++ {
		name := fmt.Sprintf("warmup-%d", round)
		if err := r.create(ctx, setOf("default", name, 1, "", nil)); err != nil {
			return err
		}
		if err := r.wait(ctx, "the warm-up pod", r.podIs(name, 0, true)); err != nil {
			return err
		}
		if err := e.Clients.Delete(ctx, r.ref(name)); err != nil {
			return err
		}
		quick, qcancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := r.view.until(quick, 5*time.Second, "the warm-up pod collected", func() (bool, string) { return r.podIs(name, 0, false)(r) })
		qcancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the garbage collector did not collect a deleted MiniStatefulSet's pod within 3 minutes")
		}
		c.Logf("the garbage collector does not collect MiniStatefulSets' pods yet; trying again")
	}
}

// Down stops the controller and the cluster.
func (c *Cluster) Down() {
	if c.controller != nil && c.controller.Process != nil {
		_ = c.controller.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.controller.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = c.controller.Process.Kill()
		}
	}
	cmd := exec.Command(filepath.Join(c.Repo, "test/cluster/down.sh"))
	cmd.Env = c.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		c.Logf("down.sh: %v\n%s", err, out)
	}
}

// Kubeconfig is the cluster's kubeconfig.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.Dir, "kubeconfig") }

func (c *Cluster) kwokDir() string { return filepath.Join(c.Dir, "kwok", "clusters", c.Name) }

// Env is what the runs need of this cluster.
func (c *Cluster) Env(timeout, long time.Duration) (*Env, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, err
	}
	// The certificates' contents, not their paths: client-go caches transports by
	// the paths, and the next mode's cluster has new certificates at the same paths.
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 5000, 10000
	cfg.UserAgent = benchUserAgent
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	sets, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Env{
		Clients:    workload.Clients{Kube: kube, Sets: sets},
		Audit:      NewAuditLog(filepath.Join(c.kwokDir(), "logs", "audit.log")),
		BuiltInPID: func() (int, error) { return ReadPID(filepath.Join(c.kwokDir(), "pids", "kube-controller-manager.pid")) },
		MiniPID:    func() (int, error) { return c.controller.Process.Pid, nil },
		ServerPIDs: func() ([]int, error) {
			var pids []int
			for _, name := range []string{"kube-apiserver", "etcd"} {
				pid, err := ReadPID(filepath.Join(c.kwokDir(), "pids", name+".pid"))
				if err != nil {
					return nil, err
				}
				pids = append(pids, pid)
			}
			return pids, nil
		},
		Timeout: timeout, LongTimeout: long, Logf: c.Logf,
	}, nil
}

// Flags are the controllers' flags that matter, for the report.
func (c *Cluster) Flags() []string {
	qps, burst := c.Mode.clientLimits()
	return []string{
		fmt.Sprintf("kube-controller-manager --controllers=statefulset-controller,garbage-collector-controller --kube-api-qps=%g --kube-api-burst=%d (--concurrent-statefulset-syncs=5, its default)", qps, burst),
		fmt.Sprintf("ministatefulset-controller --kube-api-qps=%g --kube-api-burst=%d (--workers=5, --status-fold-interval=1s, its defaults)", qps, burst),
		fmt.Sprintf("%d kwok nodes; the floor's client: %d writers, unthrottled", c.Nodes, floorWriters),
	}
}

// Machine says what the benchmark ran on.
func Machine() string {
	cpus := 0
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpus = strings.Count(string(raw), "processor\t:")
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0]); len(f) >= 2 {
			mem = f[1] + " kB"
		}
	}
	return fmt.Sprintf("%d CPUs, %s of memory", cpus, mem)
}
