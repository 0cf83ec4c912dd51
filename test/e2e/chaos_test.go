//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// The chaos test: a seeded, replayable sequence of random actions against several
// sets in two namespaces, run by two controller replicas with leader election, while
// a second writer keeps changing the same objects, and a monitor with its own watches
// checks the StatefulSet guarantees all along (chaos_monitor_test.go). At the end
// every set must converge to its spec.
//
//	MSTS_CHAOS_SEED     the seed (default: from the clock; printed either way)
//	MSTS_CHAOS_ACTIONS  the number of actions (default 150, the size make test runs)
//	MSTS_CHAOS_CONVERGE the bound on convergence after the last action (default 180s)
//
// `make chaos SEED=... ACTIONS=...` runs only this test on a fresh cluster.

const (
	chaosDefaultActions = 150
	chaosPVs            = 48
)

func chaosConfig(t *testing.T) (seed uint64, actions int, converge time.Duration) {
	seed, actions, converge = uint64(time.Now().UnixNano()%1_000_000), chaosDefaultActions, 180*time.Second
	if v := os.Getenv("MSTS_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "MSTS_CHAOS_SEED")
		seed = n
	}
	if v := os.Getenv("MSTS_CHAOS_ACTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "MSTS_CHAOS_ACTIONS")
		actions = n
	}
	if v := os.Getenv("MSTS_CHAOS_CONVERGE"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "MSTS_CHAOS_CONVERGE")
		converge = d
	}
	return seed, actions, converge
}

// setModel is what the plan has asked of a set so far: what it must converge to.
type setModel struct{ replicas, image, partition int }

// chaosRun is the state of one chaos run.
type chaosRun struct {
	t        *testing.T
	ctx      context.Context
	envs     [2]*env
	runID    string
	mon      *chaosMonitor
	lease    *leaseWatch
	replicas [2]*controllerProcess
	model    []setModel
	log      *os.File

	mu                 sync.Mutex
	kills, leaderKills int
	restarts           int      // starts of a replica after the first
	unplanned          []string // replicas that exited by themselves, with their status
	apiRestarts        []string // how long each API server restart took
	outcomes           map[string]int
	writer             struct{ writes, conflicts, errors int }
	recycled           int
	supervising        bool
	stopSupervisor     func()
	deletedSets        map[types.UID]time.Time // sets the actor deleted, and when
	stragglers         []string                // what the garbage collector left behind
	healed             []string                // cluster components that exited and were started again
}

func (c *chaosRun) logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.log, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (c *chaosRun) count(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outcomes[outcome]++
}

