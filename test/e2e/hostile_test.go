//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// TestHostileSpecs runs the "Hostile specs and situations" table of
// docs/reliability.md that is not decided at admission (admission_test.go has
// those rows): odd but valid specs, objects of other owners that sit on the names a
// set would use, and an API server that refuses pods. Each row is a subtest with its
// own namespace; all rows run at the same time, so every stuck set is stuck while
// the others are, and most rows also prove with a probe set that the controller
// keeps serving other sets meanwhile. At the end the controller process must still
// be alive, with no panic in its log.
func TestHostileSpecs(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	rows := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"replicas-MaxInt32-OrderedReady", hostileHugeReplicasOrdered},
		{"replicas-MaxInt32-Parallel-under-quota", hostileHugeReplicasParallel},
		{"ordinals-start-MaxInt32", hostileStartOrdinalMax},
		{"minReadySeconds-MaxInt32", hostileHugeMinReadySeconds},
		{"partition-above-replicas", hostilePartitionAboveReplicas},
		{"names-at-the-length-limits", hostileNamesAtLimits},
		{"two-sets-one-selector", hostileTwoSetsOneSelector},
		{"statefulset-of-the-same-name", hostileStatefulSetSameName},
		{"replicaset-owns-web-0", hostileReplicaSetOwnsPod},
		{"orphan-web-0-not-matching", hostileOrphanNotMatching},
		{"orphan-web-0-matching", hostileOrphanMatching},
		{"pod-relabelled-out-of-the-selector", hostileRelabelledOut},
		{"identity-labels-tampered", hostileIdentityTampered},
		{"claim-with-another-controller", hostileClaimOtherController},
		{"claims-of-wrong-class-and-size", hostileClaimsWrongShape},
		{"claim-template-with-dataSource", hostileClaimDataSource},
		{"delete-orphan-and-recreate", hostileOrphanCascade},
		{"namespace-deleted", hostileNamespaceDeleted},
		{"pods-refused-missing-serviceaccount", hostileMissingServiceAccount},
		{"resourcequota-refuses-pods", hostileQuotaRefuses},
		{"admission-policy-denies-pods", hostilePolicyDeniesPods},
		{"template-volume-named-like-claim", hostileVolumeNamedLikeClaim},
		{"two-claim-templates-of-one-name", hostileDuplicateClaimTemplates},
		{"recreated-while-old-pods-terminate", hostileRecreatedWhileTerminating},
		{"selector-matchExpressions-only", hostileMatchExpressionsOnly},
		{"serviceName-without-service", hostileServiceNowhere},
		{"maxUnavailable-100-percent", hostileMaxUnavailableAll},
		{"template-finalizers", hostileTemplateFinalizers},
		{"deleted-pod-stuck-on-finalizer", hostileStuckFinalizer},
		{"template-sets-name-hostname-subdomain", hostileTemplateIdentity},
		{"revision-name-taken", hostileRevisionNameTaken},
	}
	start := time.Now()
	// t.Run from one goroutine per row, rather than t.Parallel, so that the rows
	// run together whatever -test.parallel (GOMAXPROCS) is.
	var wg sync.WaitGroup
	for _, row := range rows {
		wg.Go(func() { t.Run(row.name, row.run) })
	}
	wg.Wait()
	t.Logf("%d rows in %v", len(rows), time.Since(start).Round(100*time.Millisecond))
	requireControllerAlive(t)
}

// Words a condition or event uses for "another object holds this name".
var nameTakenWords = []string{"already exists", "taken", "owned by", "controlled by"}

// hostileHugeReplicasOrdered: replicas 2147483647 under OrderedReady, with a claim
// template, creates data-web-0 and web-0 only and waits for web-0; releasing it lets
// exactly web-1 come. A pass that visited every ordinal (for claims, say) would not
// finish within the test's bounds.
func hostileHugeReplicasOrdered(t *testing.T) {
	e := newHostile(t, "h-huge")
	e.createSet("web", specWithData("web", math.MaxInt32, holdUnready, "true"))
	e.waitFor(shortWait, "web-0 created", e.podExists("web-0"))
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("waiting for web-0 to be Running and Ready"))
	e.holdsFor(2*time.Second, "web-1 created while web-0 is un-Ready", e.podExistsNow("web-1"))
	e.probe()
	e.release("web-0")
	e.waitFor(shortWait, "web-1 created once web-0 is Ready", e.podExists("web-1"))
	e.waitSetStatus("web", "2 replicas, 1 ready", func(st appsv1alpha1.MiniStatefulSetStatus) bool {
		return st.Replicas == 2 && st.ReadyReplicas == 1
	})
	e.holdsFor(time.Second, "web-2 created while web-1 is un-Ready", e.podExistsNow("web-2"))
}

