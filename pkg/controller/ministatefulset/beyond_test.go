package ministatefulset

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clienttesting "k8s.io/client-go/testing"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// stuckRollout settles an OrderedReady set of 3, rolls out a template whose pods
// never become Ready (web-2 is replaced and stays un-Ready), reverts the template,
// and returns the fixture with the pod writes of the pass after the revert.
func stuckRollout(t *testing.T, policy appsv1alpha1.UnhealthyPodReplacementPolicy) (*fixture, []string) {
	t.Helper()
	set := newSet("web").Replicas(3).Obj()
	set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{UnhealthyPodReplacement: policy}
	f := newFixture(t, set)
	f.graceful = true
	f.settle("web")
	good := f.set("web").Status.UpdateRevision
	f.setImage("web", "broken:1")
	f.mustSync("web")
	require.Equal(t, []string{"delete pods web-2"}, podWrites(f.writes()))
	f.finishTerminations()
	f.mustSync("web")
	require.Equal(t, []string{"create pods web-2"}, podWrites(f.writes()))
	broken := f.set("web").Status.UpdateRevision
	require.Equal(t, broken, f.revisionOf("web-2"))
	f.unready("web-2")
	f.mustSync("web")
	require.Empty(t, podWrites(f.writes()), "the rollout stalls on the broken web-2")

	f.setImage("web", "registry.k8s.io/pause:3.10")
	f.mustSync("web")
	require.Equal(t, good, f.set("web").Status.UpdateRevision, "the revert makes the first revision the update revision again")
	return f, podWrites(f.writes())
}

func TestNeverReplaceUnhealthyPodsStallsAsAppsV1(t *testing.T) {
	for _, policy := range []appsv1alpha1.UnhealthyPodReplacementPolicy{"", appsv1alpha1.NeverReplaceUnhealthyPods} {
		t.Run("policy="+string(policy), func(t *testing.T) {
			f, writes := stuckRollout(t, policy)
			assert.Empty(t, writes, "apps/v1 waits for the broken pod even after the revert")
			for range 3 {
				f.mustSync("web")
			}
			assert.Empty(t, podWrites(f.writes()))
			c := f.condition("web", appsv1alpha1.ConditionWaiting)
			require.NotNil(t, c)
			assert.Equal(t, WaitReady, c.Reason)
			assert.Contains(t, c.Message, "waiting for web-2 to be Running and Ready")
		})
	}
}

func TestAutomaticReplacementRecoversAStuckRollout(t *testing.T) {
	f, writes := stuckRollout(t, appsv1alpha1.AutomaticallyReplaceUnhealthyPods)
	assert.Equal(t, []string{"delete pods web-2"}, writes, "the broken pod is replaced without waiting for it")
	c := f.condition("web", appsv1alpha1.ConditionWaiting)
	require.NotNil(t, c)
	assert.Contains(t, c.Message, "unhealthy at an older revision")
	replaced := f.eventsWith(ReasonReplacingUnhealthy)
	require.Len(t, replaced, 1, "one event says why the pod went")
	assert.Contains(t, replaced[0], "Replacing Pod web-2")

	f.mustSync("web")
	assert.Empty(t, podWrites(f.writes()), "the terminating pod is waited for, not deleted again")
	f.finishTerminations()
	f.mustSync("web")
	assert.Equal(t, []string{"create pods web-2"}, podWrites(f.writes()))
	good := f.set("web").Status.UpdateRevision
	assert.Equal(t, good, f.revisionOf("web-2"), "recreated at the reverted revision")
	f.settle("web")
	st := f.set("web").Status
	assert.Equal(t, good, st.CurrentRevision)
	assert.Equal(t, int32(3), st.ReadyReplicas)
}