// TestChaos runs the plan and checks what the monitor saw and where the sets end.
func TestChaos(t *testing.T) {
	requireKwok(t)
	requireOwnController(t)
	// the API server restarts go through test/cluster, which must mean this cluster
	dir := os.Getenv("MSTS_CLUSTER_DIR")
	if dir == "" || filepath.Join(dir, "kubeconfig") != os.Getenv("MSTS_KUBECONFIG") {
		t.Fatalf("MSTS_CLUSTER_DIR (%q) must be the directory of MSTS_KUBECONFIG (%q), as make e2e sets it, so that the "+
			"API server restarts hit this cluster", dir, os.Getenv("MSTS_KUBECONFIG"))
	}
	seed, n, convergeBound := chaosConfig(t)
	// Registered first, so it runs last: when the run fails, its summary is the last
	// thing printed, after the traces and log tails of the cleanups below (CI shows
	// the end of a failing test's output).
	var report string
	t.Cleanup(func() {
		if t.Failed() && report != "" {
			t.Logf("the chaos run failed; its %s", report)
		}
	})
	plan := planChaos(seed, n)
	t.Logf("chaos: seed %d, %d actions, plan %s; replay with MSTS_CHAOS_SEED=%d MSTS_CHAOS_ACTIONS=%d (make chaos SEED=%d ACTIONS=%d)",
		seed, n, planHash(plan), seed, n, seed, n)

	c := &chaosRun{t: t, runID: fmt.Sprintf("%d", seed), outcomes: map[string]int{}, deletedSets: map[types.UID]time.Time{}}
	c.envs[0], c.envs[1] = newEnv(t, "chaos-a"), newEnv(t, "chaos-b")
	c.ctx = c.envs[0].ctx
	logPath := filepath.Join(artifacts, fmt.Sprintf("chaos-%d.log", seed))
	var err error
	c.log, err = os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() { c.log.Close() })
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, fmt.Sprintf("chaos-%d-plan.txt", seed)), []byte(planText(plan)), 0o644))
	t.Logf("chaos: plan and log in %s", logPath)

	c.startPVPool()
	c.mon = newChaosMonitor()
	for _, cfg := range chaosSets {
		c.mon.configs[c.envs[cfg.ns].ns+"/"+cfg.name] = cfg
	}
	require.NoError(t, c.mon.watch(c.ctx, []string{c.envs[0].ns, c.envs[1].ns}), "starting the monitor")
	c.lease, err = watchLease(c.ctx, c.envs[0].ns)
	require.NoError(t, err, "watching the Lease")
	c.startReplicas()

	c.model = make([]setModel, len(chaosSets))
	for i, cfg := range chaosSets {
		c.logf("set %s/%s", c.envs[cfg.ns].ns, describeSet(cfg))
		c.model[i] = setModel{replicas: 3}
		e := c.envs[cfg.ns]
		e.createService(cfg.name)
		e.createSet(cfg.name, c.spec(i))
	}
	require.NoError(t, c.waitConverged(longWait), "the sets' first pods")

	stopWriter := c.startSecondWriter(seed)
	started := time.Now()
	for i, a := range plan {
		time.Sleep(a.Gap) // pacing between actions, drawn from the seed
		outcome := c.do(a)
		c.count(a.Kind.String() + ": " + outcomeKind(outcome))
		c.logf("%4d %-28s %s", i+1, a, outcome)
	}
	last := time.Now()
	stopWriter()
	c.logf("actions done in %v; healing: releasing held pods, partitions to 0", last.Sub(started).Round(time.Millisecond))
	c.heal()
	convergeErr := c.waitConverged(convergeBound)
	convergeTook := time.Since(last)
	converged := fmt.Sprintf("converged after the last action in %v", convergeTook.Round(time.Millisecond))
	if convergeErr != nil {
		converged = fmt.Sprintf("NOT converged %v after the last action: %v", convergeTook.Round(time.Second), convergeErr)
	}

	violations, lost := c.mon.finish()
	violations = append(violations, c.lease.overlaps()...)
	failovers := leaseFailovers(c.lease.holders())
	c.mu.Lock()
	summary := []string{
		fmt.Sprintf("seed:                    %d (plan %s)", seed, planHash(plan)),
		fmt.Sprintf("actions:                 %d in %v (%s)", n, last.Sub(started).Round(time.Second), outcomeSummary(c.outcomes)),
		fmt.Sprintf("controller restarts:     %d (killed %d, of which leaders %d; exited by themselves %d: %s)", c.restarts, c.kills, c.leaderKills, len(c.unplanned), strings.Join(c.unplanned, "; ")),
		fmt.Sprintf("leader failovers:        %d (Lease holders in turn: %d)", failovers, len(c.lease.holders())),
		fmt.Sprintf("API server restarts:     %d (%s)", len(c.apiRestarts), strings.Join(c.apiRestarts, ", ")),
		fmt.Sprintf("second writer:           %d writes, %d conflicts, %d other errors", c.writer.writes, c.writer.conflicts, c.writer.errors),
		fmt.Sprintf("volumes recycled:        %d", c.recycled),
		fmt.Sprintf("left by the garbage collector of deleted sets, deleted by the test: %d %v", len(c.stragglers), c.stragglers),
		fmt.Sprintf("cluster components that exited, started again: %d %v", len(c.healed), c.healed),
		fmt.Sprintf("monitor:                 %s", c.mon.summary()),
		fmt.Sprintf("violations:              %d", len(violations)),
		fmt.Sprintf("claims lost:             %d", len(lost)),
		converged,
	}
	c.mu.Unlock()
	report = "chaos summary\n  " + strings.Join(summary, "\n  ")
	for _, v := range violations {
		report += "\n  VIOLATION: " + v
	}
	for _, l := range lost {
		report += "\n  CLAIM LOST: " + l
	}
	fmt.Fprintln(os.Stderr, report)
	c.logf("%s", report)

	require.NoError(t, convergeErr, "convergence")
	c.stopReplicas()
	assert.Empty(t, violations, "ordering violations")
	assert.Empty(t, lost, "claims lost")
	assert.Positive(t, c.mon.checks("creation"), "the monitor checked no creation")
}

