package trace

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// eventually waits, bounded, until the recorder holds want (as "step pod").
func eventually(t *testing.T, r *Recorder, want []string) {
	t.Helper()
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, steps(r.Records(""))) }, 10*time.Second, 10*time.Millisecond,
		"want %v", want)
}

func TestFollowAStatefulSetTellsHistoryThenRecordsWhatChanges(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	set := newSet(workload.StatefulSet, "web", 2)
	sts := &appsv1.StatefulSet{ObjectMeta: set.ObjectMeta, Spec: set.Spec}
	web0 := newPod(set, 0).Created(1).Scheduled(1).Ready(2).Obj()
	kube := fake.NewClientset(sts, web0, newEvent(set, "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful", 1))
	clients := workload.Clients{Kube: kube, Sets: mstsfake.NewClientset()}
	var mu sync.Mutex
	var seen []int64
	history, r, err := Follow(ctx, clients, set, FollowOptions{OnSet: func(s *workload.Set) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s.Generation)
	}})
	require.NoError(t, err)

	assert.Equal(t, []string{"created set", "created web-0", "event web-0", "scheduled web-0", "ready web-0"}, steps(history))
	assert.Empty(t, r.Records(""), "what the first lists showed is history, not recorded again")

	sts.Spec.Replicas, sts.Generation = ptr(int32(3)), 2
	_, err = kube.AppsV1().StatefulSets("ns").Update(ctx, sts, metav1.UpdateOptions{})
	require.NoError(t, err)
	eventually(t, r, []string{"spec set"})
	_, err = kube.CoreV1().Pods("ns").Create(ctx, newPod(set, 1).Obj(), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().Pods("ns").Create(ctx, newPod(newSet(workload.StatefulSet, "db", 1), 0).Obj(), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().Events("ns").Create(ctx, newEvent(set, "SuccessfulCreate", "create Pod web-1 in StatefulSet web successful", 9), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().Pods("ns").Update(ctx, newPod(set, 1).Scheduled(9).Ready(10).Obj(), metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, kube.CoreV1().Pods("ns").Delete(ctx, "web-0", metav1.DeleteOptions{}))

	// the three watches are separate, so only each one's own order is fixed
	require.Eventually(t, func() bool { return len(r.Records("")) == 6 }, 10*time.Second, 10*time.Millisecond, "got %v", steps(r.Records("")))
	recs := r.Records("")
	assert.Equal(t, "replicas 2 -> 3", recs[0].Detail)
	assert.Equal(t, []string{"created web-1", "scheduled web-1", "ready web-1", "gone web-0"}, steps(r.Steps("", PodSteps...)), "db-0 is not of the set")
	ev := r.Steps("", Event)
	require.Len(t, ev, 1)
	assert.Equal(t, "SuccessfulCreate: create Pod web-1 in StatefulSet web successful", ev[0].Detail)
	assert.Equal(t, "web-1", ev[0].Pod)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, seen, int64(2), "OnSet heard of the new generation")
}

func TestFollowAMiniStatefulSetRecordsItsDeletion(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	set := newSet(workload.MiniStatefulSet, "web", 1)
	m := &appsv1alpha1.MiniStatefulSet{ObjectMeta: set.ObjectMeta}
	sets := mstsfake.NewClientset(m)
	_, r, err := Follow(ctx, workload.Clients{Kube: fake.NewClientset(), Sets: sets}, set, FollowOptions{})
	require.NoError(t, err)

	m.Spec.Template.Spec.Containers = set.Spec.Template.Spec.Containers
	m.Spec.Template.Spec.Containers[0].Image, m.Generation = "redis:8", 2
	_, err = sets.AppsV1alpha1().MiniStatefulSets("ns").Update(ctx, m, metav1.UpdateOptions{})
	require.NoError(t, err)
	eventually(t, r, []string{"spec set"})
	require.NoError(t, sets.AppsV1alpha1().MiniStatefulSets("ns").Delete(ctx, "web", metav1.DeleteOptions{}))
	eventually(t, r, []string{"spec set", "gone set"})
	assert.Equal(t, "template changed", r.Records("")[0].Detail, "the first version had no containers")
}