// hostileHugeReplicasParallel: replicas 2147483647 under Parallel in a namespace
// whose quota allows 3 pods: the burst stops at the quota, FailedCreate says why.
func hostileHugeReplicasParallel(t *testing.T) {
	e := newHostile(t, "h-huge-par")
	e.createQuota(3)
	spec := statefulSpec("web", math.MaxInt32, nil, false)
	spec.PodManagementPolicy = appsv1.ParallelPodManagement
	e.createSet("web", spec)
	e.waitWarning("web", "FailedCreate", "exceeded quota")
	e.waitFor(shortWait, "3 pods", func() (bool, error) { return len(e.pods()) == 3, nil })
	e.holdsFor(2*time.Second, "more than 3 pods", func() bool { return len(e.pods()) > 3 })
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAny("exceeded quota", "retrying"))
	e.assertBackoff("web", "FailedCreate", 4*time.Second)
	newHostile(t, "h-huge-par-probe").probe()
}

// hostileStartOrdinalMax: ordinals.start 2147483647 with one replica runs
// web-2147483647; scaling it to 2 through the scale subresource is refused.
func hostileStartOrdinalMax(t *testing.T) {
	e := newHostile(t, "h-start")
	spec := statefulSpec("web", 1, nil, false)
	spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: math.MaxInt32}
	e.createSet("web", spec)
	e.waitReady("web-2147483647")
	p, _ := e.pod("web-2147483647")
	assert.Equal(t, "2147483647", p.Labels["apps.kubernetes.io/pod-index"])
	sets := msts.AppsV1alpha1().MiniStatefulSets(e.ns)
	err := retry.OnError(retry.DefaultRetry, apierrors.IsConflict, func() error {
		sc, err := sets.GetScale(e.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = 2
		_, err = sets.UpdateScale(e.ctx, "web", sc, metav1.UpdateOptions{})
		return err
	})
	require.Error(t, err, "scaling past ordinal 2147483647 was accepted")
	assert.Contains(t, err.Error(), "spec.ordinals.start + spec.replicas must be at most 2147483648")
}

// hostileHugeMinReadySeconds: minReadySeconds 2147483647 (68 years) holds web-1
// back for good, says so, and overflows nothing.
func hostileHugeMinReadySeconds(t *testing.T) {
	e := newHostile(t, "h-minready")
	spec := statefulSpec("web", 2, nil, false)
	spec.MinReadySeconds = math.MaxInt32
	e.createSet("web", spec)
	e.waitReady("web-0")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0", "2147483647s"))
	e.holdsFor(2*time.Second, "web-1 created before web-0 is available", e.podExistsNow("web-1"))
	st := e.getSet("web").Status
	assert.Equal(t, int32(1), st.ReadyReplicas)
	assert.Equal(t, int32(0), st.AvailableReplicas)
	e.probe()
}

// hostilePartitionAboveReplicas: partition 5 with 2 replicas updates nothing, and
// a pod added by a scale-up comes at the current revision, as apps/v1 does.
func hostilePartitionAboveReplicas(t *testing.T) {
	e := newHostile(t, "h-partition")
	spec := statefulSpec("web", 2, nil, false)
	spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(5))}
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	before := e.uids()
	e.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "redis:8" })
	st := e.waitSetStatus("web", "a new update revision", func(st appsv1alpha1.MiniStatefulSetStatus) bool {
		return st.UpdateRevision != "" && st.UpdateRevision != st.CurrentRevision
	})
	e.holdsFor(2*time.Second, "a pod below the partition replaced", func() bool { return e.changed(before) })
	st = e.getSet("web").Status
	assert.Equal(t, int32(0), st.UpdatedReplicas)
	assert.Equal(t, int32(2), st.CurrentReplicas)
	e.scale("web", 3)
	e.waitReady("web-2")
	p, _ := e.pod("web-2")
	assert.Equal(t, st.CurrentRevision, p.Labels[revisionLabel], "web-2 is below the partition: current revision")
}

// hostileNamesAtLimits: a 52-character set name with a 63-character claim template
// name (the longest a pod volume name may be) runs; the claim name is 118 characters.
func hostileNamesAtLimits(t *testing.T) {
	e := newHostile(t, "h-names")
	name := "n" + strings.Repeat("a", 51)
	tmpl := "c" + strings.Repeat("b", 62)
	spec := statefulSpec(name, 1, nil, true)
	spec.VolumeClaimTemplates[0].Name = tmpl
	spec.Template.Spec.Containers[0].VolumeMounts[0].Name = tmpl
	e.createSet(name, spec)
	pod := name + "-0"
	e.waitReady(pod)
	p, _ := e.pod(pod)
	assert.LessOrEqual(t, len(p.Labels[revisionLabel]), 63)
	assert.True(t, strings.HasPrefix(p.Labels[revisionLabel], name+"-"), p.Labels[revisionLabel])
	claim := tmpl + "-" + name + "-0"
	e.waitFor(shortWait, "claim "+claim+" Bound", func() (bool, error) {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, claim, metav1.GetOptions{})
		return err == nil && c.Status.Phase == corev1.ClaimBound, nil
	})
}