// ----------------------------------------------------------------- set up --

// spec is the set's apps/v1 spec as the model has it now.
func (c *chaosRun) spec(i int) appsv1.StatefulSetSpec {
	cfg, m := chaosSets[i], c.model[i]
	spec := statefulSpec(cfg.name, int32(m.replicas), map[string]string{deleteDelay: cfg.deleteDelay}, cfg.claims)
	spec.Template.Spec.Containers[0].Image = chaosImages[m.image]
	if cfg.parallel {
		spec.PodManagementPolicy = appsv1.ParallelPodManagement
	}
	spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
	spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(m.partition))}
	if cfg.maxUnavail > 0 {
		spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(cfg.maxUnavail))
	}
	if cfg.claims {
		spec.PersistentVolumeClaimRetentionPolicy = retentionPolicy(cfg.whenDeleted, cfg.whenScaled)
		spec.VolumeClaimTemplates[0].Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"msts.chaos/pool": c.runID}}
	}
	return spec
}

// startPVPool creates the run's own static volumes (the claims select them by label,
// so the suite's pool stays untouched) and recycles each one its claim released:
// clearing claimRef makes a Released volume Available again.
func (c *chaosRun) startPVPool() {
	pvs := kube.CoreV1().PersistentVolumes()
	sel := "msts.chaos/pool=" + c.runID
	c.t.Cleanup(func() {
		_ = pvs.DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
	})
	for i := range chaosPVs {
		pv := staticVolume(fmt.Sprintf("msts-chaos-%s-%d", c.runID, i), "", "1Gi", map[string]string{"msts.chaos/pool": c.runID})
		_, err := pvs.Create(c.ctx, pv, metav1.CreateOptions{})
		require.NoError(c.t, err, "creating a volume of the chaos pool")
	}
	recycle := func(obj any) {
		pv, ok := obj.(*corev1.PersistentVolume)
		if !ok || pv.Status.Phase != corev1.VolumeReleased {
			return
		}
		if _, err := pvs.Patch(c.ctx, pv.Name, types.MergePatchType, []byte(`{"spec":{"claimRef":null}}`), metav1.PatchOptions{}); err == nil {
			c.mu.Lock()
			c.recycled++
			c.mu.Unlock()
		}
	}
	inf := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = sel
	})).Core().V1().PersistentVolumes().Informer()
	require.NoError(c.t, trace.RunInformer(c.ctx, inf, cache.ResourceEventHandlerFuncs{
		AddFunc: recycle, UpdateFunc: func(_, cur any) { recycle(cur) },
	}, nil))
}

// startReplicas stops the suite's controller (exit status 0 required) and starts two
// replicas with leader election, plus a supervisor that starts again every replica
// that is down, as a Deployment would. When the test ends the suite's controller runs
// again.
func (c *chaosRun) startReplicas() {
	require.NoError(c.t, controller.waitSynced(), "the suite's controller")
	require.NoError(c.t, controller.stop(syscall.SIGTERM), "the suite's controller's exit on SIGTERM")
	for i := range c.replicas {
		c.replicas[i] = newControllerProcess(fmt.Sprintf("chaos-%c", 'a'+i), "", leaderArgs(c.envs[0].ns)...)
		require.NoError(c.t, c.replicas[i].start())
	}
	c.supervising = true
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, p := range c.replicas {
				if err, ok := p.exitedAlone(); ok {
					c.mu.Lock()
					c.unplanned = append(c.unplanned, fmt.Sprintf("%s: %s", p.name, exitText(err)))
					c.mu.Unlock()
					c.logf("         controller %s exited by itself: %s", p.name, exitText(err))
				}
				c.mu.Lock()
				restart := c.supervising && p.stopped()
				c.mu.Unlock()
				if restart {
					if err := p.start(); err != nil {
						c.logf("         starting controller %s: %v", p.name, err)
						continue
					}
					c.mu.Lock()
					c.restarts++
					c.mu.Unlock()
				}
			}
		}
	}()
	var once sync.Once
	c.stopSupervisor = func() {
		once.Do(func() {
			c.mu.Lock()
			c.supervising = false
			c.mu.Unlock()
			close(stop)
			<-done
		})
	}
	c.t.Cleanup(func() {
		c.stopSupervisor()
		for _, p := range c.replicas {
			_ = p.stop(syscall.SIGKILL)
		}
		if !controller.running() {
			if err := controller.start(); err != nil {
				c.t.Errorf("restarting the suite's controller: %v", err)
			}
		}
	})
}

