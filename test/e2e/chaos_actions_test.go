//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The chaos test's actions. Each returns a short outcome for the log and the
// summary: "done", "no-op: ..." when its target is not there, or "error: ..." when
// the API refused; an action never fails the test by itself, what counts is what the
// monitor sees and where the sets end.

// actionTimeout bounds each API request of an action.
const actionTimeout = 10 * time.Second

func (c *chaosRun) do(a chaosAction) string {
	cfg := chaosSets[a.Set]
	e := c.envs[cfg.ns]
	pod := fmt.Sprintf("%s-%d", cfg.name, a.N)
	var err error
	switch a.Kind {
	case chaosScale:
		err = c.scale(a.Set, a.N)
	case chaosImage:
		c.model[a.Set].image = a.N
		err = c.updateSpec(a.Set)
	case chaosPartition:
		c.model[a.Set].partition = a.N
		err = c.updateSpec(a.Set)
	case chaosUnready:
		err = c.annotate(e.ns, pod, holdUnready, "true")
	case chaosReady:
		return c.release(e.ns, pod)
	case chaosFail:
		err = c.annotate(e.ns, pod, failPod, "true")
	case chaosDeletePod:
		err = c.deletePod(e.ns, pod)
	case chaosDeleteClaim:
		err = c.deleteClaim(e.ns, cfg.name+"-data-"+pod)
		if err == nil || apierrors.IsNotFound(err) {
			if perr := c.deletePod(e.ns, pod); err != nil && perr == nil {
				err = nil // the claim was not there, but its pod went
			}
		}
	case chaosRecreateSet:
		return c.recreate(a.Set)
	case chaosKillController:
		return c.kill(c.replicas[a.N], false)
	case chaosKillLeader:
		return c.killLeader()
	case chaosRestartAPI:
		return c.restartAPIServer()
	case chaosPause:
		return "done"
	}
	switch {
	case err == nil:
		return "done"
	case apierrors.IsNotFound(err):
		return "no-op: not there"
	}
	return "error: " + err.Error()
}

func (c *chaosRun) reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, actionTimeout)
}

// scale changes replicas through the scale subresource, as kubectl scale does; the
// model follows only when the write went through.
func (c *chaosRun) scale(i, replicas int) error {
	cfg := chaosSets[i]
	sets := msts.AppsV1alpha1().MiniStatefulSets(c.envs[cfg.ns].ns)
	ctx, cancel := c.reqCtx()
	defer cancel()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := sets.GetScale(ctx, cfg.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = int32(replicas)
		_, err = sets.UpdateScale(ctx, cfg.name, sc, metav1.UpdateOptions{})
		return err
	})
	if err == nil {
		c.model[i].replicas = replicas
	}
	return err
}

// updateSpec writes the model's image and partition into the set's spec.
func (c *chaosRun) updateSpec(i int) error {
	cfg, m := chaosSets[i], c.model[i]
	sets := msts.AppsV1alpha1().MiniStatefulSets(c.envs[cfg.ns].ns)
	ctx, cancel := c.reqCtx()
	defer cancel()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := sets.Get(ctx, cfg.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Template.Spec.Containers[0].Image = chaosImages[m.image]
		if s.Spec.UpdateStrategy.RollingUpdate == nil {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{}
		}
		s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(m.partition))
		_, err = sets.Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
}

// annotate sets one annotation on a live pod, for its kwok stage.
func (c *chaosRun) annotate(ns, pod, key, value string) error {
	ctx, cancel := c.reqCtx()
	defer cancel()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	_, err := kube.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// release lets a pod held un-Ready by hand become Ready.
func (c *chaosRun) release(ns, pod string) string {
	ctx, cancel := c.reqCtx()
	defer cancel()
	p, err := kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "no-op: not there"
	case err != nil:
		return "error: " + err.Error()
	case p.Annotations[holdUnready] != "true":
		return "no-op: not held"
	}
	if err := c.annotate(ns, pod, holdUnready, "false"); err != nil {
		return "error: " + err.Error()
	}
	return "done"
}

// deletePod deletes a pod by hand; the monitor hears of it first, by UID.
func (c *chaosRun) deletePod(ns, name string) error {
	ctx, cancel := c.reqCtx()
	defer cancel()
	pods := kube.CoreV1().Pods(ns)
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	c.mon.byHand([]types.UID{p.UID}, nil, nil)
	return pods.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
}

