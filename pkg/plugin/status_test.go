package plugin

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2/ktesting"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// statusPod is a pod of set b at an ordinal, Ready or not, at a revision.
func statusPod(b *testSet, ordinal int, ready bool, revision string) *corev1.Pod {
	name := fmt.Sprintf("%s-%d", b.meta.Name, ordinal)
	apiVersion := "apps/v1"
	if b.kind == workload.MiniStatefulSet {
		apiVersion = appsv1alpha1.SchemeGroupVersion.String()
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID(name + "-uid"),
			CreationTimestamp: metav1.NewTime(testNow.Add(-time.Duration(10-ordinal) * time.Minute)),
			Labels:            map[string]string{"app": b.meta.Name, appsv1.ControllerRevisionHashLabelKey: revision},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: apiVersion, Kind: string(b.kind), Name: b.meta.Name,
				UID: b.meta.UID, Controller: ptrTrue()}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(testNow.Add(-time.Minute))}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "redis", RestartCount: int32(ordinal)}}},
	}
}

// TestStatusShowsEachOrdinalAndWhatTheSetWaitsFor: web-0 Ready, web-1 not, web-2
// missing. For the MiniStatefulSet the words are its Waiting condition; for the
// StatefulSet, which reports none, they come from MiniStatefulSet's rules over its
// pods: both say web-2 waits for web-1.
func TestStatusShowsEachOrdinalAndWhatTheSetWaitsFor(t *testing.T) {
	for _, kind := range bothKinds {
		t.Run(string(kind), func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			b := newTestSet(kind, "web").Replicas(3).Pods(1, 2, 2).Revisions("web-rev1", "web-rev1")
			rev := b.Revision(1, "redis:7")
			obj := b.Obj()
			if m, ok := obj.(*appsv1alpha1.MiniStatefulSet); ok {
				m.Status.Conditions = []appsv1alpha1.MiniStatefulSetCondition{{Type: appsv1alpha1.ConditionWaiting, Status: corev1.ConditionTrue,
					Reason: "WaitingForReady", Message: "waiting for web-1 to be Running and Ready before creating web-2"}}
			}
			f := newPluginFixture(t, obj, rev, statusPod(b, 0, true, "web-rev1"), statusPod(b, 1, false, "web-rev1"))
			require.NoError(t, f.run(ctx, "status", b.Ref().String()))
			out := f.out.String()
			assert.Contains(t, out, kind.Short()+"/web in demo: OrderedReady, RollingUpdate (partition 0), 3 replicas from ordinal 0")
			assert.Regexp(t, `(?m)^0\s+web-0\s+Running\s+yes\s+yes\s+web-rev1 \(current=update\)\s+-\s+10m\s+0`, out)
			assert.Regexp(t, `(?m)^1\s+web-1\s+Running\s+no\s+no\s+web-rev1 \(current=update\)\s+-\s+9m\s+1`, out)
			assert.Regexp(t, `(?m)^2\s+web-2\s+no pod\s+-\s+-\s+-\s+-\s+-\s+-`, out)
			assert.Contains(t, out, "Waiting: waiting for web-1 to be Running and Ready before creating web-2")
			assert.Contains(t, out, "Rollout: no update under way: every pod is made from revision web-rev1 (2 of 3 exist)")
		})
	}
}

func TestStatusOfAHugeSetListsAFewMissingOrdinals(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	b := newTestSet(workload.MiniStatefulSet, "web").Replicas(2147483647).Revisions("web-rev1", "web-rev1")
	f := newPluginFixture(t, b.Obj(), statusPod(b, 0, true, "web-rev1"))
	require.NoError(t, f.run(ctx, "status", "web", "-o", "json"))
	var rep StatusReport
	require.NoError(t, json.Unmarshal(f.out.Bytes(), &rep))
	require.Len(t, rep.Ordinals, 1+maxMissingRows)
	assert.True(t, rep.Ordinals[0].Exists)
	assert.Equal(t, 5, rep.Ordinals[maxMissingRows].Ordinal)
	assert.Equal(t, 2147483647-1-maxMissingRows, rep.MissingOmitted)
	assert.Contains(t, rep.Waiting, "has not reported yet")
}

