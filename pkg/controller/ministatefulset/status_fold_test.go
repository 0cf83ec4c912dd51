package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// statusWrites counts the status writes the fake clientset saw.
func (f *fixture) statusWrites() int {
	n := 0
	for _, a := range f.msts.Actions() {
		if a.GetVerb() == "update" && a.GetSubresource() == "status" {
			n++
		}
	}
	return n
}

// TestStatusWritesFoldWhileASetScales: with a fold interval, an OrderedReady
// scale-up writes its status when it starts and when it settles, and in between at
// most once an interval; a held write comes back as a requeue that writes it, so
// nothing is lost.
func TestStatusWritesFoldWhileASetScales(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(1).Obj())
	f.c.FoldStatusWrites(time.Second)
	f.mustSync("web")
	f.ready("web-0")
	f.mustSync("web")
	require.Equal(t, "Settled", waitingReason(f.set("web")))

	f.scale("web", 4)
	f.msts.ClearActions()
	var requeue time.Duration
	for _, name := range []string{"web-1", "web-2", "web-3"} {
		f.refresh()
		var err error
		requeue, err = f.c.sync(f.ctx, objectKey("web"))
		require.NoError(t, err)
		f.ready(name)
		f.clock.Step(100 * time.Millisecond)
	}
	assert.Equal(t, 1, f.statusWrites(), "the new generation is written at once, the counters of the next passes are held")
	assert.Greater(t, requeue, time.Duration(0), "a held write asks for a pass to make it")
	assert.LessOrEqual(t, requeue, time.Second)
	assert.Equal(t, int32(1), f.set("web").Status.ReadyReplicas, "held: the status still shows the first pass")

	f.clock.Step(requeue)
	f.mustSync("web")
	st := f.set("web").Status
	assert.Equal(t, int32(4), st.ReadyReplicas, "the requeued pass writes what was held")
	assert.Equal(t, "Settled", waitingReason(f.set("web")))
	assert.Equal(t, 2, f.statusWrites())
}

func waitingReason(set *appsv1alpha1.MiniStatefulSet) string {
	if c := findCondition(&set.Status, appsv1alpha1.ConditionWaiting); c != nil {
		return c.Reason
	}
	return ""
}

func TestStatusFoldHoldsOnlyProgress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	progress := func(reason string, ready int32) *appsv1alpha1.MiniStatefulSetStatus {
		return &appsv1alpha1.MiniStatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: ready, UpdateRevision: "web-1", CurrentRevision: "web-1",
			Conditions: []appsv1alpha1.MiniStatefulSetCondition{{Type: appsv1alpha1.ConditionWaiting, Status: corev1.ConditionTrue, Reason: reason}}}
	}
	set := newSet("web").Obj()
	set.Status = *progress(WaitReady, 1)
	fold := newStatusFold(time.Second)
	assert.Zero(t, fold.hold(set, progress(WaitProgressing, 2), now, false), "no write yet: write now")
	fold.wrote(set, now)
	later := now.Add(300 * time.Millisecond)
	assert.Equal(t, 700*time.Millisecond, fold.hold(set, progress(WaitProgressing, 2), later, false))
	assert.Zero(t, fold.hold(set, progress(WaitProgressing, 2), later, true), "an API error is shown at once")
	assert.Zero(t, fold.hold(set, progress(WaitSettled, 3), later, false), "settled is shown at once")
	assert.Zero(t, fold.hold(set, progress(WaitNameTaken, 1), later, false), "a name waited for is shown at once")
	gen := progress(WaitReady, 2)
	gen.ObservedGeneration = 3
	assert.Zero(t, fold.hold(set, gen, later, false), "a new generation observed is shown at once")
	rev := progress(WaitReady, 2)
	rev.UpdateRevision = "web-2"
	assert.Zero(t, fold.hold(set, rev, later, false), "a new revision is shown at once")
	assert.Zero(t, fold.hold(set, progress(WaitReady, 2), now.Add(time.Second), false), "an interval later: write")
	var none *statusFold
	assert.Zero(t, none.hold(set, progress(WaitReady, 2), later, false), "no fold: every change at once")
	fold.forget(objectKey("web"))
	assert.Zero(t, fold.hold(set, progress(WaitReady, 2), later, false))
}

// TestAPassBeforeTheCacheHasTheStatusStartsFromWhatWasWritten: with the set's
// cache a write behind, a second pass that finds nothing new writes nothing (before,
// it wrote the same status again, with the old resourceVersion: a conflict, a read
// and a second write).
func TestAPassBeforeTheCacheHasTheStatusStartsFromWhatWasWritten(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Parallel().Obj())
	f.lagBy(100)
	f.mustSync("web")
	require.Equal(t, 1, f.statusWrites())
	f.msts.ClearActions()
	f.mustSync("web")
	assert.Zero(t, f.statusWrites(), "the same status again, from a cache that has not seen the first write")

	stale := f.set("web").DeepCopy()
	stale.Status = appsv1alpha1.MiniStatefulSetStatus{}
	stale.ResourceVersion = "1"
	fresh := f.c.control.written.freshest(stale)
	assert.Equal(t, f.set("web").Status, fresh.Status, "the cache shows the status the write replaced: the pass starts from the write")
	assert.Equal(t, f.set("web").ResourceVersion, fresh.ResourceVersion)
	assert.Equal(t, stale.Spec, fresh.Spec, "the spec is the cache's")
	kept := f.c.control.written.by[objectKey("web")].after
	assert.Empty(t, kept.Spec.Template.Spec.Containers, "what is kept of a write is its status and identity, not the set again")
	other := stale.DeepCopy()
	other.Status.Replicas = 7
	assert.Equal(t, int32(7), f.c.control.written.freshest(other).Status.Replicas, "another status than the one replaced: the cache's")
	newer := stale.DeepCopy()
	newer.Generation++
	assert.Same(t, newer, f.c.control.written.freshest(newer), "a new generation: the cache's")
}
