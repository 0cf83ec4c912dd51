package ministatefulset

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// Every wait has a waker: each test here puts a set in a wait, checks that the pass
// asks for a retry (an error, so the key is retried with backoff) or a requeue, fires
// the event that ends the wait, and sees the set move on.

// earlierSet is the set of the same name that a user deleted before re-applying it.
func earlierSet(set *appsv1alpha1.MiniStatefulSet) *appsv1alpha1.MiniStatefulSet {
	old := set.DeepCopy()
	old.UID = "uid-earlier-" + set.UID
	return old
}

// terminatingPodOf is a pod of an earlier set, still terminating.
func terminatingPodOf(set *appsv1alpha1.MiniStatefulSet, ordinal int) *corev1.Pod {
	pod := newPod(set, &set.Spec.Template, set.Name+"-old", ordinal)
	pod.UID = "uid-earlier-" + pod.UID
	pod.ResourceVersion = "1"
	pod.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	pod.Status.Phase = corev1.PodRunning
	return pod
}

// TestReapplyWhileOldPodsTerminate is `kubectl delete msts web && kubectl apply -f
// web.yaml` while web-0 of the deleted set is still terminating.
func TestReapplyWhileOldPodsTerminate(t *testing.T) {
	set := newSet("web").Replicas(2).Obj()
	old := terminatingPodOf(earlierSet(set), 0)
	f := newFixture(t, set, old)

	err := f.sync("web")
	require.Error(t, err, "creating web-0 meets AlreadyExists: the pass must be retried with backoff, not end quietly")
	assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "web-0")
	assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()))

	queued(f)
	handlers := f.c.podHandlers(f.ctx)
	later := old.DeepCopy()
	later.ResourceVersion = "2"
	handlers.UpdateFunc(old, later)
	assert.Equal(t, []string{"default/web"}, queued(f), "an update of the old web-0 wakes the new set")
	handlers.DeleteFunc(cache.DeletedFinalStateUnknown{Key: "default/web-0", Obj: later})
	assert.Equal(t, []string{"default/web"}, queued(f), "the old web-0 going away wakes the new set")

	require.NoError(t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, "web-0"))
	f.mustSync("web")
	assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()))
	assert.Equal(t, set.UID, metav1.GetControllerOf(f.pod("web-0")).UID)
}

// TestReapplyWhileOldClaimsAreDeleted: the deleted set had whenDeleted=Delete, so the
// garbage collector is deleting its claims when the new set arrives.
func TestReapplyWhileOldClaimsAreDeleted(t *testing.T) {
	set := newSet("web").Replicas(1).Claims("data").Obj()
	withRetention(del, retain)(set)
	oldClaim := newClaims(set, 0)["data-web-0"]
	oldClaim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(earlierSet(set), miniStatefulSetKind)}
	oldClaim.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	oldClaim.Finalizers = []string{"kubernetes.io/pvc-protection"}
	f := newFixture(t, set, oldClaim)

	err := f.sync("web")
	require.Error(t, err, "a claim being deleted is waited for with backoff")
	assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "waiting for claim data-web-0 to finish terminating before creating web-0")
	assert.Empty(t, podWrites(f.writes()))

	queued(f)
	f.c.enqueueForClaim(f.ctx, cache.DeletedFinalStateUnknown{Key: "default/data-web-0", Obj: oldClaim})
	assert.Equal(t, []string{"default/web"}, queued(f), "the old claim going away wakes the new set")

	require.NoError(t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, "data-web-0"))
	f.mustSync("web")
	assert.Equal(t, []string{"create persistentvolumeclaims data-web-0", "create pods web-0"}, podWrites(f.writes()))
}

// TestStaleClaimWakesASetSelectingByExpressions: claims carry only the selector's
// matchLabels, so a set selecting by matchExpressions must be found by the claim's
// name.
func TestStaleClaimWakesASetSelectingByExpressions(t *testing.T) {
	set := newSet("web").Replicas(1).Claims("data").Obj()
	set.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}}
	withRetention(retain, del)(set)
	stale := newClaims(set, 0)["data-web-0"]
	stale.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-0", UID: "earlier-web-0", Controller: ptr(true)}}
	require.Empty(t, stale.Labels, "the claim carries no label the set's selector could match")
	f := newFixture(t, set, stale)

	err := f.sync("web")
	require.Error(t, err, "a stale claim is waited for with backoff")
	queued(f)
	f.c.enqueueForClaim(f.ctx, stale)
	assert.Equal(t, []string{"default/web"}, queued(f), "an event of the stale claim wakes the set")
}

// TestSetResyncIsASafetyNet: the periodic resync replays every set unchanged, and
// each replay is a pass, as in kube-controller-manager.
func TestSetResyncIsASafetyNet(t *testing.T) {
	set := newSet("web").Obj()
	set.ResourceVersion = "7"
	f := newFixture(t, set)
	queued(f)
	f.c.setHandlers().UpdateFunc(set, set)
	assert.Equal(t, []string{"default/web"}, queued(f))
}

// TestAvailabilityIsCountedAndAwaitedForEveryPod: under OrderedReady the walk halts
// at an unready web-0, yet web-1, Ready since a moment ago, becomes available in
// minReadySeconds: the pass asks to come back then, and counts web-2 as available.
func TestAvailabilityIsCountedAndAwaitedForEveryPod(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).MinReady(10).Obj())
	for i := range 3 {
		f.mustSync("web")
		f.ready(podName(f.set("web"), i))
		f.clock.Step(11 * time.Second)
	}
	f.mustSync("web")
	require.Equal(t, int32(3), f.set("web").Status.AvailableReplicas)

	f.unready("web-0", "web-1")
	f.clock.Step(time.Second)
	f.ready("web-1")
	f.refresh()
	requeue, err := f.c.sync(f.ctx, objectKey("web"))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, requeue, "web-1 becomes available in 10s, though the walk stops at web-0")
	st := f.set("web").Status
	assert.Equal(t, int32(2), st.ReadyReplicas)
	assert.Equal(t, int32(1), st.AvailableReplicas, "web-2 is available; web-1 not yet")
}

// TestReadyTransitionRequeuesAfterMinReadySeconds: a pod's Ready transition brings a
// pass minReadySeconds + 1s later, when it has become available.
func TestReadyTransitionRequeuesAfterMinReadySeconds(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(1).MinReady(10).Obj())
	f.c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "test", Clock: f.clock})
	t.Cleanup(f.c.queue.ShutDown)
	f.mustSync("web")
	before := f.pod("web-0")
	before.ResourceVersion = "1"
	f.ready("web-0")
	after := f.pod("web-0")
	after.ResourceVersion = "2"

	f.c.podHandlers(f.ctx).UpdateFunc(before, after)
	assert.Equal(t, []string{"default/web"}, queued(f), "the update itself brings a pass")
	f.clock.Step(11 * time.Second)
	err := wait.PollUntilContextTimeout(f.ctx, 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return f.c.queue.Len() == 1, nil
	})
	require.NoError(t, err, "no pass came minReadySeconds + 1s after web-0 became Ready")
	assert.Equal(t, []string{"default/web"}, queued(f))
}

// A failing set's retries never wait longer than maxRetryBackoff, however many
// failures came before: a refusal that ends (a quota raised) is seen in time.
func TestRetryBackoffIsBounded(t *testing.T) {
	l := retryLimiter()
	key := objectKey("web")
	var last time.Duration
	for range 40 {
		last = l.When(key)
	}
	assert.Equal(t, maxRetryBackoff, last, "after 40 failures")
	l.Forget(key)
	assert.Equal(t, 5*time.Millisecond, l.When(key), "a success starts over")
}