func TestAutomaticReplacementWaitsForAPodOfTheUpdateRevision(t *testing.T) {
	set := newSet("web").Replicas(3).Obj()
	set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{UnhealthyPodReplacement: appsv1alpha1.AutomaticallyReplaceUnhealthyPods}
	f := newFixture(t, set)
	f.graceful = true
	f.settle("web")
	f.unready("web-1")
	for range 3 {
		f.mustSync("web")
	}
	assert.Empty(t, podWrites(f.writes()), "an un-Ready pod at the update revision is waited for: replacing it would bring the same template back")
}

func TestAutomaticReplacementKeepsThePartition(t *testing.T) {
	set := newSet("web").Replicas(3).Obj()
	set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{
		Partition: ptr(int32(2)), UnhealthyPodReplacement: appsv1alpha1.AutomaticallyReplaceUnhealthyPods}
	f := newFixture(t, set)
	f.graceful = true
	f.settle("web")
	f.setImage("web", "nginx:2")
	f.settle("web")
	f.unready("web-1")
	for range 3 {
		f.mustSync("web")
	}
	assert.Empty(t, podWrites(f.writes()), "web-1, below the partition, is at the current revision it should run: waited for")
}

func (b *setBuilder) Reserve(items ...intstr.IntOrString) *setBuilder {
	b.set.Spec.ReserveOrdinals = items
	return b
}

func TestReservedOrdinalsGetNoPod(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			b := newSet("web").Replicas(4).Reserve(intstr.FromInt32(1), intstr.FromString("3-4"))
			if parallel {
				b.Parallel()
			}
			f := newFixture(t, b.Obj())
			f.graceful = true
			writes := f.passWrites("web", 10)
			assert.Equal(t, []string{"web-0", "web-2", "web-5", "web-6"}, f.podNames())
			if !parallel {
				assert.Equal(t, []string{"create pods web-0", "create pods web-2", "create pods web-5", "create pods web-6"}, writes,
					"one at a time, in order, over the ordinals in use")
			}
			st := f.set("web").Status
			assert.Equal(t, int32(4), st.Replicas)
			assert.Equal(t, int32(4), st.ReadyReplicas)
		})
	}
}

func TestOrderedReadyWaitsOverTheOrdinalsInUse(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).Reserve(intstr.FromInt32(1)).Obj())
	f.graceful = true
	f.mustSync("web")
	assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()))
	f.mustSync("web")
	assert.Empty(t, podWrites(f.writes()))
	c := f.condition("web", appsv1alpha1.ConditionWaiting)
	require.NotNil(t, c)
	assert.Equal(t, "waiting for web-0 to be Running and Ready before creating web-2", c.Message, "the next pod named is the next ordinal in use")
}

func TestReservingTheOrdinalOfAPodRemovesItAsAScaleDown(t *testing.T) {
	for _, whenScaled := range []appsv1alpha1.PersistentVolumeClaimRetentionPolicyType{retain, del} {
		t.Run(string(whenScaled), func(t *testing.T) {
			set := newSet("web").Replicas(3).Claims("data").Obj()
			withRetention(retain, whenScaled)(set)
			f := newFixture(t, set)
			f.graceful = true
			f.settle("web")
			f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) {
				s.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromInt32(1)}
			})
			writes := f.passWrites("web", 10)
			assert.Equal(t, []string{"create persistentvolumeclaims data-web-3", "create pods web-3", "delete pods web-1"}, writes,
				"the new ordinal first, then the reserved one goes")
			assert.Equal(t, []string{"web-0", "web-2", "web-3"}, f.podNames())
			refs := ownerKinds(f.claim("data-web-1"))
			if whenScaled == del {
				assert.Equal(t, []string{"Pod/web-1 controller=true"}, refs, "whenScaled Delete: the claim goes with its pod")
				return
			}
			assert.Empty(t, refs, "whenScaled Retain: the claim is kept")

			f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.ReserveOrdinals = nil })
			writes = f.passWrites("web", 10)
			assert.Equal(t, []string{"create pods web-1", "delete pods web-3"}, writes, "unreserved, ordinal 1 is back and 3 is condemned")
		})
	}
}