// stopReplicas stops the supervisor and both replicas with SIGTERM: each must exit
// with status 0 (the leader once its passes drained and the Lease was released).
func (c *chaosRun) stopReplicas() {
	c.stopSupervisor()
	for _, p := range c.replicas {
		if p.running() && p.acquiredLease() {
			assert.NoError(c.t, p.waitSynced(), "the leader before its SIGTERM")
		}
		assert.NoError(c.t, p.stop(syscall.SIGTERM), "controller %s's exit on SIGTERM", p.name)
	}
}

// startSecondWriter keeps writing the sets' and pods' annotations, read-modify-write,
// so the controllers' writes meet conflicts. It returns a function that stops it.
func (c *chaosRun) startSecondWriter(seed uint64) func() {
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(seed+1, 0x77726974))
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(150 * time.Millisecond):
			}
			cfg := chaosSets[rng.IntN(len(chaosSets))]
			ns := c.envs[cfg.ns].ns
			var err error
			if rng.IntN(2) == 0 {
				err = c.pokeSet(ctx, ns, cfg.name, n)
			} else {
				err = c.pokePod(ctx, ns, fmt.Sprintf("%s-%d", cfg.name, rng.IntN(cfg.maxReplicas)), n)
			}
			c.mu.Lock()
			switch {
			case err == nil:
				c.writer.writes++
			case apierrors.IsConflict(err):
				c.writer.conflicts++
			case !apierrors.IsNotFound(err) && ctx.Err() == nil:
				c.writer.errors++
			}
			c.mu.Unlock()
		}
	}()
	return func() { cancel(); <-done }
}

func (c *chaosRun) pokeSet(ctx context.Context, ns, name string, n int) error {
	sets := msts.AppsV1alpha1().MiniStatefulSets(ns)
	s, err := sets.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Annotations["msts.chaos/poke"] = strconv.Itoa(n)
	s.Labels["msts.chaos/poke"] = strconv.Itoa(n % 7)
	thinkTime(ctx, n)
	_, err = sets.Update(ctx, s, metav1.UpdateOptions{})
	return err
}

func (c *chaosRun) pokePod(ctx context.Context, ns, name string, n int) error {
	pods := kube.CoreV1().Pods(ns)
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations["msts.chaos/poke"] = strconv.Itoa(n)
	thinkTime(ctx, n)
	_, err = pods.Update(ctx, p, metav1.UpdateOptions{})
	return err
}

// thinkTime is the second writer's pause between its read and its write (0 to 90ms),
// long enough for the controllers to write in between now and then.
func thinkTime(ctx context.Context, n int) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(n%10) * 10 * time.Millisecond):
	}
}

// leaseFailovers counts the times the Lease went to another holder than the last one.
func leaseFailovers(holders []string) int {
	n, last := 0, ""
	for _, h := range holders {
		if h == "" {
			continue
		}
		if last != "" && h != last {
			n++
		}
		last = h
	}
	return n
}

// outcomeKind is an outcome without its details (UIDs, durations), for counting.
func outcomeKind(outcome string) string {
	if strings.HasPrefix(outcome, "error") {
		return "error"
	}
	for _, cut := range []string{" (", " in "} {
		if i := strings.Index(outcome, cut); i > 0 {
			outcome = outcome[:i]
		}
	}
	return outcome
}

func outcomeSummary(outcomes map[string]int) string {
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, outcomes[k]))
	}
	return strings.Join(parts, ", ")
}

// ------------------------------------------------------------ convergence --

// heal undoes what would keep a set from its spec for good: pods held un-Ready by
// hand are released and every partition goes back to 0.
func (c *chaosRun) heal() {
	for i := range chaosSets {
		c.model[i].partition = 0
		if err := c.updateSpec(i); err != nil {
			c.t.Fatalf("healing %s: %v", chaosSets[i].name, err)
		}
	}
	for _, e := range c.envs {
		for _, p := range e.pods() {
			if p.Annotations[holdUnready] == "true" {
				if err := c.annotate(e.ns, p.Name, holdUnready, "false"); err != nil && !apierrors.IsNotFound(err) {
					c.t.Fatalf("releasing %s: %v", p.Name, err)
				}
			}
		}
	}
}

