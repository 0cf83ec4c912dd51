package trace

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestHistoryReadsEachPodsTimestampsAndTheSetsEvents(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newSet(workload.MiniStatefulSet, "web", 3)
	web0 := newPod(set, 0).Created(1).Scheduled(1).Ready(2).Obj()
	web1 := newPod(set, 1).Created(2).Scheduled(3).Unready(4).Obj()
	other := newPod(newSet(workload.MiniStatefulSet, "db", 1), 0).Created(1).Obj()
	kube := fake.NewClientset(web0, web1, other,
		newEvent(set, "SuccessfulCreate", "create Pod web-0 in MiniStatefulSet web successful", 1),
		newEvent(set, "SuccessfulDelete", "delete Pod web-2 in MiniStatefulSet web successful", 5),
		newEvent(newSet(workload.StatefulSet, "web", 1), "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful", 1))

	got, err := History(ctx, workload.Clients{Kube: kube, Sets: mstsfake.NewClientset()}, set)
	require.NoError(t, err)

	assert.Equal(t, []string{
		"created set",
		"created web-0", "event web-0", "scheduled web-0",
		"ready web-0", "created web-1",
		"scheduled web-1",
		"unready web-1",
		"event web-2",
	}, steps(got), "the story in time order, pods of one second by ordinal, the StatefulSet's event and db's pod left out")
	for _, r := range got {
		assert.False(t, r.Exact, "%s: times read back from the API are whole seconds", r)
	}
	assert.Equal(t, at(2).Time, got[4].At, "web-0 Ready at its condition's transition")
	assert.Equal(t, "SuccessfulDelete: delete Pod web-2 in MiniStatefulSet web successful", got[8].Detail, "the event tells of a pod that is gone")
	assert.Equal(t, "on node-1", got[3].Detail)
}

func TestHistoryOfFailedAndTerminatingPods(t *testing.T) {
	set := newSet(workload.StatefulSet, "web", 2)
	set.Generation = 3
	failed := newPod(set, 0).Created(1).Ready(2).Failed(5).Obj()
	leaving := newPod(set, 1).Created(3).Ready(4).Terminating(6, 30).Obj()
	pending := newPod(set, 2).Created(7).Obj()

	got := HistoryOf(set, []corev1.Pod{*failed, *leaving, *pending}, nil)

	assert.Equal(t, []string{"created set", "created web-0", "created web-1", "ready web-1", "failed web-0", "terminating web-1", "created web-2"}, steps(got))
	assert.Equal(t, "its spec has changed since (generation 3)", got[0].Detail)
	assert.Equal(t, at(6).Time, got[5].At, "terminating since the deletion was asked for, not when its grace period ends")
	assert.Equal(t, "Evicted", got[4].Detail)
}

func TestSortHistoryPutsDeletionsOfOneSecondTopDown(t *testing.T) {
	recs := []Record{
		{At: at(5).Time, Step: Event, Pod: "web-1", Detail: "SuccessfulDelete: delete Pod web-1"},
		{At: at(5).Time, Step: Event, Pod: "web-2", Detail: "SuccessfulDelete: delete Pod web-2"},
		{At: at(5).Time, Step: Ready, Pod: "web-0"},
		{At: at(5).Time, Step: Created, Pod: "web-0"},
		{At: at(4).Time, Step: Spec, Detail: "replicas 3 -> 1"},
	}
	SortHistory("web", recs)
	assert.Equal(t, []string{"spec set", "created web-0", "ready web-0", "event web-2", "event web-1"}, steps(recs))
}

// The events of the fields beyond apps/v1 are told as the pod's: a replaced
// unhealthy pod, a grown claim.
func TestHistoryTellsTheBeyondEventsOfTheirPods(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newSet(workload.MiniStatefulSet, "web", 3)
	kube := fake.NewClientset(
		newEvent(set, "ReplacingUnhealthyPod", "Replacing Pod web-2, not Running and Ready at revision web-b, with one at revision web-a (unhealthyPodReplacement: Automatic)", 1),
		newEvent(set, "SuccessfulUpdate", "grow Claim data-web-1 Pod web-1 in MiniStatefulSet web to 2Gi success", 2))
	got, err := History(ctx, workload.Clients{Kube: kube, Sets: mstsfake.NewClientset()}, set)
	require.NoError(t, err)
	assert.Equal(t, []string{"created set", "event web-2", "event web-1"}, steps(got))
	assert.Contains(t, got[1].Detail, "ReplacingUnhealthyPod: Replacing Pod web-2")
}