func TestAnUnreadableReservationIsAnInvalidSpec(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Reserve(intstr.FromString("5-3")).Obj())
	err := f.sync("web")
	require.Error(t, err)
	assert.Empty(t, podWrites(f.writes()))
	c := f.condition("web", appsv1alpha1.ConditionInvalidSpec)
	require.NotNil(t, c)
	assert.Contains(t, c.Message, `spec.reserveOrdinals[0]: "5-3" is not a range`)
}

func TestReservedOrdinalsPastTheLastOrdinalAreAnInvalidSpec(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Start(2147483646).Reserve(intstr.FromInt32(2147483646)).Obj())
	require.Error(t, f.sync("web"))
	c := f.condition("web", appsv1alpha1.ConditionInvalidSpec)
	require.NotNil(t, c)
	assert.Contains(t, c.Message, "reach ordinal 2147483648")
}

// bindClaims makes every claim Bound with the capacity given, as the volume binder
// and a resizer would.
func (f *fixture) bindClaims(capacity string) {
	f.t.Helper()
	claims, err := f.kube.CoreV1().PersistentVolumeClaims(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	for i := range claims.Items {
		c := &claims.Items[i]
		c.Status.Phase = corev1.ClaimBound
		c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}
		require.NoError(f.t, f.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), c, ns))
	}
}

func (f *fixture) raiseClaimTemplate(name, size string) {
	f.updateSet(name, func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
	})
}

func claimWrites(writes []string) []string {
	var out []string
	for _, w := range writes {
		if strings.Contains(w, "persistentvolumeclaims") {
			out = append(out, w)
		}
	}
	return out
}

func (f *fixture) requestOf(claim string) string {
	q := f.claim(claim).Spec.Resources.Requests[corev1.ResourceStorage]
	return q.String()
}

func classes(allow map[string]bool) storageClassGetter {
	return func(name string) *storagev1.StorageClass {
		a, ok := allow[name]
		if !ok {
			return nil
		}
		return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, AllowVolumeExpansion: &a}
	}
}

func grownSet(t *testing.T, class string) *fixture {
	t.Helper()
	set := newSet("web").Replicas(3).Claims("data").Obj()
	set.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr(class)
	f := newFixture(t, set)
	f.graceful = true
	f.settle("web")
	f.bindClaims("1Gi")
	f.mustSync("web")
	f.writes()
	require.Nil(t, f.set("web").Status.ClaimStorage, "nothing to grow: no claimStorage in the status")
	return f
}

func TestRaisedClaimTemplateGrowsEachClaimInOrder(t *testing.T) {
	f := grownSet(t, "fast")
	f.c.control.storageClasses = classes(map[string]bool{"fast": true})
	f.raiseClaimTemplate("web", "2Gi")
	f.mustSync("web")
	assert.Equal(t, []string{"update persistentvolumeclaims data-web-0", "update persistentvolumeclaims data-web-1", "update persistentvolumeclaims data-web-2"},
		claimWrites(f.writes()), "each claim raised, lowest ordinal first")
	for _, c := range []string{"data-web-0", "data-web-1", "data-web-2"} {
		assert.Equal(t, "2Gi", f.requestOf(c))
	}
	st := f.set("web").Status
	require.NotNil(t, st.ClaimStorage)
	assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 3, Requested: 0, Resized: 0}, *st.ClaimStorage, "counted before the writes")

	f.mustSync("web")
	assert.Empty(t, claimWrites(f.writes()), "nothing asked twice")
	st = f.set("web").Status
	assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 3, Requested: 3, Resized: 0}, *st.ClaimStorage)
	c := f.condition("web", appsv1alpha1.ConditionWaiting)
	require.NotNil(t, c)
	assert.Equal(t, WaitClaimStorage, c.Reason)
	assert.Equal(t, "waiting for claims to grow to their templates' storage: 0 of 3 have grown, 3 ask for it", c.Message)

	f.bindClaims("2Gi")
	f.mustSync("web")
	assert.Nil(t, f.set("web").Status.ClaimStorage, "every claim has grown")
	assert.Equal(t, WaitSettled, f.condition("web", appsv1alpha1.ConditionWaiting).Reason)

	f.scale("web", 4)
	f.settle("web")
	assert.Equal(t, "2Gi", f.requestOf("data-web-3"), "a new pod's claim is made at the new size")
}

