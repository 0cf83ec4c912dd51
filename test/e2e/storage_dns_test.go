//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// TestStableDNSPerPod proves that each pod of a MiniStatefulSet gets a stable DNS
// name through its headless Service (<pod>.<service>.<ns>.svc.cluster.local), that
// the Service name resolves to every pod, and that when a pod is replaced its name
// follows the new pod.
func TestStableDNSPerPod(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "dns")
	e.createSet("redis", statefulSpec("redis", 3, nil, false))
	e.waitReady("redis-0", "redis-1", "redis-2")

	podHost := fmt.Sprintf("redis-0.redis.%s.svc.cluster.local.", e.ns)
	svcHost := fmt.Sprintf("redis.%s.svc.cluster.local.", e.ns)
	old, _ := e.pod("redis-0")
	e.waitResolvesTo(podHost, old.Status.PodIP)
	var ips []string
	for _, p := range e.pods() {
		ips = append(ips, p.Status.PodIP)
	}
	e.waitResolvesTo(svcHost, ips...)

	if err := kube.CoreV1().Pods(e.ns).Delete(e.ctx, "redis-0", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting redis-0: %v", err)
	}
	fresh := e.waitReplaced("redis-0", old.UID)
	// kwok tends to hand the new pod the old IP, so first see the name's
	// EndpointSlice entry (what CoreDNS serves) point at the new pod itself.
	e.waitSaw(shortWait, "redis's EndpointSlice to list the new redis-0 Ready", func() (bool, string) {
		list, err := kube.DiscoveryV1().EndpointSlices(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=redis"})
		if err != nil {
			return false, err.Error()
		}
		var saw []string
		for _, sl := range list.Items {
			for _, ep := range sl.Endpoints {
				if ep.Hostname != nil && *ep.Hostname == "redis-0" && ep.TargetRef != nil {
					ready := ep.Conditions.Ready != nil && *ep.Conditions.Ready
					if ep.TargetRef.UID == fresh.UID && ready {
						return true, ""
					}
					saw = append(saw, fmt.Sprintf("redis-0 -> %v uid=%s ready=%v", ep.Addresses, shortUID(ep.TargetRef.UID), ready))
				}
			}
		}
		return false, fmt.Sprint(saw)
	})
	e.waitResolvesTo(podHost, fresh.Status.PodIP)
	t.Logf("%s: old pod %s had %s, new pod %s has %s; %s had %v", podHost, shortUID(old.UID), old.Status.PodIP, shortUID(fresh.UID), fresh.Status.PodIP, svcHost, ips)
}

// TestClaimPerPodSurvives proves that each pod gets its own claim from the claim
// template, that a replaced pod gets back the very same claim (same UID, same bound
// volume), and that deleting the MiniStatefulSet lets the garbage collector remove
// its pods through their ownerReferences while the claims are kept.
func TestClaimPerPodSurvives(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "pvc")
	set := e.createSet("redis", statefulSpec("redis", 3, nil, true))
	e.waitReady("redis-0", "redis-1", "redis-2")

	names := []string{"redis-data-redis-0", "redis-data-redis-1", "redis-data-redis-2"}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	e.waitSaw(longWait, "claims "+strings.Join(names, ",")+" Bound", func() (bool, string) {
		done, saw := true, []string{}
		for _, n := range names {
			c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, n, metav1.GetOptions{})
			if err != nil {
				done, saw = false, append(saw, n+": "+err.Error())
				continue
			}
			claims[n] = c
			saw = append(saw, fmt.Sprintf("%s %s volume=%q", n, c.Status.Phase, c.Spec.VolumeName))
			done = done && c.Status.Phase == corev1.ClaimBound && c.Spec.VolumeName != ""
		}
		return done, strings.Join(saw, "; ")
	})
	before := claims["redis-data-redis-2"]

	old, _ := e.pod("redis-2")
	if err := kube.CoreV1().Pods(e.ns).Delete(e.ctx, "redis-2", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting redis-2: %v", err)
	}
	fresh := e.waitReplaced("redis-2", old.UID)
	after, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, before.Name, metav1.GetOptions{})
	require.NoError(t, err, "claim %s after redis-2 was replaced", before.Name)
	assert.Equal(t, before.UID, after.UID, "claim %s was recreated", before.Name)
	assert.Equal(t, before.Spec.VolumeName, after.Spec.VolumeName, "claim %s is bound to another volume", before.Name)
	claimOf := ""
	for _, v := range fresh.Spec.Volumes {
		if v.Name == "redis-data" && v.PersistentVolumeClaim != nil {
			claimOf = v.PersistentVolumeClaim.ClaimName
		}
	}
	t.Logf("claim %s uid %s volume %s kept by new redis-2 (%s)", after.Name, shortUID(after.UID), after.Spec.VolumeName, shortUID(fresh.UID))
	assert.Equal(t, before.Name, claimOf, "claim of the new redis-2's volume redis-data; volumes: %+v", fresh.Spec.Volumes)

	for _, p := range e.pods() {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.Kind != "MiniStatefulSet" || ref.Name != "redis" || ref.UID != set.UID {
			t.Fatalf("pod %s is not controlled by MiniStatefulSet redis (uid %s); ownerReferences: %+v", p.Name, set.UID, p.OwnerReferences)
		}
	}

	if err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Delete(e.ctx, "redis", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting MiniStatefulSet redis: %v", err)
	}
	e.waitSaw(longWait, "the garbage collector to remove every pod", func() (bool, string) {
		pods := e.pods()
		return len(pods) == 0, e.describePods()
	})
	e.holdsFor(2*time.Second, "a pod reappearing after the MiniStatefulSet was deleted", func() bool { return len(e.pods()) > 0 })
	for _, n := range names {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, n, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			t.Errorf("claim %s was deleted with the MiniStatefulSet", n)
			continue
		}
		require.NoError(t, err, "getting claim %s", n)
		assert.Equal(t, claims[n].UID, c.UID, "claim %s was recreated", n)
	}
}

