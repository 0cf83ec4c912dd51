//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// monitorFixture feeds the chaos monitor made-up objects on a made-up clock.
type monitorFixture struct {
	m   *chaosMonitor
	now time.Time
	set *appsv1alpha1.MiniStatefulSet
}

func newMonitorFixture() *monitorFixture {
	f := &monitorFixture{m: newChaosMonitor(), now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	f.m.now = func() time.Time { return f.now }
	f.m.configs["ns/web"] = chaosSetConfig{name: "web", claims: true, whenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		whenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
	f.set = &appsv1alpha1.MiniStatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set-1"}}
	f.scale(3)
	f.m.onRevision(&appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "web-r1", Namespace: "ns",
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(f.set, appsv1alpha1.SchemeGroupVersion.WithKind(appsv1alpha1.Kind))}}, Revision: 1})
	return f
}

func (f *monitorFixture) tick(d time.Duration) { f.now = f.now.Add(d) }

func (f *monitorFixture) scale(n int32) {
	f.set.Spec.Replicas = &n
	f.set.Status.UpdateRevision = "web-r1"
	f.m.onSet(f.set.DeepCopy())
}

// pod is web-<ord> in the given state: "pending", "ready", "terminating".
func (f *monitorFixture) pod(ord int, state string) *corev1.Pod {
	name := "web-" + string(rune('0'+ord))
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("pod-" + name),
		Labels:          map[string]string{"apps.kubernetes.io/pod-index": string(rune('0' + ord)), revisionLabel: "web-r1"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(f.set, appsv1alpha1.SchemeGroupVersion.WithKind(appsv1alpha1.Kind))}}}
	switch state {
	case "ready", "terminating":
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	default:
		p.Status.Phase = corev1.PodPending
	}
	if state == "terminating" {
		p.DeletionTimestamp = &metav1.Time{Time: f.now}
	}
	return p
}

func (f *monitorFixture) violations(t *testing.T, want ...string) {
	t.Helper()
	got := f.m.violations
	assert.Len(t, got, len(want), "violations: %q", got)
	for i := range min(len(got), len(want)) {
		assert.Contains(t, got[i], want[i])
	}
}