// waitConverged waits until every set is at its model: replicas pods, named in
// order, owned by the live set, Running, Ready and at the update revision, with their
// claims Bound, and a status that says so for the current generation. On a timeout
// it logs the pods and says which sets are not there.
func (c *chaosRun) waitConverged(bound time.Duration) error {
	c.t.Helper()
	var saw []string
	var swept time.Time
	err := wait.PollUntilContextTimeout(c.ctx, 250*time.Millisecond, bound, true, func(context.Context) (bool, error) {
		if time.Since(swept) > 5*time.Second {
			c.healCluster()
			c.collectStragglers()
			swept = time.Now()
		}
		saw = saw[:0]
		for i := range chaosSets {
			if ok, why := c.converged(i); !ok {
				saw = append(saw, why)
			}
		}
		return len(saw) == 0, nil
	})
	if err != nil {
		for _, e := range c.envs {
			c.t.Logf("pods of %s:%s", e.ns, e.describePods())
		}
		if down := componentsDown(); len(down) > 0 {
			saw = append(saw, fmt.Sprintf("cluster components not running: %v", down))
		}
		return fmt.Errorf("not within %v: %s", bound, strings.Join(saw, "; "))
	}
	return nil
}

// healCluster starts again the cluster's components that exited (kwokctl's binary
// runtime does not supervise them; a kube-scheduler that exits leaves every new pod
// Pending) and says so in the summary: the cluster's failures are not the
// controller's, and they are not hidden either.
func (c *chaosRun) healCluster() {
	if len(componentsDown()) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../cluster/heal.sh").Output()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.healed = append(c.healed, fmt.Sprintf("%s: failed: %v", time.Now().Format("15:04:05"), err))
		return
	}
	c.healed = append(c.healed, fmt.Sprintf("%s at %s", strings.TrimSpace(string(out)), time.Now().Format("15:04:05")))
}

// componentsDown lists the local cluster's components (kwokctl's pid files) whose
// process is gone.
func componentsDown() []string {
	dir := filepath.Join(os.Getenv("MSTS_CLUSTER_DIR"), "kwok", "clusters", os.Getenv("MSTS_CLUSTER_NAME"), "pids")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	var down []string
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(raw)), "stat"))
		if fields := strings.Fields(string(stat)); err != nil || len(fields) < 3 || fields[2] == "Z" {
			down = append(down, strings.TrimSuffix(filepath.Base(f), ".pid"))
		}
	}
	return down
}

func (c *chaosRun) converged(i int) (bool, string) {
	cfg, m := chaosSets[i], c.model[i]
	e := c.envs[cfg.ns]
	set, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(c.ctx, cfg.name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Sprintf("%s: %v", cfg.name, err)
	}
	st := set.Status
	n := int32(m.replicas)
	if st.ObservedGeneration != set.Generation || st.Replicas != n || st.ReadyReplicas != n || st.AvailableReplicas != n ||
		st.UpdatedReplicas != n || st.CurrentRevision != st.UpdateRevision {
		return false, fmt.Sprintf("%s: want %d replicas; generation %d, status %+v", cfg.name, n, set.Generation, st)
	}
	pods, err := kube.CoreV1().Pods(e.ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		return false, err.Error()
	}
	var names []string
	for _, p := range pods.Items {
		if !strings.HasPrefix(p.Name, cfg.name+"-") {
			continue
		}
		names = append(names, p.Name)
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.UID != set.UID || !isReady(&p) || p.DeletionTimestamp != nil || p.Labels[revisionLabel] != st.UpdateRevision {
			return false, fmt.Sprintf("%s: pod %s not Ready at %s under the live set", cfg.name, p.Name, st.UpdateRevision)
		}
		if cfg.claims {
			claim, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(c.ctx, cfg.name+"-data-"+p.Name, metav1.GetOptions{})
			if err != nil || claim.Status.Phase != corev1.ClaimBound || claim.DeletionTimestamp != nil {
				return false, fmt.Sprintf("%s: the claim of %s is not Bound", cfg.name, p.Name)
			}
		}
	}
	want := make([]string, 0, n)
	for o := range int(n) {
		want = append(want, fmt.Sprintf("%s-%d", cfg.name, o))
	}
	sort.Strings(names)
	sort.Strings(want)
	if strings.Join(names, ",") != strings.Join(want, ",") {
		return false, fmt.Sprintf("%s: pods %v, want %v", cfg.name, names, want)
	}
	return true, ""
}