// TestSideBySideWithBuiltInStatefulSet runs a built-in StatefulSet and a
// MiniStatefulSet in one namespace with overlapping pod labels but distinct
// selectors: each controls only its own pods, scaling one leaves the other alone,
// and both create (0,1,2, each after the previous is Ready) and delete (2,1) in the
// same order.
func TestSideBySideWithBuiltInStatefulSet(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "side")
	specFor := func(name string) appsv1.StatefulSetSpec {
		spec := statefulSpec(name, 3, map[string]string{deleteDelay: "1s"}, false)
		spec.Template.Labels["tier"] = "shared"
		return spec
	}
	e.createStatefulSet("web", specFor("web"))
	e.createSet("mweb", specFor("mweb"))
	all := []string{"web-0", "web-1", "web-2", "mweb-0", "mweb-1", "mweb-2"}
	e.waitReady(all...)

	webUIDs := map[string]types.UID{}
	for _, p := range e.pods() {
		kind, set := "StatefulSet", "web"
		if strings.HasPrefix(p.Name, "mweb-") {
			kind, set = "MiniStatefulSet", "mweb"
		}
		controllers := 0
		for _, r := range p.OwnerReferences {
			if r.Controller != nil && *r.Controller {
				controllers++
			}
		}
		ref := metav1.GetControllerOf(&p)
		if controllers != 1 || ref.Kind != kind || ref.Name != set {
			t.Errorf("pod %s: want exactly one controller %s/%s, got ownerReferences %+v", p.Name, kind, set, p.OwnerReferences)
		}
		if kind == "StatefulSet" {
			webUIDs[p.Name] = p.UID
		}
	}
	require.Len(t, webUIDs, 3, "web pods: %s", e.describePods())

	// Scale only once both controllers have written their final status for 3 Ready
	// pods: the scale helpers do not retry a write conflict with a status update.
	e.waitSaw(longWait, "web and mweb status to settle at 3 available", func() (bool, string) {
		sts, err1 := kube.AppsV1().StatefulSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		set, err2 := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "mweb", metav1.GetOptions{})
		if err := errors.Join(err1, err2); err != nil {
			return false, err.Error()
		}
		a, b := sts.Status, set.Status
		return a.ObservedGeneration == sts.Generation && a.AvailableReplicas == 3 && a.UpdatedReplicas == 3 &&
				b.ObservedGeneration == set.Generation && b.AvailableReplicas == 3 && b.UpdatedReplicas == 3,
			fmt.Sprintf("web gen=%d status=%+v; mweb gen=%d status=%+v", sts.Generation, a, set.Generation, b)
	})
	e.scale("mweb", 1)
	e.waitSaw(longWait, "mweb scaled down to mweb-0", func() (bool, string) {
		var left []string
		for _, p := range e.pods() {
			if strings.HasPrefix(p.Name, "mweb-") {
				left = append(left, p.Name)
			}
		}
		return len(left) == 1 && left[0] == "mweb-0", fmt.Sprint(left)
	})
	for name, uid := range webUIDs {
		p, ok := e.pod(name)
		if !ok || p.UID != uid || !isReady(p) || p.DeletionTimestamp != nil {
			t.Errorf("StatefulSet pod %s (uid %s) was disturbed by scaling mweb: %s", name, uid, e.describePods())
		}
	}

	e.scaleStatefulSet("web", 1)
	e.waitGone("web-2")
	e.waitGone("web-1")

	t.Logf("StatefulSet web trace:\n%s", eventLines(e.trace.snapshot("StatefulSet")))
	t.Logf("MiniStatefulSet mweb trace:\n%s", eventLines(e.trace.snapshot("MiniStatefulSet")))
	stsCreated, mCreated := traceOrdinals(e, "StatefulSet", "created"), traceOrdinals(e, "MiniStatefulSet", "created")
	assert.Equal(t, []int{0, 1, 2}, stsCreated, "StatefulSet creation order")
	assert.Equal(t, stsCreated, mCreated, "MiniStatefulSet creation order differs from the StatefulSet's")
	stsDeleted, mDeleted := traceOrdinals(e, "StatefulSet", "terminating"), traceOrdinals(e, "MiniStatefulSet", "terminating")
	assert.Equal(t, []int{2, 1}, stsDeleted, "StatefulSet deletion order")
	assert.Equal(t, []int{2, 1}, mDeleted, "MiniStatefulSet deletion order")
	assertCreatedAfterReady(t, e.trace.snapshot("StatefulSet"), "web", 3)
	assertCreatedAfterReady(t, e.trace.snapshot("MiniStatefulSet"), "mweb", 3)
	// the whole order of each kind's pod events, by ordinal: one pod at a time both ways
	stsOrder, mOrder := ordinalOrder(e, "StatefulSet"), ordinalOrder(e, "MiniStatefulSet")
	assert.Equal(t, []string{"created 0", "ready 0", "created 1", "ready 1", "created 2", "ready 2",
		"terminating 2", "gone 2", "terminating 1", "gone 1"}, stsOrder, "StatefulSet order of pod events")
	assert.Equal(t, stsOrder, mOrder, "MiniStatefulSet order of pod events differs from the StatefulSet's")
}

