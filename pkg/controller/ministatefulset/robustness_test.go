package ministatefulset

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// Specs that got past admission before it knew better, and code that panics, must
// never take down the process that serves every other set.

func TestNegativeHistoryLimitPrunesEverythingUnused(t *testing.T) {
	set := newSet("web").Obj()
	set.Spec.RevisionHistoryLimit = ptr(int32(-1))
	var revs []*appsv1.ControllerRevision
	for i := range 3 {
		s := set.DeepCopy()
		s.Spec.Template.Spec.Containers[0].Image = strings.Repeat("x", i+1)
		r, err := newRevision(s, int64(i+1))
		require.NoError(t, err)
		revs = append(revs, r)
	}
	var prunable []*appsv1.ControllerRevision
	assert.NotPanics(t, func() { prunable = prunableRevisions(set, revs, nil, revs[2].Name) })
	assert.Len(t, prunable, 2, "a negative limit keeps no history, as 0 does")
	assert.NotPanics(t, func() { prunable = prunableRevisions(set, nil, nil) })
	assert.Empty(t, prunable)
}

// panickyPods panics on every write for the sets it names.
type panickyPods struct {
	podControl
	sets map[string]bool
}

func (p panickyPods) CreatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error {
	if p.sets[set.Name] {
		panic("injected panic creating " + pod.Name)
	}
	return p.podControl.CreatePod(ctx, set, pod, claims)
}

// TestAPanicFailsOnlyItsOwnPass: a pass that panics, inline or inside a Parallel
// burst, is retried with backoff like an error, and the worker goes on to serve the
// other sets.
func TestAPanicFailsOnlyItsOwnPass(t *testing.T) {
	f := newFixture(t, newSet("bad").Replicas(3).Obj())
	require.NoError(t, f.msts.Tracker().Add(newSet("burst").Replicas(3).Parallel().Obj()))
	require.NoError(t, f.msts.Tracker().Add(newSet("good").Replicas(1).Obj()))
	f.c.control.pods = panickyPods{podControl: f.c.control.pods, sets: map[string]bool{"bad": true, "burst": true}}
	f.refresh()
	for _, name := range []string{"bad", "burst", "good"} {
		f.c.queue.Add(objectKey(name))
	}
	for range 3 {
		assert.NotPanics(t, func() { f.c.processNext(f.ctx) })
	}
	assert.Equal(t, []string{"good-0"}, f.podNames(), "the good set was served")
	assert.Equal(t, 1, f.c.queue.NumRequeues(objectKey("bad")), "the panicking pass is retried with backoff")
	assert.Equal(t, 1, f.c.queue.NumRequeues(objectKey("burst")), "a panic in a Parallel burst too")
}

// TestStartOrdinalNearTheTopOfInt32: the last ordinal a set may have is 2^31-1; a
// spec reaching past it is refused, never half carried out.
func TestStartOrdinalNearTheTopOfInt32(t *testing.T) {
	t.Run("the last ordinal is a member", func(t *testing.T) {
		f := newFixture(t, newSet("web").Replicas(1).Start(2147483647).Obj())
		f.settle("web")
		assert.Equal(t, []string{"web-2147483647"}, f.podNames())
		assert.Equal(t, int32(1), f.set("web").Status.ReadyReplicas)
	})
	t.Run("one past it is refused", func(t *testing.T) {
		f := newFixture(t, newSet("web").Replicas(2).Start(2147483647).Obj())
		for range 6 {
			_ = f.sync("web")
			f.kubeletStep()
		}
		for _, w := range f.writes() {
			assert.NotContains(t, w, "pods", "nothing is created, patched or released")
		}
		c := f.condition("web", appsv1alpha1.ConditionInvalidSpec)
		require.NotNil(t, c)
		assert.Contains(t, c.Message, "spec.ordinals.start + spec.replicas")
	})
}

// allocatedBy reports the bytes allocated while fn runs.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeReplicasCostOnlyWhatExists: a pass costs memory in proportion to the pods
// that exist and the writes it makes, not to spec.replicas.
func TestHugeReplicasCostOnlyWhatExists(t *testing.T) {
	t.Run("OrderedReady", func(t *testing.T) {
		f := newFixture(t, newSet("web").Replicas(5_000_000).Claims("data").Obj())
		f.refresh()
		bytes := allocatedBy(func() {
			_, err := f.c.sync(f.ctx, objectKey("web"))
			require.NoError(t, err)
		})
		assert.Less(t, bytes, uint64(4<<20), "a pass that creates one pod allocated %d bytes", bytes)
		assert.Equal(t, []string{"web-0"}, f.podNames())
	})
	t.Run("Parallel", func(t *testing.T) {
		f := newFixture(t, newSet("web").Replicas(2147483647).Parallel().Obj())
		f.refresh()
		requeue, err := f.c.sync(f.ctx, objectKey("web"))
		require.NoError(t, err)
		assert.Len(t, f.pods(), maxCreatesPerPass, "one pass creates at most maxCreatesPerPass pods")
		assert.Positive(t, requeue, "and asks for the next pass to go on")
	})
}
