package ministatefulset

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// fzHand is a snapshot built by hand, at one revision or, updating, with the set's
// template as the update revision over an older current one; with no pods and no
// claims yet.
func fzHand(set *appsv1alpha1.MiniStatefulSet, updating bool) *snapshot {
	s := &snapshot{set: set, now: fzNow, claim: claimsIn(nil)}
	s.update, s.updateTemplate = fzRevision(set)
	s.current, s.currentTemplate = s.update, s.updateTemplate
	if updating {
		old := set.DeepCopy()
		old.Spec.Template.Spec.Containers[0].Image = "img:old"
		old.Spec.Template.Annotations = map[string]string{"note": "old"}
		s.current, s.currentTemplate = fzRevision(old)
	}
	return s
}

// fzWithPods adds a pod per ordinal at the revision ("" for the update revision), in
// the state: ready (Running and Ready for an hour), unready, young (Ready for 10s),
// pending, failed, terminating.
func (s *snapshot) fzWithPods(revision, state string, ords ...int) *snapshot {
	if revision == "" {
		revision = s.update.Name
	}
	for _, ord := range ords {
		template := s.updateTemplate
		if revision == s.current.Name {
			template = s.currentTemplate
		}
		pod := newPod(s.set, template, revision, ord)
		pod.UID = types.UID("uid-" + pod.Name)
		ready, since := corev1.ConditionTrue, fzNow.Add(-time.Hour)
		pod.Status.Phase = corev1.PodRunning
		switch state {
		case "unready":
			ready = corev1.ConditionFalse
		case "young":
			since = fzNow.Add(-10 * time.Second)
		case "pending":
			pod.Status.Phase, ready = corev1.PodPending, corev1.ConditionFalse
		case "failed":
			pod.Status.Phase, ready = corev1.PodFailed, corev1.ConditionFalse
		case "terminating":
			pod.DeletionTimestamp = &metav1.Time{Time: fzNow}
		}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready, LastTransitionTime: metav1.NewTime(since)}}
		s.pods = append(s.pods, pod)
	}
	return s
}

// fzWithClaims makes the claims of the ordinals exist.
func (s *snapshot) fzWithClaims(ords ...int) *snapshot {
	claims := map[string]*corev1.PersistentVolumeClaim{}
	for _, ord := range ords {
		for name, claim := range newClaims(s.set, ord) {
			claim.UID = types.UID("uid-" + name)
			claims[name] = claim
		}
	}
	s.claim = claimsIn(claims)
	return s
}

func (s *snapshot) fzPodNamed(name string) *corev1.Pod {
	for _, pod := range s.pods {
		if pod.Name == name {
			return pod
		}
	}
	return nil
}

// fzCreateOf is the create a correct plan would hold for an ordinal.
func fzCreateOf(s *snapshot, ord int) action {
	template, revision := s.templateFor(ord)
	missing, _ := s.missingClaims(ord)
	return action{kind: createPod, pod: newPod(s.set, template, revision, ord), claims: missing}
}

func fzDeleteOf(s *snapshot, name string) action {
	return action{kind: deletePod, pod: s.fzPodNamed(name)}
}