// deleteClaim deletes a claim by hand; it goes once no pod uses it.
func (c *chaosRun) deleteClaim(ns, name string) error {
	ctx, cancel := c.reqCtx()
	defer cancel()
	claims := kube.CoreV1().PersistentVolumeClaims(ns)
	cl, err := claims.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	c.mon.byHand(nil, []types.UID{cl.UID}, nil)
	return claims.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cl.UID}})
}

// recreate deletes a set (its pods linger, kwok's delete delay) and applies it again
// at once, as `kubectl delete msts x && kubectl apply -f x.yaml` would.
func (c *chaosRun) recreate(i int) string {
	cfg := chaosSets[i]
	e := c.envs[cfg.ns]
	sets := msts.AppsV1alpha1().MiniStatefulSets(e.ns)
	ctx, cancel := context.WithTimeout(c.ctx, shortWait)
	defer cancel()
	old, err := sets.Get(ctx, cfg.name, metav1.GetOptions{})
	if err != nil {
		return "error: " + err.Error()
	}
	c.mon.byHand(nil, nil, []types.UID{old.UID})
	c.mu.Lock()
	c.deletedSets[old.UID] = time.Now()
	c.mu.Unlock()
	err = sets.Delete(ctx, cfg.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &old.UID},
		PropagationPolicy: ptr(metav1.DeletePropagationBackground)})
	if err != nil {
		return "error: deleting: " + err.Error()
	}
	var created *appsv1alpha1.MiniStatefulSet
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, shortWait, true, func(ctx context.Context) (bool, error) {
		created, err = sets.Create(ctx, convert(c.t, e.ns, cfg.name, c.spec(i)), metav1.CreateOptions{})
		return err == nil, nil // AlreadyExists while the old one is still there
	})
	if err != nil {
		return "error: applying again: " + err.Error()
	}
	return fmt.Sprintf("done (uid %s -> %s)", shortUID(old.UID), shortUID(created.UID))
}

// kill SIGKILLs a controller replica; the supervisor starts it again.
func (c *chaosRun) kill(p *controllerProcess, leader bool) string {
	if !p.running() {
		return "no-op: " + p.name + " not running"
	}
	if err := p.stop(syscall.SIGKILL); err != nil {
		return "error: " + err.Error()
	}
	c.mu.Lock()
	c.kills++
	if leader {
		c.leaderKills++
	}
	c.mu.Unlock()
	return "killed " + p.name
}

// killLeader SIGKILLs the replica that holds the Lease: the live one whose current
// run took it (a replica that loses the Lease exits).
func (c *chaosRun) killLeader() string {
	var out []string
	for _, p := range c.replicas {
		if p.running() && p.acquiredLease() {
			out = append(out, c.kill(p, true))
		}
	}
	if len(out) == 0 {
		return "no-op: no leader right now"
	}
	return strings.Join(out, "; ")
}

// restartAPIServer kills kube-apiserver and starts it again (test/cluster).
func (c *chaosRun) restartAPIServer() string {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	c.mon.apiDown()
	defer c.mon.apiUp()
	// The Lease's watch is blind while the server is away, whether or not its error
	// handler hears of it (see leaseWatch.outage).
	c.lease.outage(start)
	defer func() { c.lease.outage(time.Now()) }()
	out, err := exec.CommandContext(ctx, "../cluster/restart-apiserver.sh").Output()
	took := time.Since(start).Round(10 * time.Millisecond)
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		c.t.Errorf("restarting the API server: %s", msg)
		return "error: " + msg
	}
	c.mu.Lock()
	c.apiRestarts = append(c.apiRestarts, fmt.Sprintf("%ss", strings.TrimSpace(string(out))))
	c.mu.Unlock()
	c.probeWatches()
	return fmt.Sprintf("done in %v (away %ss)", took, strings.TrimSpace(string(out)))
}