func TestStatusMarksCondemnedAndForeignPodsAndClaims(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	b := newTestSet(workload.MiniStatefulSet, "web").Replicas(1).Revisions("web-rev1", "web-rev2")
	m := b.Obj().(*appsv1alpha1.MiniStatefulSet)
	m.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
	foreign := statusPod(b, 0, true, "web-rev2")
	foreign.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "other", UID: "rs", Controller: ptrTrue()}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-web-0", Namespace: testNS},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-7"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	f := newPluginFixture(t, []runtime.Object{m, foreign, statusPod(b, 3, true, "web-rev1"), claim}...)
	require.NoError(t, f.run(ctx, "status", "msts/web"))
	out := f.out.String()
	assert.Regexp(t, `(?m)^0\s+web-0 .*web-rev2 \(update\)\s+data-web-0->pv-7 .*controlled by ReplicaSet other, not this set`, out)
	assert.Regexp(t, `(?m)^3\s+web-3 .*web-rev1 \(current\)\s+data-web-3 none .*condemned: outside ordinals \[0, 1\)`, out)
	assert.Contains(t, out, "Rollout: 0 of 1 pods at the update revision web-rev2 (current web-rev1)")
}

func TestStatusErrors(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newPluginFixture(t)
	err := f.run(ctx, "status", "sts/missing")
	require.Error(t, err)
	assert.Equal(t, "sts/missing not found in namespace demo", err.Error())
	err = f.run(ctx, "status", "deploy/web")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"deploy" is not a kind of set: use msts (MiniStatefulSet) or sts (StatefulSet)`)
	err = f.run(ctx, "status", "web", "-o", "xml")
	require.Error(t, err)
}

func TestStatusWithoutANameListsBothKinds(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	a := newTestSet(workload.MiniStatefulSet, "web").Pods(3, 3, 3)
	bs := newTestSet(workload.StatefulSet, "db").Replicas(2).Pods(1, 2, 2)
	f := newPluginFixture(t, a.Obj(), bs.Obj())
	require.NoError(t, f.run(ctx, "status"))
	assert.Regexp(t, `(?m)^demo\s+sts/db\s+1/2\s+2`, f.out.String())
	assert.Regexp(t, `(?m)^demo\s+msts/web\s+3/3\s+3`, f.out.String())
}

// Beyond apps/v1: the reserved ordinals get no row and a pod at one is condemned;
// the unhealthy pod replacement policy and claim storage progress are shown, and
// are in -o json.
func TestStatusShowsWhatIsBeyondAppsV1(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	b := newTestSet(workload.MiniStatefulSet, "web").Replicas(3).Revisions("web-rev1", "web-rev1")
	m := b.Obj().(*appsv1alpha1.MiniStatefulSet)
	m.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("3-4")}
	m.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{UnhealthyPodReplacement: appsv1alpha1.AutomaticallyReplaceUnhealthyPods}
	m.Status.ClaimStorage = &appsv1alpha1.ClaimStorageStatus{Claims: 3, Requested: 2, Resized: 1, NotExpandable: 1}
	f := newPluginFixture(t, m, statusPod(b, 0, true, "web-rev1"), statusPod(b, 1, true, "web-rev1"), statusPod(b, 2, true, "web-rev1"))
	require.NoError(t, f.run(ctx, "status", "msts/web"))
	out := f.out.String()
	assert.Contains(t, out, "Reserved ordinals (no pod): 1, 3-4")
	assert.Contains(t, out, "Unhealthy pod replacement: Automatic")
	assert.Regexp(t, `(?m)^1\s+web-1 .*condemned: reserved \(spec.reserveOrdinals\)`, out)
	assert.Regexp(t, `(?m)^5\s+web-5\s+no pod`, out, "the third pod's ordinal is 5: 1, 3 and 4 are reserved")
	assert.NotRegexp(t, `(?m)^[34]\s+web-[34]\s`, out, "no row for a reserved ordinal")
	assert.Contains(t, out, "Claim storage: 1 of 3 claims have grown to their templates' request, 2 ask for it, 1 cannot grow")

	f.out.Reset()
	require.NoError(t, f.run(ctx, "status", "msts/web", "-o", "json"))
	var rep StatusReport
	require.NoError(t, json.Unmarshal(f.out.Bytes(), &rep))
	assert.Equal(t, "1, 3-4", rep.Reserved)
	assert.Equal(t, "Automatic", rep.UnhealthyPodReplacement)
	require.NotNil(t, rep.ClaimStorage)
	assert.Equal(t, int32(1), rep.ClaimStorage.NotExpandable)
}