// TestCheckPlanCatchesBrokenPlans proves the oracle of FuzzDecide can fail: each
// plan breaks one rule and checkPlan must say so, while decide's own plan for the
// same snapshot passes.
func TestCheckPlanCatchesBrokenPlans(t *testing.T) {
	web := func() *setBuilder { return newSet("web").Replicas(3) }
	withPartition := func(set *appsv1alpha1.MiniStatefulSet, n int32) *appsv1alpha1.MiniStatefulSet {
		set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: &n}
		return set
	}
	onDelete := func(set *appsv1alpha1.MiniStatefulSet) *appsv1alpha1.MiniStatefulSet {
		set.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.OnDeleteStatefulSetStrategyType}
		return set
	}
	deleteRetention := func(set *appsv1alpha1.MiniStatefulSet) *appsv1alpha1.MiniStatefulSet {
		set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType}
		return set
	}
	cases := []struct {
		name string
		snap func() *snapshot
		plan func(s *snapshot) []action
		want string
	}{
		{"two creates of one ordinal",
			func() *snapshot { return fzHand(web().Parallel().Obj(), false) },
			func(s *snapshot) []action {
				return []action{fzCreateOf(s, 0), fzCreateOf(s, 0), fzCreateOf(s, 1), fzCreateOf(s, 2)}
			},
			"creates web-0 twice"},
		{"a create outside the range",
			func() *snapshot { return fzHand(web().Parallel().Obj(), false) },
			func(s *snapshot) []action {
				return []action{fzCreateOf(s, 0), fzCreateOf(s, 1), fzCreateOf(s, 2), fzCreateOf(s, 3)}
			},
			"creates web-3, outside the set's ordinals [0, 3)"},
		{"a create of a pod that exists",
			func() *snapshot { return fzHand(web().Obj(), false).fzWithPods("", "terminating", 0) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 0)} },
			"creates web-0, which exists"},
		{"an OrderedReady create above an unready pod",
			func() *snapshot { return fzHand(web().Obj(), false).fzWithPods("", "unready", 0) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 1)} },
			"OrderedReady creates web-1 while a lower ordinal"},
		{"an OrderedReady create above a missing pod",
			func() *snapshot { return fzHand(web().Obj(), false) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 1)} },
			"web-0 is missing"},
		{"an OrderedReady create above a pod not yet available",
			func() *snapshot { return fzHand(web().MinReady(30).Obj(), false).fzWithPods("", "young", 0) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 1)} },
			"OrderedReady creates web-1 while a lower ordinal"},
		{"two OrderedReady creates",
			func() *snapshot { return fzHand(web().Obj(), false).fzWithPods("", "ready", 0) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 1), fzCreateOf(s, 2)} },
			"OrderedReady creates 2 pods"},
		{"a delete while a create is pending",
			func() *snapshot { return fzHand(web().Obj(), false).fzWithPods("", "ready", 0, 1, 5) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 2), fzDeleteOf(s, "web-5")} },
			"while a create is pending"},
		{"a delete of a pod not in the snapshot",
			func() *snapshot { return fzHand(web().Obj(), false).fzWithPods("", "ready", 0, 1, 2) },
			func(s *snapshot) []action {
				ghost := newPod(s.set, s.updateTemplate, s.update.Name, 7)
				return []action{{kind: deletePod, pod: ghost}}
			},
			"delete of pod web-7"},
		{"a delete of a newer pod of the same name",
			func() *snapshot { return fzHand(web().Obj(), false).fzWithPods("", "ready", 0, 1, 2, 3) },
			func(s *snapshot) []action {
				newer := s.fzPodNamed("web-3").DeepCopy()
				newer.UID = "newer"
				return []action{{kind: deletePod, pod: newer}}
			},
			`delete of pod web-3 (uid "newer"), which is not in the snapshot`},
		{"a pod deleted twice",
			func() *snapshot { return fzHand(web().Parallel().Obj(), false).fzWithPods("", "ready", 0, 1, 2, 3) },
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-3"), fzDeleteOf(s, "web-3")} },
			"deletes web-3 twice"},
		{"two OrderedReady scale-downs",
			func() *snapshot { return fzHand(web().Replicas(1).Obj(), false).fzWithPods("", "ready", 0, 1, 2) },
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-2"), fzDeleteOf(s, "web-1")} },
			"OrderedReady scales down 2 pods"},
		{"an OrderedReady scale-down below a higher condemned pod",
			func() *snapshot { return fzHand(web().Replicas(1).Obj(), false).fzWithPods("", "ready", 0, 1, 2) },
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-1")} },
			"scales down web-1 before the higher web-2"},
		{"an OrderedReady scale-down above an unhealthy pod",
			func() *snapshot {
				return fzHand(web().Replicas(2).Obj(), false).fzWithPods("", "ready", 0, 2).fzWithPods("", "unready", 1)
			},
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-2")} },
			"OrderedReady scales down web-2 while 1 of the 2 ordinals are healthy"},
		{"an update delete of a pod at the update revision",
			func() *snapshot { return fzHand(web().Obj(), true).fzWithPods("", "ready", 0, 1, 2) },
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-2")} },
			"though it is at the update revision"},
		{"an update delete under OnDelete",
			func() *snapshot {
				s := fzHand(onDelete(web().Obj()), true)
				return s.fzWithPods(s.current.Name, "ready", 0, 1, 2)
			},
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-2")} },
			"under OnDelete"},
		{"an update delete below the partition",
			func() *snapshot {
				s := fzHand(withPartition(web().Obj(), 2), true)
				return s.fzWithPods(s.current.Name, "ready", 0, 1).fzWithPods("", "ready", 2)
			},
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-1")} },
			"below the partition"},
		{"update deletes past maxUnavailable",
			func() *snapshot {
				s := fzHand(web().Obj(), true)
				return s.fzWithPods(s.current.Name, "ready", 0, 1, 2)
			},
			func(s *snapshot) []action { return []action{fzDeleteOf(s, "web-2"), fzDeleteOf(s, "web-1")} },
			"deletes 2 available pods for the update with 0 of 3 unavailable and maxUnavailable 1"},
		{"a create at the wrong revision",
			func() *snapshot { return fzHand(web().Parallel().Obj(), true) },
			func(s *snapshot) []action {
				a := []action{fzCreateOf(s, 0), fzCreateOf(s, 1), fzCreateOf(s, 2)}
				a[1].pod = newPod(s.set, s.currentTemplate, s.current.Name, 1)
				return a
			},
			`created web-1 at revision "` /* want the update revision */},
		{"a create made from the other revision's template",
			func() *snapshot { return fzHand(web().Obj(), true) },
			func(s *snapshot) []action {
				a := fzCreateOf(s, 0)
				a.pod = newPod(s.set, s.currentTemplate, s.update.Name, 0)
				return []action{a}
			},
			"is not made from the template of its revision"},
		{"a create without its claim volume",
			func() *snapshot { return fzHand(web().Claims("data").Obj(), false) },
			func(s *snapshot) []action {
				a := fzCreateOf(s, 0)
				a.pod.Spec.Volumes = nil
				return []action{a}
			},
			"has 0 volumes named data"},
		{"a create without its missing claims",
			func() *snapshot { return fzHand(web().Claims("data", "logs").Obj(), false) },
			func(s *snapshot) []action {
				a := fzCreateOf(s, 0)
				a.claims = a.claims[:1]
				return []action{a}
			},
			"creates web-0 without its missing claim logs-web-0"},
		{"a create of a claim that exists",
			func() *snapshot { return fzHand(web().Claims("data").Obj(), false).fzWithClaims(0) },
			func(s *snapshot) []action {
				a := fzCreateOf(s, 0)
				a.claims = []*corev1.PersistentVolumeClaim{newClaims(s.set, 0)["data-web-0"]}
				return []action{a}
			},
			"creates claim data-web-0 for web-0, which exists"},
		{"a create on a terminating claim",
			func() *snapshot {
				s := fzHand(web().Claims("data").Obj(), false).fzWithClaims(0)
				s.claim("data-web-0").DeletionTimestamp = &metav1.Time{Time: fzNow}
				return s
			},
			func(s *snapshot) []action {
				a := fzCreateOf(s, 0)
				a.claims = nil
				return []action{a}
			},
			"on claim data-web-0, which is terminating"},
		{"more creates than one pass may make",
			func() *snapshot { return fzHand(newSet("web").Replicas(maxCreatesPerPass+1).Parallel().Obj(), false) },
			func(s *snapshot) []action {
				var a []action
				for ord := range maxCreatesPerPass + 1 {
					a = append(a, fzCreateOf(s, ord))
				}
				return a
			},
			"creates 501 pods in one pass"},
		{"a Parallel pass that leaves a pod uncreated",
			func() *snapshot { return fzHand(web().Parallel().Obj(), false) },
			func(s *snapshot) []action { return []action{fzCreateOf(s, 0), fzCreateOf(s, 2)} },
			"Parallel leaves web-1 uncreated"},
		{"a pod update beyond its identity labels",
			func() *snapshot {
				s := fzHand(web().Obj(), false).fzWithPods("", "ready", 0, 1, 2)
				s.fzPodNamed("web-1").Labels[LabelPodIndex] = "7"
				return s
			},
			func(s *snapshot) []action {
				fixed := s.fzPodNamed("web-1").DeepCopy()
				updateIdentity(s.set, fixed)
				fixed.Spec.Containers[0].Image = "other"
				return []action{{kind: updatePod, pod: fixed}}
			},
			"updates web-1 beyond its identity labels"},
		{"a claim update beyond its owners",
			func() *snapshot {
				return fzHand(deleteRetention(web().Claims("data").Obj()), false).fzWithPods("", "ready", 0, 1, 2).fzWithClaims(0, 1, 2)
			},
			func(s *snapshot) []action {
				fixed := s.claim("data-web-2").DeepCopy()
				fixed.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(s.set, miniStatefulSetKind)}
				fixed.Spec.StorageClassName = ptr("other")
				return []action{{kind: updateClaim, pod: s.fzPodNamed("web-2"), claims: []*corev1.PersistentVolumeClaim{fixed}}}
			},
			"updates claim data-web-2 in more than its ownerReferences"},
		{"a claim owner the policy does not ask for",
			func() *snapshot {
				return fzHand(web().Claims("data").Obj(), false).fzWithPods("", "ready", 0, 1, 2).fzWithClaims(0, 1, 2)
			},
			func(s *snapshot) []action {
				fixed := s.claim("data-web-2").DeepCopy()
				fixed.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(s.set, miniStatefulSetKind)}
				return []action{{kind: updateClaim, pod: s.fzPodNamed("web-2"), claims: []*corev1.PersistentVolumeClaim{fixed}}}
			},
			"which its retention policy"},
		{"an update of another pod's claim",
			func() *snapshot {
				return fzHand(deleteRetention(web().Claims("data").Obj()), false).fzWithPods("", "ready", 0, 1, 2).fzWithClaims(0, 1, 2)
			},
			func(s *snapshot) []action {
				fixed := s.claim("data-web-2").DeepCopy()
				fixed.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(s.set, miniStatefulSetKind)}
				return []action{{kind: updateClaim, pod: s.fzPodNamed("web-1"), claims: []*corev1.PersistentVolumeClaim{fixed}}}
			},
			"updates claim data-web-2, which is not a claim of web-1"},
		{"a write of an unknown kind, such as a claim delete",
			func() *snapshot {
				return fzHand(web().Claims("data").Obj(), false).fzWithPods("", "ready", 0, 1, 2).fzWithClaims(0, 1, 2)
			},
			func(s *snapshot) []action { return []action{{kind: actionKind(99), pod: s.fzPodNamed("web-2")}} },
			"has kind 99"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.snap()
			require.Empty(t, checkPlan(s, decide(s)), "decide's own plan for this snapshot is clean:\n%s", fzDescribe(s, nil, decide(s)))
			broken := plan{actions: tc.plan(s), parallel: isParallel(s.set)}
			v := checkPlan(s, broken)
			assert.True(t, fzAnyContains(v, tc.want), "checkPlan must report %q, got %q", tc.want, v)
		})
	}
}

func fzAnyContains(violations []string, want string) bool {
	for _, v := range violations {
		if strings.Contains(v, want) {
			return true
		}
	}
	return false
}