// hostileTwoSetsOneSelector: sets web and web-1 select the same labels; their pod
// names interleave (web-1 is a pod of web, web-1-0 of web-1) and each keeps its own.
func hostileTwoSetsOneSelector(t *testing.T) {
	e := newHostile(t, "h-twosets")
	spec := statefulSpec("shared", 2, nil, false)
	a := e.createSet("web", spec)
	b := e.createSet("web-1", spec)
	e.waitReady("web-0", "web-1", "web-1-0", "web-1-1")
	owners := map[string]types.UID{"web-0": a.UID, "web-1": a.UID, "web-1-0": b.UID, "web-1-1": b.UID}
	e.holdsFor(2*time.Second, "a pod with the wrong owner, or a third pod of a set", func() bool {
		pods := e.pods()
		if len(pods) != 4 {
			return true
		}
		for _, p := range pods {
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != owners[p.Name] {
				return true
			}
		}
		return false
	})
	for _, name := range []string{"web", "web-1"} {
		e.waitSetStatus(name, "2 ready replicas", func(st appsv1alpha1.MiniStatefulSetStatus) bool { return st.ReadyReplicas == 2 && st.Replicas == 2 })
	}
}

// hostileStatefulSetSameName: a built-in StatefulSet web already runs web-0 and
// web-1 with the same labels; MiniStatefulSet web must leave them alone, say that
// the names are taken, and take over once the StatefulSet and its pods are gone.
func hostileStatefulSetSameName(t *testing.T) {
	e := newHostile(t, "h-stsname")
	spec := statefulSpec("web", 2, nil, false)
	e.createStatefulSet("web", spec)
	e.waitReady("web-0", "web-1")
	theirs := e.uids()
	e.createSet("web", spec)
	e.waitWarning("web", "", "web-0")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"), msgAny(nameTakenWords...))
	e.holdsFor(2*time.Second, "a StatefulSet pod touched", func() bool {
		return e.changed(theirs) || e.controllerKindOf("web-0") != "StatefulSet" || e.controllerKindOf("web-1") != "StatefulSet"
	})
	e.probe()
	require.NoError(t, kube.AppsV1().StatefulSets(e.ns).Delete(e.ctx, "web", metav1.DeleteOptions{}))
	for _, name := range []string{"web-0", "web-1"} {
		e.waitFor(longWait, name+" re-created by the MiniStatefulSet", func() (bool, error) {
			p, ok := e.pod(name)
			return ok && p.UID != theirs[name] && e.controllerKindOf(name) == appsv1alpha1.Kind && isReady(p), nil
		})
	}
}

// hostileReplicaSetOwnsPod: a pod web-0 that a ReplicaSet adopted, with labels the
// set selects: never adopted, never deleted; once the ReplicaSet lets it go, the set
// creates its own web-0.
func hostileReplicaSetOwnsPod(t *testing.T) {
	e := newHostile(t, "h-rs")
	labels := map[string]string{"app": "web", "foreign": "rs"}
	e.createPod("web-0", labels)
	e.waitReady("web-0")
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "foreign"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"foreign": "rs"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: plainPodSpec()},
		},
	}
	_, err := kube.AppsV1().ReplicaSets(e.ns).Create(e.ctx, rs, metav1.CreateOptions{})
	require.NoError(t, err)
	e.waitFor(shortWait, "the ReplicaSet to adopt web-0", func() (bool, error) { return e.controllerKindOf("web-0") == "ReplicaSet", nil })
	theirs := e.uids()
	e.createSet("web", statefulSpec("web", 1, nil, false))
	e.waitWarning("web", "", "web-0")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"), msgAny(nameTakenWords...))
	e.holdsFor(2*time.Second, "the ReplicaSet's pod touched", func() bool {
		return e.changed(theirs) || e.controllerKindOf("web-0") != "ReplicaSet"
	})
	e.probe()
	e.onConflict("scaling the ReplicaSet to 0", func() error {
		cur, err := kube.AppsV1().ReplicaSets(e.ns).Get(e.ctx, "foreign", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Replicas = ptr(int32(0))
		_, err = kube.AppsV1().ReplicaSets(e.ns).Update(e.ctx, cur, metav1.UpdateOptions{})
		return err
	})
	e.waitFor(longWait, "web-0 created by the MiniStatefulSet", func() (bool, error) {
		p, ok := e.pod("web-0")
		return ok && p.UID != theirs["web-0"] && e.controllerKindOf("web-0") == appsv1alpha1.Kind && isReady(p), nil
	})
}