// waitSaw polls cond until it holds; when the bound passes it fails with what cond
// last reported seeing.
func (e *env) waitSaw(timeout time.Duration, what string, cond func() (bool, string)) {
	e.t.Helper()
	saw := "(not polled)"
	err := wait.PollUntilContextTimeout(e.ctx, poll, timeout, true, func(context.Context) (bool, error) {
		var ok bool
		ok, saw = cond()
		return ok, nil
	})
	if err != nil {
		e.t.Fatalf("waiting %v for %s: %v; last saw: %s", timeout, what, err, saw)
	}
}

// waitReplaced waits for a pod of the given name other than oldUID to be Ready.
func (e *env) waitReplaced(name string, oldUID types.UID) *corev1.Pod {
	e.t.Helper()
	var fresh *corev1.Pod
	e.waitSaw(longWait, "a new Ready "+name+" replacing uid "+string(oldUID), func() (bool, string) {
		p, ok := e.pod(name)
		if !ok {
			return false, name + " absent"
		}
		fresh = p
		return p.UID != oldUID && isReady(p) && p.DeletionTimestamp == nil,
			fmt.Sprintf("%s uid=%s ready=%v terminating=%v", name, p.UID, isReady(p), p.DeletionTimestamp != nil)
	})
	if fresh.Status.PodIP == "" {
		e.t.Fatalf("new %s is Ready without a podIP", name)
	}
	return fresh
}

// waitResolvesTo polls the cluster's DNS until host resolves to exactly the want
// addresses (as a set).
func (e *env) waitResolvesTo(host string, want ...string) {
	e.t.Helper()
	want = append([]string(nil), want...)
	sort.Strings(want)
	if len(want) == 0 || want[0] == "" {
		e.t.Fatalf("expected addresses for %s are empty or include an empty podIP: %q", host, want)
	}
	r := resolver()
	e.waitSaw(shortWait, fmt.Sprintf("%s to resolve to %v", host, want), func() (bool, string) {
		ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
		defer cancel()
		got, err := r.LookupHost(ctx, host)
		if err != nil {
			return false, err.Error()
		}
		sort.Strings(got)
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
}

// traceOrdinals maps the trace's records of one step for one owner kind to ordinals.
func traceOrdinals(e *env, owner string, kind trace.Step) []int {
	var out []int
	for _, s := range e.traced(owner, kind) {
		name := strings.TrimPrefix(s, string(kind)+" ")
		n, err := strconv.Atoi(name[strings.LastIndex(name, "-")+1:])
		if err != nil {
			e.t.Fatalf("pod name %q in the trace has no ordinal", name)
		}
		out = append(out, n)
	}
	return out
}

// ordinalOrder is the trace of one owner kind as "step ordinal", every compared step.
func ordinalOrder(e *env, owner string) []string {
	var out []string
	for _, s := range e.traced(owner, comparedSteps...) {
		kind, name, _ := strings.Cut(s, " ")
		out = append(out, kind+" "+name[strings.LastIndex(name, "-")+1:])
	}
	return out
}

// assertCreatedAfterReady checks that <set>-(i+1) was created only after <set>-i was Ready.
func assertCreatedAfterReady(t *testing.T, events []trace.Record, set string, replicas int) {
	t.Helper()
	first := func(kind trace.Step, name string) (time.Time, bool) {
		for _, ev := range events {
			if ev.Step == kind && ev.Pod == name {
				return ev.At, true
			}
		}
		return time.Time{}, false
	}
	for i := 0; i+1 < replicas; i++ {
		prev, next := fmt.Sprintf("%s-%d", set, i), fmt.Sprintf("%s-%d", set, i+1)
		ready, ok1 := first(trace.Ready, prev)
		created, ok2 := first(trace.Created, next)
		if !ok1 || !ok2 {
			t.Errorf("trace lacks ready %s (%v) or created %s (%v):\n%s", prev, ok1, next, ok2, eventLines(events))
			continue
		}
		if created.Before(ready) {
			t.Errorf("%s created at %s, before %s was ready at %s", next, created.Format("15:04:05.000"), prev, ready.Format("15:04:05.000"))
		}
	}
}