// TestChaosMonitorCatches: the monitor calls each broken guarantee a violation, and
// what a lagging cache explains (a lower pod un-Ready a moment ago) it does not.
func TestChaosMonitorCatches(t *testing.T) {
	t.Run("creation above a never-Ready pod", func(t *testing.T) {
		f := newMonitorFixture()
		f.m.onPod(f.pod(0, "pending"))
		f.tick(3 * time.Second)
		f.m.onPod(f.pod(1, "pending"))
		f.violations(t, "ns/web-1 created while web-0 had not been Running and Ready")
	})
	t.Run("creation just after the lower pod turned un-Ready is no violation", func(t *testing.T) {
		f := newMonitorFixture()
		f.m.onPod(f.pod(0, "ready"))
		f.tick(time.Second)
		f.m.onPod(f.pod(0, "pending"))
		f.tick(time.Second)
		f.m.onPod(f.pod(1, "pending"))
		f.violations(t)
		f.tick(3 * time.Second)
		f.m.onPod(f.pod(2, "pending"))
		f.violations(t, "ns/web-2 created while web-0 had not been Running and Ready")
	})
	t.Run("scale-down deletion while a higher pod exists", func(t *testing.T) {
		f := newMonitorFixture()
		for o := range 3 {
			f.m.onPod(f.pod(o, "ready"))
		}
		f.tick(3 * time.Second)
		f.scale(1)
		f.m.onPod(f.pod(2, "terminating")) // the highest first: fine
		f.m.onPod(f.pod(1, "terminating")) // while web-2 is still there
		f.violations(t, "ns/web-1 (up to date, ordinal 1) deleted while higher ordinals [web-2]")
	})
	t.Run("deletions by hand are not the controller's", func(t *testing.T) {
		f := newMonitorFixture()
		for o := range 3 {
			f.m.onPod(f.pod(o, "ready"))
		}
		f.tick(3 * time.Second)
		f.m.byHand([]types.UID{"pod-web-0"}, nil, nil)
		f.m.onPod(f.pod(0, "terminating"))
		f.violations(t)
	})
	t.Run("two pods with one index", func(t *testing.T) {
		f := newMonitorFixture()
		f.m.onPod(f.pod(0, "ready"))
		p := f.pod(1, "pending")
		p.Labels["apps.kubernetes.io/pod-index"] = "0"
		f.tick(3 * time.Second)
		f.m.onPod(p)
		f.violations(t, "both carry pod-index 0")
	})
	t.Run("a retained claim deleted", func(t *testing.T) {
		f := newMonitorFixture()
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-data-web-2", Namespace: "ns", UID: "claim-2"}}
		f.m.onClaim(claim)
		f.m.onClaimGone(claim)
		_, lost := f.m.finish()
		assert.Len(t, lost, 1)
		hand := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-data-web-1", Namespace: "ns", UID: "claim-1"}}
		f.m.byHand(nil, []types.UID{"claim-1"}, nil)
		f.m.onClaim(hand)
		f.m.onClaimGone(hand)
		_, lost = f.m.finish()
		assert.Len(t, lost, 1, "a claim deleted by hand counts as lost")
	})
	t.Run("a claim gone under whenScaled=Delete is judged by the policy when its owners were not seen", func(t *testing.T) {
		f := newMonitorFixture()
		f.m.configs["ns/web"] = chaosSetConfig{name: "web", claims: true, whenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			whenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
		condemned := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-data-web-2", Namespace: "ns", UID: "claim-2"}}
		kept := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-data-web-1", Namespace: "ns", UID: "claim-1"}}
		f.m.onClaim(condemned)
		f.m.onClaim(kept)
		f.tick(time.Second)
		// The claim stream re-lists first and reports both gone; the set's stream
		// reports the scale-down that condemned ordinal 2 only after.
		f.m.onClaimGone(cache.DeletedFinalStateUnknown{Key: "ns/web-data-web-2", Obj: condemned})
		f.m.onClaimGone(cache.DeletedFinalStateUnknown{Key: "ns/web-data-web-1", Obj: kept})
		f.tick(5 * time.Second)
		f.scale(2)
		_, lost := f.m.finish()
		require.Len(t, lost, 1, "ordinal 2 was scaled away: its claim may go; ordinal 1 was not: %q", lost)
		assert.Contains(t, lost[0], "web-data-web-1")
	})
	t.Run("a claim handed to its pod although retained", func(t *testing.T) {
		f := newMonitorFixture()
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-data-web-2", Namespace: "ns", UID: "claim-2",
			OwnerReferences: []metav1.OwnerReference{{Kind: "Pod", Name: "web-2", UID: "pod-web-2"}}}}
		f.m.onClaim(claim)
		f.violations(t, "got its pod as owner, but whenScaled is Retain")
	})
	t.Run("checks across streams wait out an API server restart", func(t *testing.T) {
		f := newMonitorFixture()
		f.m.configs["ns/web"] = scaledDeleteConfig
		f.tick(3 * time.Second)
		f.m.apiDown()
		f.tick(time.Second)
		f.m.apiUp()
		f.tick(time.Second)
		f.m.onClaim(podOwnedClaim("claim-1", "1")) // replicas 3: not condemned, but the set's stream may lag
		f.tick(chaosBlackoutAfter)
		f.m.onClaim(podOwnedClaim("claim-2", "2"))
		violations, _ := f.m.finish()
		require.Len(t, violations, 1, "claim-1 fell in the blackout: %q", violations)
		assert.Contains(t, violations[0], "got pod web-2 as owner while ordinal 2 was not condemned")
	})
	t.Run("a claim handed to its pod just before the set's stream shows the scale-down", func(t *testing.T) {
		f := newMonitorFixture()
		f.m.configs["ns/web"] = scaledDeleteConfig
		f.tick(3 * time.Second)
		f.m.onClaim(podOwnedClaim("claim-2", "2")) // the controller saw replicas 2 a moment before the monitor
		f.tick(500 * time.Millisecond)
		f.scale(2)
		f.tick(5 * time.Second)
		f.m.onClaim(podOwnedClaim("claim-1", "1")) // and this one was never condemned
		f.tick(3 * time.Second)
		f.scale(1)
		violations, _ := f.m.finish()
		require.Len(t, violations, 1, "%q", violations)
		assert.Contains(t, violations[0], "got pod web-1 as owner while ordinal 1 was not condemned")
	})
	t.Run("a revision label that is no revision of the set", func(t *testing.T) {
		f := newMonitorFixture()
		p := f.pod(0, "ready")
		p.Labels[revisionLabel] = "web-bogus"
		f.m.onPod(p)
		violations, _ := f.m.finish()
		assert.Len(t, violations, 1)
		assert.True(t, len(violations) == 1 && strings.Contains(violations[0], "web-bogus"), "%q", violations)
	})
}

// scaledDeleteConfig is set web with claims, whenScaled: Delete, whenDeleted: Retain.
var scaledDeleteConfig = chaosSetConfig{name: "web", claims: true, whenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	whenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}

// podOwnedClaim is web's claim for an ordinal, handed to that ordinal's pod.
func podOwnedClaim(uid types.UID, ord string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "web-data-web-" + ord, Namespace: "ns", UID: uid,
		OwnerReferences: []metav1.OwnerReference{{Kind: "Pod", Name: "web-" + ord, UID: types.UID("pod-web-" + ord)}}}}
}