// describeSet says in the log what makes a set of the chaos test differ.
func describeSet(cfg chaosSetConfig) string {
	policy := "OrderedReady"
	if cfg.parallel {
		policy = fmt.Sprintf("Parallel, maxUnavailable %d", cfg.maxUnavail)
	}
	claims := "no claims"
	if cfg.claims {
		claims = fmt.Sprintf("claims whenDeleted %s, whenScaled %s", cfg.whenDeleted, cfg.whenScaled)
	}
	return fmt.Sprintf("%s: %s, %s, up to %d replicas, delete delay %s", cfg.name, policy, claims, cfg.maxReplicas, cfg.deleteDelay)
}

// probeWatches checks that the monitor's watches and the namespaces' pod traces came
// back after an API server restart: a pod of each namespace is annotated, and both
// must hear of it.
func (c *chaosRun) probeWatches() {
	for _, e := range c.envs {
		list, err := kube.CoreV1().Pods(e.ns).List(c.ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) == 0 {
			continue
		}
		monBefore, traceBefore := c.mon.events(), len(e.trace.snapshot(""))
		seenBefore := e.trace.Updates()
		if err := c.annotate(e.ns, list.Items[0].Name, "msts.chaos/probe", time.Now().Format(time.RFC3339Nano)); err != nil {
			continue // the pod went meanwhile
		}
		err = wait.PollUntilContextTimeout(c.ctx, poll, shortWait, true, func(context.Context) (bool, error) {
			return c.mon.events() > monBefore && e.trace.Updates() > seenBefore, nil
		})
		if err != nil {
			c.t.Errorf("after the API server restart the watches of %s did not come back: monitor %d -> %d events, trace %d events, %d -> %d updates",
				e.ns, monBefore, c.mon.events(), traceBefore, seenBefore, e.trace.Updates())
		}
	}
}

// collectStragglers deletes what the garbage collector left behind: pods and claims
// whose controller is a set the actor deleted more than stragglerAge ago. The
// garbage collector of kube-controller-manager can miss an owner's deletion around
// an API server restart and then keeps such objects until it restarts; a set applied
// again under the same name waits for them (their names are its names), which is
// right, and would wait forever. They are counted in the summary.
func (c *chaosRun) collectStragglers() {
	const stragglerAge = 30 * time.Second
	c.mu.Lock()
	stale := map[types.UID]bool{}
	for uid, at := range c.deletedSets {
		if time.Since(at) > stragglerAge {
			stale[uid] = true
		}
	}
	c.mu.Unlock()
	owned := func(refs []metav1.OwnerReference) bool {
		for _, r := range refs {
			if r.Kind == appsv1alpha1.Kind && stale[r.UID] {
				return true
			}
		}
		return false
	}
	ctx, cancel := c.reqCtx()
	defer cancel()
	for _, e := range c.envs {
		pods, err := kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && owned(p.OwnerReferences) {
				if kube.CoreV1().Pods(e.ns).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}) == nil {
					c.straggler(fmt.Sprintf("pod %s/%s (%s, created %s, phase %s)", e.ns, p.Name, c.ownerAge(p.OwnerReferences),
						p.CreationTimestamp.Format("15:04:05"), p.Status.Phase))
				}
			}
		}
		claims, err := kube.CoreV1().PersistentVolumeClaims(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, cl := range claims.Items {
			if cl.DeletionTimestamp == nil && owned(cl.OwnerReferences) {
				if kube.CoreV1().PersistentVolumeClaims(e.ns).Delete(ctx, cl.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cl.UID}}) == nil {
					c.straggler(fmt.Sprintf("claim %s/%s (%s, created %s)", e.ns, cl.Name, c.ownerAge(cl.OwnerReferences),
						cl.CreationTimestamp.Format("15:04:05")))
				}
			}
		}
	}
}

// ownerAge names the deleted set among the owners and when the actor deleted it.
func (c *chaosRun) ownerAge(refs []metav1.OwnerReference) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range refs {
		if at, ok := c.deletedSets[r.UID]; ok {
			return fmt.Sprintf("set %s uid %s deleted %s", r.Name, shortUID(r.UID), at.Format("15:04:05.000"))
		}
	}
	return "owner unknown"
}

func (c *chaosRun) straggler(what string) {
	c.mu.Lock()
	c.stragglers = append(c.stragglers, what)
	c.mu.Unlock()
	c.logf("         the garbage collector left %s of a deleted set behind: deleted it", what)
}