// hostileOrphanNotMatching: a user's pod web-0 with other labels and no owner holds
// the name: never adopted, never deleted; deleting it lets the set create web-0.
func hostileOrphanNotMatching(t *testing.T) {
	e := newHostile(t, "h-orphan-other")
	e.createPod("web-0", map[string]string{"app": "other"})
	theirs := e.uids()
	e.createSet("web", statefulSpec("web", 1, nil, false))
	e.waitWarning("web", "", "web-0")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"), msgAny(nameTakenWords...))
	e.holdsFor(2*time.Second, "the user's pod touched", func() bool { return e.changed(theirs) || e.controllerKindOf("web-0") != "" })
	e.probe()
	require.NoError(t, kube.CoreV1().Pods(e.ns).Delete(e.ctx, "web-0", metav1.DeleteOptions{}))
	e.waitFor(longWait, "web-0 created by the MiniStatefulSet", func() (bool, error) {
		p, ok := e.pod("web-0")
		return ok && p.UID != theirs["web-0"] && e.controllerKindOf("web-0") == appsv1alpha1.Kind && isReady(p), nil
	})
}

// hostileOrphanMatching: an ownerless pod web-0 that the set selects, at the set's
// revision, is adopted as it is (same UID, no restart), given its identity labels,
// and web-1 follows.
func hostileOrphanMatching(t *testing.T) {
	spec := statefulSpec("web", 2, nil, false)
	rev := revisionNameFor(t, "web", spec)
	e := newHostile(t, "h-orphan-match")
	e.createPod("web-0", map[string]string{"app": "web", revisionLabel: rev})
	e.waitReady("web-0")
	mine := e.uids()
	set := e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	p, _ := e.pod("web-0")
	assert.Equal(t, mine["web-0"], p.UID, "web-0 was replaced instead of adopted")
	ref := metav1.GetControllerOf(p)
	require.NotNil(t, ref, "web-0 was not adopted")
	assert.Equal(t, set.UID, ref.UID)
	assert.Equal(t, "web-0", p.Labels["statefulset.kubernetes.io/pod-name"])
	assert.Equal(t, "0", p.Labels["apps.kubernetes.io/pod-index"])
	assert.Empty(t, e.traced("", "terminating"), "a pod was deleted")
}

// hostileRelabelledOut: a user relabels web-0 out of the selector: the set releases
// it, never deletes it, says web-0's name is taken; relabelled back, it is adopted
// again with the same UID.
func hostileRelabelledOut(t *testing.T) {
	e := newHostile(t, "h-relabel")
	set := e.createSet("web", statefulSpec("web", 1, nil, false))
	e.waitReady("web-0")
	mine := e.uids()
	e.patch("web-0", map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "moved"}}})
	e.waitFor(shortWait, "web-0 released", func() (bool, error) { return e.controllerKindOf("web-0") == "", nil })
	e.waitWarning("web", "", "web-0")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"), msgAny(nameTakenWords...))
	e.holdsFor(2*time.Second, "the released pod deleted or replaced", func() bool { return e.changed(mine) })
	e.probe()
	e.patch("web-0", map[string]any{"metadata": map[string]any{"labels": map[string]string{"app": "web"}}})
	e.waitFor(shortWait, "web-0 adopted again", func() (bool, error) {
		p, ok := e.pod("web-0")
		if !ok {
			return false, nil
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == set.UID, nil
	})
	assert.False(t, e.changed(mine), "web-0 was replaced")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionFalse, msgAll())
}

// hostileIdentityTampered: a user overwrites web-0's identity labels; the set puts
// them back on the same pod.
func hostileIdentityTampered(t *testing.T) {
	e := newHostile(t, "h-identity")
	e.createSet("web", statefulSpec("web", 1, nil, false))
	e.waitReady("web-0")
	mine := e.uids()
	e.patch("web-0", map[string]any{"metadata": map[string]any{"labels": map[string]string{
		"statefulset.kubernetes.io/pod-name": "evil", "apps.kubernetes.io/pod-index": "7"}}})
	e.waitFor(shortWait, "identity labels restored", func() (bool, error) {
		p, ok := e.pod("web-0")
		return ok && p.Labels["statefulset.kubernetes.io/pod-name"] == "web-0" && p.Labels["apps.kubernetes.io/pod-index"] == "0", nil
	})
	assert.False(t, e.changed(mine), "web-0 was replaced")
}