func TestAClaimWhoseClassCannotExpandIsLeftWithOneWarning(t *testing.T) {
	f := grownSet(t, "slow")
	f.c.control.storageClasses = classes(map[string]bool{"slow": false})
	f.raiseClaimTemplate("web", "2Gi")
	for range 3 {
		f.mustSync("web")
	}
	assert.Empty(t, claimWrites(f.writes()))
	assert.Equal(t, "1Gi", f.requestOf("data-web-0"))
	warnings := f.eventsWith(ReasonClaimNotExpandable)
	require.Len(t, warnings, 3, "one Warning per claim, not one per pass: %v", warnings)
	assert.Contains(t, warnings[0], "Claim data-web-0 stays at 1Gi while its template asks for 2Gi: its StorageClass slow does not allow volume expansion")
	st := f.set("web").Status
	require.NotNil(t, st.ClaimStorage)
	assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 3, NotExpandable: 3}, *st.ClaimStorage)
	assert.Equal(t, WaitSettled, f.condition("web", appsv1alpha1.ConditionWaiting).Reason, "nothing to wait for: these claims will not grow")
}

func TestAClaimTheAPIServerRefusesToGrowIsAskedAgainLater(t *testing.T) {
	f := grownSet(t, "")
	refused := 0
	f.kube.PrependReactor("update", "persistentvolumeclaims", func(clienttesting.Action) (bool, runtime.Object, error) {
		refused++
		return true, nil, apierrors.NewForbidden(corev1.Resource("persistentvolumeclaims"), "data-web-0",
			fmt.Errorf("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"))
	})
	f.raiseClaimTemplate("web", "2Gi")
	// Without StorageClasses to read, the controller asks; each refusal fails the
	// pass, which brings the next one at once, and that one skips the claim.
	var errs int
	for range 6 {
		if f.sync("web") != nil {
			errs++
		}
	}
	assert.Equal(t, 3, refused, "each claim asked once")
	assert.Equal(t, 3, errs, "one failed pass per refusal, then none")
	warnings := f.eventsWith(ReasonClaimNotExpandable)
	require.Len(t, warnings, 3, "the refusal is said once per claim")
	assert.Contains(t, warnings[0], "the API server refused")
	assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 3, NotExpandable: 3}, *f.set("web").Status.ClaimStorage)
	f.refresh()
	after, err := f.c.sync(f.ctx, objectKey("web"))
	require.NoError(t, err)
	assert.Equal(t, 3, refused, "a refusal is remembered")
	assert.InDelta(t, refusalRetry.Seconds(), after.Seconds(), 1, "the pass comes back when the refusal is forgotten")
	f.clock.Step(refusalRetry + time.Second)
	_ = f.sync("web")
	assert.Equal(t, 4, refused, "asked again once the refusal is old")
}

func TestAnUnboundClaimIsNotRaised(t *testing.T) {
	set := newSet("web").Replicas(1).Claims("data").Obj()
	f := newFixture(t, set)
	f.settle("web")
	f.raiseClaimTemplate("web", "2Gi")
	f.mustSync("web")
	assert.Empty(t, claimWrites(f.writes()), "only a bound claim's request may change")
	assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 1}, *f.set("web").Status.ClaimStorage)
}

// eventsWith drains the recorded events and keeps those of one reason.
func (f *fixture) eventsWith(reason string) []string {
	var out []string
	for _, e := range f.events() {
		if strings.Contains(e, reason) {
			out = append(out, e)
		}
	}
	return out
}
