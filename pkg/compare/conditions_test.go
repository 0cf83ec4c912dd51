package compare

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// snap builds a snapshot of set "web" with spec replicas and a status computed from
// the pods as a settled controller would write it, at update revision rev.
func snap(replicas int, rev string, pods ...corev1.Pod) Snapshot {
	n := int32(replicas)
	set := &workload.Set{Kind: workload.StatefulSet, ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 2},
		Spec: appsv1.StatefulSetSpec{Replicas: &n}}
	st := appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: int32(len(pods)), CurrentRevision: rev, UpdateRevision: rev}
	for i := range pods {
		if isServing(&pods[i]) {
			st.ReadyReplicas++
			st.AvailableReplicas++
		}
		if pods[i].Labels[revisionLabel] == rev {
			st.UpdatedReplicas++
			st.CurrentReplicas++
		}
	}
	set.Status = st
	return Snapshot{Set: set, Pods: pods}
}

// pod is web-<ordinal>: Running, Ready or not, at a revision, with a UID of its generation.
func pod(ordinal int, ready bool, rev string, gen int) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	name := fmt.Sprintf("web-%d", ordinal)
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(fmt.Sprintf("%s-%d", name, gen)), Labels: map[string]string{revisionLabel: rev},
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(ordinal) * 3 * time.Second))},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status,
			LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(ordinal)*3*time.Second + time.Second))}}},
	}
}

func plan3() Plan { return Plan{Set: "web", Replicas: 3, MinReadySeconds: 2} }

func met(t *testing.T, c Condition, o Observation) bool {
	t.Helper()
	ok, err := c.Met(o)
	require.NoError(t, err, c.What)
	return ok
}

func TestSettledNeedsEveryPodReadyAtTheUpdateRevisionAndTheStatus(t *testing.T) {
	p := plan3()
	ready := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	assert.True(t, met(t, settled(p, 3), Observation{Now: ready}))

	notReady := snap(3, "r1", pod(0, true, "r1", 1), pod(1, false, "r1", 1), pod(2, true, "r1", 1))
	assert.False(t, met(t, settled(p, 3), Observation{Now: notReady}))
	missing := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1))
	assert.False(t, met(t, settled(p, 3), Observation{Now: missing}))
	oldRevision := snap(3, "r2", pod(0, true, "r2", 1), pod(1, true, "r2", 1), pod(2, true, "r1", 1))
	assert.False(t, met(t, settled(p, 3), Observation{Now: oldRevision}))
	stale := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	stale.Set.Generation = 3
	assert.False(t, met(t, settled(p, 3), Observation{Now: stale}), "a status of an older spec says nothing")
	terminating := snap(2, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	assert.False(t, met(t, settled(p, 2), Observation{Now: terminating}), "a condemned pod still there")
}

func TestHaltedFailsAtOnceWhenAPodIsCreatedPastTheHeldOne(t *testing.T) {
	p := plan3()
	c := halted(p, 3, 4, "web-1")
	assert.Equal(t, haltWindow, c.Window)
	before := snap(3, "r1", pod(0, true, "r1", 1), pod(1, false, "r1", 1), pod(2, true, "r1", 1))
	held := snap(4, "r1", pod(0, true, "r1", 1), pod(1, false, "r1", 1), pod(2, true, "r1", 1))
	assert.True(t, met(t, c, Observation{Now: held, Before: before}))
	notSeen := snap(3, "r1", held.Pods...)
	assert.False(t, met(t, c, Observation{Now: notSeen, Before: before}), "the controller has not seen the scale-up yet")
	broken := snap(4, "r1", append(held.Pods, pod(3, false, "r1", 1))...)
	_, err := c.Met(Observation{Now: broken, Before: before})
	assert.ErrorContains(t, err, "the pods became [web-0 web-1 web-2 web-3] while web-1 was un-Ready")
}

func TestReplacedNeedsANewPodUnderTheSameName(t *testing.T) {
	p := plan3()
	before := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	same := before
	assert.False(t, met(t, replaced(p, 3, "web-1"), Observation{Now: same, Before: before}))
	after := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 2), pod(2, true, "r1", 1))
	assert.True(t, met(t, replaced(p, 3, "web-1"), Observation{Now: after, Before: before}))
}

func TestCanaryUpdatesTheTopPodOnly(t *testing.T) {
	p := plan3()
	before := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	canaried := snap(3, "r2", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r2", 2))
	canaried.Set.Status.CurrentRevision = "r1"
	c := canary(p)
	assert.True(t, met(t, c, Observation{Now: canaried, Before: before}))
	tooFar := snap(3, "r2", pod(0, true, "r1", 1), pod(1, true, "r2", 2), pod(2, true, "r2", 2))
	_, err := c.Met(Observation{Now: tooFar, Before: before})
	assert.ErrorContains(t, err, "web-1 was deleted or replaced although it is below the partition")
}

func TestUntouchedFailsWhenOnDeleteReplacesAPod(t *testing.T) {
	p := plan3()
	before := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	after := snap(3, "r2", before.Pods...)
	after.Set.Status.CurrentRevision = "r1"
	assert.True(t, met(t, untouched(p), Observation{Now: after, Before: before}))
	replacedTop := snap(3, "r2", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r2", 2))
	_, err := untouched(p).Met(Observation{Now: replacedTop, Before: before})
	assert.ErrorContains(t, err, "web-2 was deleted or replaced")
	assert.True(t, met(t, recreated(p, "web-2"), Observation{Now: replacedTop, Before: before}))
}

func TestClaimsGoneAndSetGone(t *testing.T) {
	p := plan3()
	p.ClaimTemplates = []string{"data"}
	claim := func(name string) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	one := snap(1, "r1", pod(0, true, "r1", 1))
	one.Claims = []corev1.PersistentVolumeClaim{claim("data-web-0"), claim("data-web-2")}
	c := claimsGone(p, 1)
	assert.Contains(t, c.What, "[data-web-1 data-web-2] gone")
	assert.False(t, met(t, c, Observation{Now: one}))
	one.Claims = one.Claims[:1]
	assert.True(t, met(t, c, Observation{Now: one}))

	gone := Snapshot{Claims: []corev1.PersistentVolumeClaim{claim("data-web-1")}}
	assert.False(t, met(t, setGone(p), Observation{Now: gone}))
	gone.Claims = nil
	assert.True(t, met(t, setGone(p), Observation{Now: gone}))
}

func TestMinReadyCreatedChecksEachGapFromTheReadyTime(t *testing.T) {
	p := plan3()
	// pod i is created at t0+3i s and Ready 1 s later: the next one comes 2 s after.
	ok := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	assert.True(t, met(t, minReadyCreated(p, 3), Observation{Now: ok}))
	early := snap(3, "r1", pod(0, true, "r1", 1), pod(1, true, "r1", 1), pod(2, true, "r1", 1))
	early.Pods[2].CreationTimestamp = metav1.NewTime(t0.Add(5 * time.Second))
	_, err := minReadyCreated(p, 3).Met(Observation{Now: early})
	assert.ErrorContains(t, err, "web-2 was created 1s after web-1 became Ready (at 03:04:09), less than minReadySeconds 2")
}