// hostileClaimOtherController: data-web-0 exists, controlled by a ConfigMap, and
// the set asks for whenDeleted: Delete: the pod uses the claim, the claim is left
// exactly as it is, and a Warning says the retention policy does not apply to it.
func hostileClaimOtherController(t *testing.T) {
	e := newHostile(t, "h-claim-owner")
	cm, err := kube.CoreV1().ConfigMaps(e.ns).Create(e.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keeper"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	claim := userClaim("data-web-0", "", "1Gi")
	claim.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, Controller: ptr(true)}}
	theirs := e.createClaim(claim)
	spec := specWithData("web", 1)
	spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
	e.createSet("web", spec)
	e.waitReady("web-0")
	assert.Equal(t, "data-web-0", e.claimOfPod("web-0", "data"))
	e.waitWarning("web", "", "data-web-0")
	e.holdsFor(2*time.Second, "the claim changed", func() bool { return e.claimChanged(theirs) })
}

// hostileClaimsWrongShape: data-web-0 (storage class "slow", which does not exist)
// and data-web-1 (3Gi where the template asks 1Gi) exist: the pods use them as they
// are, and the claims are never updated or deleted.
func hostileClaimsWrongShape(t *testing.T) {
	e := newHostile(t, "h-claim-shape")
	slow := e.createClaim(userClaim("data-web-0", "slow", "1Gi"))
	big := e.createClaim(userClaim("data-web-1", "", "3Gi"))
	spec := specWithData("web", 2)
	spec.PodManagementPolicy = appsv1.ParallelPodManagement
	e.createSet("web", spec)
	e.waitFor(shortWait, "web-0 and web-1 created", func() (bool, error) {
		_, a := e.pod("web-0")
		_, b := e.pod("web-1")
		return a && b, nil
	})
	assert.Equal(t, "data-web-0", e.claimOfPod("web-0", "data"))
	assert.Equal(t, "data-web-1", e.claimOfPod("web-1", "data"))
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("Running and Ready"))
	e.holdsFor(2*time.Second, "a claim changed", func() bool { return e.claimChanged(slow) || e.claimChanged(big) })
	e.probe()
}

// hostileClaimDataSource: a claim template that clones another claim (dataSource).
// apps/v1 accepts it; each claim is created with the dataSource as written and the
// pod uses it. Whatever the storage makes of the clone (here the PV controller binds
// it to a static volume), the Waiting condition agrees with the pod's readiness.
func hostileClaimDataSource(t *testing.T) {
	e := newHostile(t, "h-datasource")
	spec := specWithData("web", 1)
	spec.VolumeClaimTemplates[0].Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "seed"}
	e.createSet("web", spec)
	e.waitFor(shortWait, "web-0 created", e.podExists("web-0"))
	assert.Equal(t, "data-web-0", e.claimOfPod("web-0", "data"))
	c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, "data-web-0", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, c.Spec.DataSource, "the claim lost its dataSource")
	assert.Equal(t, "seed", c.Spec.DataSource.Name)
	e.waitSaw(shortWait, "the Waiting condition to agree with web-0's readiness", func() (bool, string) {
		p, ok := e.pod("web-0")
		c := conditionOf(e.getSet("web"), appsv1alpha1.ConditionWaiting)
		if !ok || c == nil {
			return false, fmt.Sprintf("pod found %v, condition %+v", ok, c)
		}
		if isReady(p) {
			return c.Status == corev1.ConditionFalse, c.Message
		}
		return c.Status == corev1.ConditionTrue && strings.Contains(c.Message, "web-0"), c.Message
	})
}

// hostileOrphanCascade: `kubectl delete msts web --cascade=orphan`, then the same
// set again: it adopts the pods, claims' pods and revisions; nothing restarts.
func hostileOrphanCascade(t *testing.T) {
	e := newHostile(t, "h-cascade")
	spec := specWithData("web", 2)
	old := e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	before := e.uids()
	revs := map[string]string{}
	for _, p := range e.pods() {
		revs[p.Name] = p.Labels[revisionLabel]
	}
	claims := map[string]types.UID{}
	for _, name := range []string{"data-web-0", "data-web-1"} {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		claims[name] = c.UID
	}
	require.NoError(t, msts.AppsV1alpha1().MiniStatefulSets(e.ns).Delete(e.ctx, "web",
		metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationOrphan)}))
	e.waitFor(shortWait, "the set gone and its pods orphaned", func() (bool, error) {
		_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err) && e.controllerKindOf("web-0") == "" && e.controllerKindOf("web-1") == "", nil
	})
	set := e.createSet("web", spec)
	require.NotEqual(t, old.UID, set.UID)
	e.waitFor(shortWait, "the new set to adopt both pods", func() (bool, error) {
		for _, p := range e.pods() {
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != set.UID {
				return false, nil
			}
		}
		return true, nil
	})
	e.waitSetStatus("web", "2 ready replicas at one revision", func(st appsv1alpha1.MiniStatefulSetStatus) bool {
		return st.ReadyReplicas == 2 && st.UpdatedReplicas == 2 && st.CurrentRevision == st.UpdateRevision
	})
	assert.Equal(t, before, e.uids(), "pods were replaced")
	for _, p := range e.pods() {
		assert.Equal(t, revs[p.Name], p.Labels[revisionLabel], "%s changed revision", p.Name)
	}
	for name, uid := range claims {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, uid, c.UID, "%s was replaced", name)
	}
	assert.Empty(t, e.traced("", "terminating"), "a pod was deleted")
}

