package ministatefulset

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

func (f *fixture) setImage(name, image string) {
	f.updateSet(name, func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.Containers[0].Image = image })
}

func (f *fixture) revisionOf(pod string) string { return f.pod(pod).Labels[LabelRevision] }

// kubeletStep plays a cooperative kubelet once: terminations finish and every pod
// becomes Running and Ready.
func (f *fixture) kubeletStep() {
	f.finishTerminations()
	for _, p := range f.pods() {
		if !isRunningAndReady(&p) {
			f.ready(p.Name)
		}
	}
}

// settle plays a cooperative kubelet: finishes terminations, makes every pod Ready,
// and runs passes until a pass writes nothing (bounded). It returns the pod and
// claim writes the passes made.
func (f *fixture) settle(name string) []string {
	f.t.Helper()
	var all []string
	for range 50 {
		f.kubeletStep()
		f.writes()
		f.mustSync(name)
		w := f.writes()
		all = append(all, podWrites(w)...)
		if len(w) == 0 && len(f.podNames()) > 0 {
			return all
		}
	}
	f.t.Fatalf("set %s did not settle in 50 passes: pods %v", name, f.podNames())
	return nil
}

// passWrites runs a number of passes, each followed by a cooperative kubelet's step,
// and returns the pod and claim writes they made, in order.
func (f *fixture) passWrites(name string, passes int) []string {
	var writes []string
	for range passes {
		f.mustSync(name)
		writes = append(writes, podWrites(f.writes())...)
		f.kubeletStep()
	}
	return writes
}

// rolloutOrder drives a rolling update to its end with a cooperative kubelet and
// returns the pods deleted for it, pass by pass.
func (f *fixture) rolloutOrder(name string) [][]string {
	f.t.Helper()
	var order [][]string
	for range 60 {
		f.writes()
		f.mustSync(name)
		var deleted []string
		for _, w := range podWrites(f.writes()) {
			if n, ok := strings.CutPrefix(w, "delete pods "); ok {
				deleted = append(deleted, n)
			}
		}
		if len(deleted) > 0 {
			order = append(order, deleted)
		}
		st := f.set(name).Status
		if st.CurrentRevision == st.UpdateRevision && int(st.UpdatedReplicas) == replicaCount(f.set(name)) {
			return order
		}
		f.kubeletStep()
	}
	f.t.Fatalf("rollout did not finish: %v", f.set(name).Status)
	return nil
}

func TestRollingUpdate(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			b := newSet("web").Replicas(3)
			if parallel {
				b.Parallel()
			}
			f := newFixture(t, b.Obj())
			f.graceful = true
			f.settle("web")
			old := f.set("web").Status.UpdateRevision
			f.setImage("web", "nginx:2")
			order := f.rolloutOrder("web")
			assert.Equal(t, [][]string{{"web-2"}, {"web-1"}, {"web-0"}}, order, "highest ordinal first, one at a time")
			st := f.set("web").Status
			assert.NotEqual(t, old, st.UpdateRevision)
			assert.Equal(t, st.UpdateRevision, st.CurrentRevision)
			assert.Equal(t, int32(3), st.CurrentReplicas)
			for _, p := range f.pods() {
				assert.Equal(t, st.UpdateRevision, p.Labels[LabelRevision], p.Name)
				assert.Equal(t, "nginx:2", p.Spec.Containers[0].Image)
			}
		})
	}
}

func TestRollingUpdateWaitsForTheReplacement(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).Obj())
	f.graceful = true
	f.settle("web")
	f.setImage("web", "nginx:2")
	f.mustSync("web")
	assert.Equal(t, []string{"delete pods web-2"}, podWrites(f.writes()))
	f.finishTerminations()
	f.mustSync("web")
	assert.Equal(t, []string{"create pods web-2"}, podWrites(f.writes()), "scaling brings web-2 back at the update revision")
	assert.Equal(t, f.set("web").Status.UpdateRevision, f.revisionOf("web-2"))
	f.mustSync("web")
	assert.Empty(t, podWrites(f.writes()), "web-1 waits for the new web-2 to be Ready")
	f.ready("web-2")
	f.mustSync("web")
	assert.Equal(t, []string{"delete pods web-1"}, podWrites(f.writes()))
}

