package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseOrdinal(t *testing.T) {
	cases := []struct {
		set, pod string
		want     int
		ok       bool
	}{
		{"web", "web-0", 0, true},
		{"web", "web-12", 12, true},
		{"web", "web-01", 0, false},
		{"web", "web--1", 0, false},
		{"web", "web-1-2", 0, false},
		{"web-1", "web-1-2", 2, true},
		{"web", "web-", 0, false},
		{"web", "web", 0, false},
		{"web", "web-a", 0, false},
		{"web", "web-a-0", 0, false},
		{"web-a", "web-a-0", 0, true},
		{"web-a", "web-0", 0, false},
		{"web", "webx-0", 0, false},
		{"web", "web-+1", 0, false},
		{"web", "web-1e3", 0, false},
		{"web", "web-2147483647", 2147483647, true},
		{"web", "web-2147483648", 0, false},
		{"web", "web-99999999999999999999", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseOrdinal(tc.set, tc.pod)
		assert.Equal(t, tc.ok, ok, "%s in set %s", tc.pod, tc.set)
		assert.Equal(t, tc.want, got, "%s in set %s", tc.pod, tc.set)
	}
}

func TestSharedPrefixSetsDoNotShareMembers(t *testing.T) {
	web, webA := newSet("web").Obj(), newSet("web-a").Obj()
	podOfWebA := newPod(webA, &webA.Spec.Template, "r", 0)
	assert.False(t, isMemberOf(web, podOfWebA), "web-a-0 is not pod 'a-0' of web")
	assert.True(t, isMemberOf(webA, podOfWebA))
	podOfWeb := newPod(web, &web.Spec.Template, "r", 3)
	assert.False(t, isMemberOf(webA, podOfWeb))
}

func TestNewPodIdentityAndStorage(t *testing.T) {
	set := newSet("db").Claims("data").Volume("scratch").Obj()
	set.Spec.Template.Annotations = map[string]string{"note": "kept"}
	// A template volume named like a claim template, of the claim kind, is replaced.
	set.Spec.Template.Spec.Volumes = append(set.Spec.Template.Spec.Volumes, corev1.Volume{Name: "data",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "elsewhere"}}})
	pod := newPod(set, &set.Spec.Template, "db-abc", 4)

	assert.Equal(t, "db-4", pod.Name)
	assert.Equal(t, map[string]string{"app": "db", LabelPodName: "db-4", LabelPodIndex: "4", LabelRevision: "db-abc"}, pod.Labels)
	assert.Equal(t, map[string]string{"note": "kept"}, pod.Annotations)
	assert.Equal(t, "db-4", pod.Spec.Hostname)
	assert.Equal(t, "db", pod.Spec.Subdomain)
	require.Len(t, pod.OwnerReferences, 1)
	ref := pod.OwnerReferences[0]
	assert.Equal(t, "apps.ministatefulset.dev/v1alpha1", ref.APIVersion)
	assert.Equal(t, "MiniStatefulSet", ref.Kind)
	assert.True(t, *ref.Controller)
	assert.True(t, *ref.BlockOwnerDeletion)
	require.Len(t, pod.Spec.Volumes, 2)
	assert.Equal(t, "data", pod.Spec.Volumes[0].Name)
	assert.Equal(t, "data-db-4", pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName)
	assert.Equal(t, "scratch", pod.Spec.Volumes[1].Name)
	assert.True(t, identityMatches(set, pod))
	assert.Empty(t, set.Spec.Template.Labels[LabelPodName], "the template is not mutated")

	pod.Labels[LabelPodIndex] = "5"
	assert.False(t, identityMatches(set, pod))
	updateIdentity(set, pod)
	assert.True(t, identityMatches(set, pod))
}

func TestNewClaims(t *testing.T) {
	set := newSet("db").Claims("data", "logs").Obj()
	set.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"tier": "gold"}
	claims := newClaims(set, 2)
	require.Len(t, claims, 2)
	data := claims["data-db-2"]
	require.NotNil(t, data)
	assert.Equal(t, map[string]string{"tier": "gold", "app": "db"}, data.Labels, "template labels plus the selector's")
	assert.Equal(t, ns, data.Namespace)
	assert.Empty(t, data.OwnerReferences, "Retain: no owner, the garbage collector never takes a claim")
	assert.Equal(t, map[string]string{"app": "db"}, claims["logs-db-2"].Labels)
	assert.Nil(t, set.Spec.VolumeClaimTemplates[1].Labels, "the template is not mutated")
}

func TestValidateSpec(t *testing.T) {
	cases := []struct {
		name string
		mut  func(b *setBuilder)
		want string
	}{
		{"valid", func(b *setBuilder) {}, ""},
		{"no selector", func(b *setBuilder) { b.set.Spec.Selector = nil }, "spec.selector is required"},
		{"empty selector", func(b *setBuilder) { b.set.Spec.Selector = &metav1.LabelSelector{} }, "would match every pod"},
		{"bad operator", func(b *setBuilder) {
			b.set.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
		}, "spec.selector is invalid"},
		{"selector matches nothing the template makes", func(b *setBuilder) { b.Selector(map[string]string{"app": "other"}) }, "does not match the labels of spec.template"},
		{"expression selector that matches", func(b *setBuilder) {
			b.set.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "x"}}}}
		}, ""},
		{"claim collides with emptyDir", func(b *setBuilder) { b.Claims("data").Volume("data") }, `volumeClaimTemplate "data" has the name of a volume of another kind`},
		{"claim and other volume", func(b *setBuilder) { b.Claims("data").Volume("cache") }, ""},
		{"claim named twice", func(b *setBuilder) { b.Claims("data", "data") }, `names "data" twice`},
		{"claim without name", func(b *setBuilder) { b.Claims("") }, "no metadata.name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newSet("web")
			tc.mut(b)
			sel, msg := validateSpec(b.Obj())
			if tc.want == "" {
				assert.Empty(t, msg)
				assert.NotNil(t, sel)
				return
			}
			assert.Contains(t, msg, tc.want)
			assert.Nil(t, sel)
		})
	}
}

func TestHealthPredicates(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)
	readySince := func(phase corev1.PodPhase, ready corev1.ConditionStatus, since time.Time) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready, LastTransitionTime: metav1.NewTime(since)}}}}
	}
	ready := readySince(corev1.PodRunning, corev1.ConditionTrue, now.Add(-10*time.Second))
	assert.True(t, isRunningAndReady(ready))
	assert.True(t, isHealthy(ready))
	assert.True(t, isAvailable(ready, 0, now))
	assert.True(t, isAvailable(ready, 10, now))
	assert.False(t, isAvailable(ready, 11, now))
	assert.Equal(t, time.Second, availableIn(ready, 11, now))

	assert.False(t, isRunningAndReady(readySince(corev1.PodPending, corev1.ConditionTrue, now)), "Ready but not Running")
	assert.False(t, isRunningAndReady(readySince(corev1.PodRunning, corev1.ConditionFalse, now)))
	assert.False(t, isRunningAndReady(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}), "no Ready condition")
	assert.Negative(t, availableIn(readySince(corev1.PodRunning, corev1.ConditionFalse, now), 0, now))

	terminating := ready.DeepCopy()
	terminating.DeletionTimestamp = &metav1.Time{Time: now}
	assert.True(t, isRunningAndReady(terminating))
	assert.False(t, isHealthy(terminating), "a terminating pod is not healthy")
}