// hostileNamespaceDeleted: the namespace of a running set is deleted: nothing is
// re-created while it terminates, it goes away, and other sets are served.
func hostileNamespaceDeleted(t *testing.T) {
	e := newHostile(t, "h-nsdel")
	e.createSet("web", specWithData("web", 3, deleteDelay, "2s"))
	e.waitReady("web-0", "web-1", "web-2")
	deleted := time.Now()
	require.NoError(t, kube.CoreV1().Namespaces().Delete(e.ctx, e.ns, metav1.DeleteOptions{}))
	e.waitFor(longWait, "the namespace gone", func() (bool, error) {
		_, err := kube.CoreV1().Namespaces().Get(e.ctx, e.ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	for _, ev := range e.trace.snapshot("") {
		if ev.Step == trace.Created && ev.At.After(deleted) {
			t.Errorf("%s created while its namespace was being deleted", ev.Pod)
		}
	}
	newHostile(t, "h-nsdel-probe").probe()
}

// hostileMissingServiceAccount: the template names a ServiceAccount that does not
// exist, so the API server refuses every pod (no admission rule can know that in
// advance): FailedCreate with the API's words, backoff, the claim kept; creating the
// ServiceAccount lets web-0 come.
func hostileMissingServiceAccount(t *testing.T) {
	e := newHostile(t, "h-nosa")
	spec := specWithData("web", 1)
	spec.Template.Spec.ServiceAccountName = "builder"
	e.createSet("web", spec)
	e.waitWarning("web", "FailedCreate", "web-0", `serviceaccount "builder" not found`)
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"))
	e.assertBackoff("web", "FailedCreate", 6*time.Second)
	claim := e.claimUID("data-web-0")
	e.probe()
	_, err := kube.CoreV1().ServiceAccounts(e.ns).Create(e.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.waitReady("web-0")
	assert.Equal(t, claim, e.claimUID("data-web-0"), "the claim was replaced")
}

// hostileQuotaRefuses: a ResourceQuota of one pod: web-0 runs, web-1 is refused
// with FailedCreate, retried with backoff and no hot loop; without the quota the
// set goes on.
func hostileQuotaRefuses(t *testing.T) {
	e := newHostile(t, "h-quota")
	quota := e.createQuota(1)
	e.createSet("web", statefulSpec("web", 3, nil, false))
	e.waitReady("web-0")
	e.waitWarning("web", "FailedCreate", "web-1", "exceeded quota")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-1"))
	e.assertBackoff("web", "FailedCreate", 6*time.Second)
	assert.Len(t, e.pods(), 1)
	newHostile(t, "h-quota-probe").probe()
	require.NoError(t, kube.CoreV1().ResourceQuotas(e.ns).Delete(e.ctx, quota, metav1.DeleteOptions{}))
	e.waitReady("web-1", "web-2")
}

// hostilePolicyDeniesPods: a ValidatingAdmissionPolicy (what a webhook would do,
// without a server) refuses every pod in the namespace: FailedCreate with the
// policy's message, the claim created and kept; without the policy the pod comes.
func hostilePolicyDeniesPods(t *testing.T) {
	e := newHostile(t, "h-deny")
	const msg = "pods are frozen in this namespace by the e2e test policy"
	e.denyPods(msg)
	e.createSet("web", specWithData("web", 1))
	e.waitWarning("web", "FailedCreate", "web-0", msg)
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"))
	claim := e.claimUID("data-web-0")
	e.holdsFor(time.Second, "a pod created", func() bool { return len(e.pods()) > 0 })
	newHostile(t, "h-deny-probe").probe()
	require.NoError(t, kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(e.ctx, "msts-e2e-"+e.ns, metav1.DeleteOptions{}))
	e.waitReady("web-0")
	assert.Equal(t, claim, e.claimUID("data-web-0"), "the claim was replaced")
}

// hostileVolumeNamedLikeClaim: an emptyDir volume named data beside the claim
// template data. apps/v1 accepts the manifest (and silently mounts the claim);
// MiniStatefulSet accepts it too but refuses to guess which one was meant: a
// Warning, InvalidSpec, nothing created; fixing the spec lets the set run.
func hostileVolumeNamedLikeClaim(t *testing.T) {
	e := newHostile(t, "h-volclash")
	spec := specWithData("web", 1)
	spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	_, err := kube.AppsV1().StatefulSets(e.ns).Create(e.ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: spec},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err, "apps/v1 refuses this StatefulSet: the MiniStatefulSet admission may refuse it too")
	e.createSet("web", spec)
	e.waitWarning("web", "InvalidSpec", `"data"`)
	e.waitCondition("web", appsv1alpha1.ConditionInvalidSpec, corev1.ConditionTrue, msgAll(`"data"`))
	e.holdsFor(time.Second, "a pod or claim created", func() bool { return len(e.pods()) > 0 || e.claimCount() > 0 })
	e.probe()
	e.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.Volumes = nil })
	e.waitReady("web-0")
	e.waitFor(shortWait, "InvalidSpec cleared", func() (bool, error) {
		return conditionOf(e.getSet("web"), appsv1alpha1.ConditionInvalidSpec) == nil, nil
	})
}

// hostileDuplicateClaimTemplates: two claim templates named data. apps/v1 accepts
// the manifest (one of them silently wins); MiniStatefulSet accepts it too but says
// it cannot tell which claim the pod's volume data is: InvalidSpec, nothing created.
func hostileDuplicateClaimTemplates(t *testing.T) {
	e := newHostile(t, "h-dupclaims")
	spec := specWithData("web", 1)
	spec.VolumeClaimTemplates = append(spec.VolumeClaimTemplates, *spec.VolumeClaimTemplates[0].DeepCopy())
	e.createSet("web", spec)
	e.waitWarning("web", "InvalidSpec", `"data"`)
	e.waitCondition("web", appsv1alpha1.ConditionInvalidSpec, corev1.ConditionTrue, msgAll(`"data"`))
	e.holdsFor(time.Second, "a pod or claim created", func() bool { return len(e.pods()) > 0 || e.claimCount() > 0 })
	e.probe()
}

// hostileRecreatedWhileTerminating: set web is deleted while its pods take 4s to
// terminate, and created again at once: the new set neither adopts nor deletes the
// old, terminating pods; it waits for their names and then creates its own, each
// once, in order.
func hostileRecreatedWhileTerminating(t *testing.T) {
	e := newHostile(t, "h-recreate")
	spec := statefulSpec("web", 2, map[string]string{deleteDelay: "4s"}, false)
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	old := e.uids()
	require.NoError(t, msts.AppsV1alpha1().MiniStatefulSets(e.ns).Delete(e.ctx, "web", metav1.DeleteOptions{}))
	e.waitFor(shortWait, "the old pods terminating", func() (bool, error) {
		for _, p := range e.pods() {
			if p.DeletionTimestamp == nil {
				return false, nil
			}
		}
		return true, nil
	})
	set := e.createSet("web", spec)
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0"))
	for _, name := range []string{"web-0", "web-1"} {
		e.waitFor(longWait, name+" of the new set", func() (bool, error) {
			p, ok := e.pod(name)
			if !ok || p.UID == old[name] {
				return false, nil
			}
			ref := metav1.GetControllerOf(p)
			return ref != nil && ref.UID == set.UID && isReady(p), nil
		})
	}
	assert.Equal(t, []string{"created web-0", "created web-1", "created web-0", "created web-1"}, e.traced(appsv1alpha1.Kind, "created"),
		"each name created once per set, in order")
}

// hostileMatchExpressionsOnly: a selector with only matchExpressions works; the
// status selector, used by kubectl scale, says it in string form.
func hostileMatchExpressionsOnly(t *testing.T) {
	e := newHostile(t, "h-exprs")
	spec := statefulSpec("web", 2, nil, false)
	spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "www"}}}}
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	e.waitSetStatus("web", "the selector in status", func(st appsv1alpha1.MiniStatefulSetStatus) bool {
		return st.Selector == "app in (web,www)" && st.ReadyReplicas == 2
	})
}