func TestPartition(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).Obj())
	f.graceful = true
	f.settle("web")
	old := f.set("web").Status.UpdateRevision
	f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(2))}
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	})
	f.settle("web")
	st := f.set("web").Status
	assert.Equal(t, old, f.revisionOf("web-0"))
	assert.Equal(t, old, f.revisionOf("web-1"))
	assert.Equal(t, st.UpdateRevision, f.revisionOf("web-2"), "only the canary above the partition")
	assert.Equal(t, old, st.CurrentRevision)
	assert.Equal(t, int32(2), st.CurrentReplicas)
	assert.Equal(t, int32(1), st.UpdatedReplicas)

	f.userDeletePod("web-0")
	f.settle("web")
	assert.Equal(t, old, f.revisionOf("web-0"), "a pod below the partition comes back at the current revision")

	f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(0)) })
	assert.Equal(t, [][]string{{"web-1"}, {"web-0"}}, f.rolloutOrder("web"))
}

func TestMaxUnavailable(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(5).Obj())
	f.graceful = true
	f.settle("web")
	f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromString("40%"))}
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	})
	f.mustSync("web")
	assert.Equal(t, []string{"delete pods web-4", "delete pods web-3"}, podWrites(f.writes()), "40% of 5 = 2 at once")
	f.mustSync("web")
	assert.Empty(t, podWrites(f.writes()), "the budget is spent while they terminate")
	assert.Equal(t, [][]string{{"web-2", "web-1"}, {"web-0"}}, f.rolloutOrder("web"), "then two more, then the last")
}

func TestParallelUpdateReplacesUnavailableOldPodsFirst(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(4).Parallel().Obj())
	f.graceful = true
	f.settle("web")
	f.unready("web-0", "web-1")
	f.setImage("web", "nginx:2")
	f.mustSync("web")
	assert.ElementsMatch(t, []string{"delete pods web-1", "delete pods web-0"}, podWrites(f.writes()),
		"old pods that are unavailable anyway are replaced; with 2 unavailable and maxUnavailable 1 no healthy pod goes")
}

func TestOnDelete(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).Obj())
	f.graceful = true
	f.settle("web")
	old := f.set("web").Status.UpdateRevision
	f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.OnDeleteStatefulSetStrategyType}
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	})
	assert.Empty(t, f.settle("web"), "the passes after the template change create and delete nothing")
	for _, p := range f.pods() {
		assert.Equal(t, old, p.Labels[LabelRevision], "OnDelete replaces nothing by itself")
	}
	f.userDeletePod("web-1")
	f.settle("web")
	st := f.set("web").Status
	assert.Equal(t, st.UpdateRevision, f.revisionOf("web-1"), "a pod the user deletes comes back at the update revision")
	assert.Equal(t, old, st.CurrentRevision)
	assert.Equal(t, int32(1), st.UpdatedReplicas)
	f.userDeletePod("web-0")
	f.userDeletePod("web-2")
	f.settle("web")
	st = f.set("web").Status
	assert.Equal(t, st.UpdateRevision, st.CurrentRevision, "currentRevision catches up once all are updated and Ready")
}

func TestRollbackReusesTheRevision(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Obj())
	f.graceful = true
	f.settle("web")
	first := f.set("web").Status.UpdateRevision
	f.setImage("web", "nginx:2")
	f.rolloutOrder("web")
	f.setImage("web", "registry.k8s.io/pause:3.10")
	f.mustSync("web")
	st := f.set("web").Status
	assert.Equal(t, first, st.UpdateRevision, "the reverted template's revision name is re-used")
	revs := f.revisions()
	require.Len(t, revs, 2, "no third revision")
	for _, r := range revs {
		if r.Name == first {
			assert.Equal(t, int64(3), r.Revision, "re-numbered as the newest")
		}
	}
	f.rolloutOrder("web")
}

func TestRevisionHistoryLimit(t *testing.T) {
	s := newSet("web").Replicas(1).Obj()
	s.Spec.RevisionHistoryLimit = ptr(int32(1))
	f := newFixture(t, s)
	f.graceful = true
	f.settle("web")
	for i := 2; i <= 5; i++ {
		f.setImage("web", fmt.Sprintf("nginx:%d", i))
		f.rolloutOrder("web")
		f.settle("web")
	}
	assert.Len(t, f.revisions(), 2, "the live revision plus revisionHistoryLimit=1 old one")
}