// hostileServiceNowhere: serviceName names no Service: the pods run with that
// subdomain anyway, as under apps/v1.
func hostileServiceNowhere(t *testing.T) {
	e := newHostile(t, "h-nosvc")
	spec := statefulSpec("web", 2, nil, false)
	spec.ServiceName = "nowhere"
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	p, _ := e.pod("web-1")
	assert.Equal(t, "nowhere", p.Spec.Subdomain)
	assert.Equal(t, "web-1", p.Spec.Hostname)
}

// hostileMaxUnavailableAll: maxUnavailable "100%" takes every pod down at once for
// an update, then brings them back in order.
func hostileMaxUnavailableAll(t *testing.T) {
	e := newHostile(t, "h-maxu")
	spec := statefulSpec("web", 3, nil, false)
	all := intstr.FromString("100%")
	spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &all}
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1", "web-2")
	mark := len(e.trace.snapshot(appsv1alpha1.Kind))
	e.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "redis:8" })
	e.waitSetStatus("web", "3 pods updated and ready", func(st appsv1alpha1.MiniStatefulSetStatus) bool {
		return st.UpdatedReplicas == 3 && st.ReadyReplicas == 3 && st.CurrentRevision == st.UpdateRevision
	})
	var seq []string
	for _, ev := range e.trace.snapshot(appsv1alpha1.Kind)[mark:] {
		if ev.Step == trace.Terminating || ev.Step == trace.Created {
			seq = append(seq, string(ev.Step))
		}
	}
	require.GreaterOrEqual(t, len(seq), 6, "trace: %v", seq)
	assert.Equal(t, []string{"terminating", "terminating", "terminating"}, seq[:3], "all three go down before any comes back")
}

// hostileTemplateFinalizers: pods carry the template's finalizer, so a scaled-away
// pod stays Terminating: the set waits for it and says so; once the finalizer is
// removed, the pod goes and the set settles.
func hostileTemplateFinalizers(t *testing.T) {
	e := newHostile(t, "h-tmplfin")
	spec := statefulSpec("web", 2, nil, false)
	spec.Template.Finalizers = []string{"msts.test/hold"}
	e.createSet("web", spec)
	t.Cleanup(func() { e.dropFinalizers("web") })
	e.waitReady("web-0", "web-1")
	p, _ := e.pod("web-1")
	assert.Equal(t, []string{"msts.test/hold"}, p.Finalizers)
	e.scale("web", 1)
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-1", "terminate"))
	e.holdsFor(time.Second, "web-1 gone with its finalizer", func() bool { _, ok := e.pod("web-1"); return !ok })
	e.probe()
	e.patch("web-1", map[string]any{"metadata": map[string]any{"finalizers": nil}})
	e.waitGone("web-1")
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionFalse, msgAll())
}

// hostileStuckFinalizer: a user puts a finalizer on web-0 and deletes it: the set
// waits for it to terminate, creates no second web-0, and re-creates it once the
// finalizer is removed.
func hostileStuckFinalizer(t *testing.T) {
	e := newHostile(t, "h-stuck")
	e.createSet("web", statefulSpec("web", 1, nil, false))
	t.Cleanup(func() { e.dropFinalizers("web") })
	e.waitReady("web-0")
	old := e.uids()["web-0"]
	e.patch("web-0", map[string]any{"metadata": map[string]any{"finalizers": []string{"msts.test/hold"}}})
	require.NoError(t, kube.CoreV1().Pods(e.ns).Delete(e.ctx, "web-0", metav1.DeleteOptions{}))
	e.waitCondition("web", appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, msgAll("web-0", "terminate"))
	e.holdsFor(time.Second, "web-0 replaced while the old one terminates", func() bool {
		p, ok := e.pod("web-0")
		return !ok || p.UID != old
	})
	e.probe()
	e.patch("web-0", map[string]any{"metadata": map[string]any{"finalizers": nil}})
	e.waitReplaced("web-0", old)
}

// hostileTemplateIdentity: a template that sets metadata.name, hostname and
// subdomain gets pods named, and with the identity, of their ordinal.
func hostileTemplateIdentity(t *testing.T) {
	e := newHostile(t, "h-tmplid")
	spec := statefulSpec("web", 2, nil, false)
	spec.Template.Name = "evil"
	spec.Template.Spec.Hostname = "evil"
	spec.Template.Spec.Subdomain = "evil"
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1")
	for _, p := range e.pods() {
		assert.Equal(t, p.Name, p.Spec.Hostname)
		assert.Equal(t, "web", p.Spec.Subdomain)
	}
}

// hostileRevisionNameTaken: a ControllerRevision of another template already has
// the name the set's revision would get: collisionCount goes to 1, the set uses
// another name, and the foreign revision is left as it is.
func hostileRevisionNameTaken(t *testing.T) {
	spec := statefulSpec("web", 1, nil, false)
	taken := revisionNameFor(t, "web", spec)
	e := newHostile(t, "h-collide")
	foreign, err := kube.AppsV1().ControllerRevisions(e.ns).Create(e.ctx, &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: taken},
		Data:       runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"app":"someone-else"}}}}}`)},
		Revision:   1,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	e.createSet("web", spec)
	e.waitReady("web-0")
	st := e.waitSetStatus("web", "collisionCount 1", func(st appsv1alpha1.MiniStatefulSetStatus) bool {
		return st.CollisionCount != nil && *st.CollisionCount == 1 && st.UpdateRevision != ""
	})
	assert.NotEqual(t, taken, st.UpdateRevision)
	p, _ := e.pod("web-0")
	assert.Equal(t, st.UpdateRevision, p.Labels[revisionLabel])
	now, err := kube.AppsV1().ControllerRevisions(e.ns).Get(e.ctx, taken, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, foreign.ResourceVersion, now.ResourceVersion, "the foreign revision was changed")
}