func TestHashCollisionBumpsCollisionCount(t *testing.T) {
	set := newSet("web").Obj()
	rev, err := newRevision(set, 1)
	require.NoError(t, err)
	squatter := rev.DeepCopy()
	squatter.OwnerReferences = nil
	squatter.Data = runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{},"spec":{"containers":[{"name":"x","image":"other"}]}}}}`)}
	f := newFixture(t, set, squatter)
	err = f.sync("web")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "collisionCount is now 1")
	assert.Equal(t, int32(1), *f.set("web").Status.CollisionCount)
	f.mustSync("web")
	st := f.set("web").Status
	assert.NotEqual(t, rev.Name, st.UpdateRevision, "a new name after the collision")
	assert.Equal(t, st.UpdateRevision, f.revisionOf("web-0"))
}

func TestMinReadySeconds(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).MinReady(10).Obj())
	f.mustSync("web")
	f.ready("web-0")
	f.refresh()
	requeue, err := f.c.sync(f.ctx, objectKey("web"))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, requeue, "the controller asks to come back when web-0 becomes available")
	assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()))
	assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "waiting for web-0 to be Ready for 10s (minReadySeconds) before creating web-1")
	assert.Equal(t, int32(0), f.set("web").Status.AvailableReplicas)
	f.clock.Step(10 * time.Second)
	f.mustSync("web")
	assert.Equal(t, []string{"create pods web-1"}, podWrites(f.writes()))
	assert.Equal(t, int32(1), f.set("web").Status.AvailableReplicas)
}

func TestStartOrdinal(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Start(5).Obj())
	f.graceful = true
	f.settle("web")
	assert.Equal(t, []string{"web-5", "web-6"}, f.podNames())
	f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Ordinals.Start = 0 })
	writes := f.passWrites("web", 20)
	assert.Equal(t, []string{"web-0", "web-1"}, f.podNames())
	assert.Equal(t, []string{"create pods web-0", "create pods web-1", "delete pods web-6", "delete pods web-5"}, writes,
		"the new ordinals in order first, then the old ones from the top")
}

// ownerKinds lists "Kind/name controller" for a claim's references.
func ownerKinds(c *corev1.PersistentVolumeClaim) []string {
	var out []string
	for _, r := range c.OwnerReferences {
		out = append(out, fmt.Sprintf("%s/%s controller=%v", r.Kind, r.Name, r.Controller != nil && *r.Controller))
	}
	return out
}

func (f *fixture) claim(name string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	c, err := f.kube.CoreV1().PersistentVolumeClaims(ns).Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return c
}

func withRetention(whenDeleted, whenScaled appsv1alpha1.PersistentVolumeClaimRetentionPolicyType) func(*appsv1alpha1.MiniStatefulSet) {
	return func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: whenDeleted, WhenScaled: whenScaled}
	}
}

const (
	retain = appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType
	del    = appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
)

func TestRetentionPolicy(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			b := newSet("web").Replicas(3).Claims("data")
			if parallel {
				b.Parallel()
			}
			set := b.Obj()
			withRetention(del, del)(set)
			f := newFixture(t, set)
			f.graceful = true
			f.settle("web")
			assert.Equal(t, []string{"MiniStatefulSet/web controller=true"}, ownerKinds(f.claim("data-web-2")), "whenDeleted=Delete: the set owns the claim")

			f.scale("web", 1)
			f.mustSync("web")
			w := f.writes()
			claimUpdate, podDelete := -1, -1
			for i, x := range w {
				if x == "update persistentvolumeclaims data-web-2" {
					claimUpdate = i
				}
				if x == "delete pods web-2" {
					podDelete = i
				}
			}
			require.GreaterOrEqual(t, claimUpdate, 0, "writes: %v", w)
			require.GreaterOrEqual(t, podDelete, 0, "writes: %v", w)
			assert.Less(t, claimUpdate, podDelete, "the condemned pod owns its claim before it is deleted")
			assert.Equal(t, []string{"Pod/web-2 controller=true"}, ownerKinds(f.claim("data-web-2")), "whenScaled=Delete: the pod owns the claim")
			assert.Equal(t, []string{"MiniStatefulSet/web controller=true"}, ownerKinds(f.claim("data-web-0")))

			f.updateSet("web", withRetention(retain, retain))
			f.settle("web")
			assert.Empty(t, f.claim("data-web-0").OwnerReferences, "changing the policy to Retain takes our references off")
		})
	}
}

func TestRetentionLeavesForeignClaimsAlone(t *testing.T) {
	set := newSet("web").Replicas(1).Claims("data").Obj()
	withRetention(del, retain)(set)
	foreign := newClaims(set, 0)["data-web-0"]
	foreign.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "other-uid"}}, appsv1.SchemeGroupVersion.WithKind("Deployment"))}
	f := newFixture(t, set, foreign)
	f.settle("web")
	assert.Equal(t, []string{"Deployment/other controller=true"}, ownerKinds(f.claim("data-web-0")))
	assert.Contains(t, strings.Join(f.events(), "\n"), "Warning ConflictingController PersistentVolumeClaim data-web-0 is controlled by another owner")
}

func TestStaleClaimHoldsCreationBack(t *testing.T) {
	set := newSet("web").Replicas(1).Claims("data").Obj()
	withRetention(retain, del)(set)
	stale := newClaims(set, 0)["data-web-0"]
	stale.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-0", UID: "earlier-web-0", Controller: ptr(true)}}
	f := newFixture(t, set, stale)
	require.ErrorIs(t, f.sync("web"), errWaiting, "retried with backoff: no event of the claim may come")
	assert.Empty(t, podWrites(f.writes()))
	assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "waiting for claim data-web-0, owned by an earlier web-0, to be removed by the garbage collector before creating web-0")
	require.NoError(t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, "data-web-0"))
	f.mustSync("web")
	assert.Equal(t, []string{"create persistentvolumeclaims data-web-0", "create pods web-0"}, podWrites(f.writes()))
}

// TestPartitionCountsFromStart: as in v1.37's code, the partition is an index from
// ordinals.start, not an ordinal: with start 5 and partition 1, pod 5 stays.
func TestPartitionCountsFromStart(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).Start(5).Obj())
	f.graceful = true
	f.settle("web")
	old := f.set("web").Status.UpdateRevision
	f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	})
	f.settle("web")
	update := f.set("web").Status.UpdateRevision
	assert.Equal(t, old, f.revisionOf("web-5"))
	assert.Equal(t, update, f.revisionOf("web-6"))
	assert.Equal(t, update, f.revisionOf("web-7"))
}

// TestScaleDownWaitsForALowerPodStillBecomingAvailable: with minReadySeconds, a
// condemned pod that is Ready but not yet available counts as unhealthy, so an
// unready pod above it is not deleted ahead of it (v1.37 picks the first
// unavailable pod, not the first unready one).
func TestScaleDownWaitsForALowerPodStillBecomingAvailable(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).MinReady(30).Obj())
	f.graceful = true
	for range 3 {
		f.mustSync("web")
		f.ready(f.podNames()[len(f.podNames())-1])
		f.clock.Step(31 * time.Second)
	}
	f.scale("web", 1)
	f.ready("web-1")
	f.unready("web-2")
	f.writes()
	f.mustSync("web")
	assert.Empty(t, podWrites(f.writes()), "web-2 is unready and web-1 below it is not yet available")
	assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "waiting for web-1 to be Ready for 30s (minReadySeconds) before deleting web-2")
	f.clock.Step(31 * time.Second)
	f.mustSync("web")
	assert.Equal(t, []string{"delete pods web-2"}, podWrites(f.writes()), "web-2 is now the first unhealthy pod and may go")
}

// TestOrphanRevisionIsAdopted: a ControllerRevision of the set's template left
// without an owner (say, by a set deleted with --cascade=orphan) is adopted and
// re-used rather than created again.
func TestOrphanRevisionIsAdopted(t *testing.T) {
	set := newSet("web").Obj()
	rev, err := newRevision(set, 1)
	require.NoError(t, err)
	rev.OwnerReferences = nil
	f := newFixture(t, set, rev)
	f.mustSync("web")
	w := f.writes()
	assert.Contains(t, w, "patch controllerrevisions "+rev.Name)
	assert.NotContains(t, w, "create controllerrevisions "+rev.Name)
	revs := f.revisions()
	require.Len(t, revs, 1)
	ref := metav1.GetControllerOf(&revs[0])
	require.NotNil(t, ref, "adopted")
	assert.Equal(t, set.UID, ref.UID)
	assert.Equal(t, rev.Name, f.set("web").Status.UpdateRevision)
}
