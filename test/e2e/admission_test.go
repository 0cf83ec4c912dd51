//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// TestAdmissionRejectsBadSpecs proves that invalid specs are rejected by the API
// server itself with a message that says what is wrong, and that nothing is created.
func TestAdmissionRejectsBadSpecs(t *testing.T) {
	e := newEnv(t, "admission")
	cases := []struct {
		name string
		mut  func(*appsv1alpha1.MiniStatefulSet)
		want string
	}{
		{"negative replicas", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Replicas = ptr(int32(-1)) },
			"spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"},
		{"selector does not match the template", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
		}, "spec.selector.matchLabels must match spec.template.metadata.labels, and these do not: app=other"},
		{"selector expression does not match the template", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"bad"}}}}
		}, "spec.selector.matchExpressions do not match spec.template.metadata.labels"},
		{"empty selector", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			"spec.selector must not be empty"},
		{"name too long for pod names", func(s *appsv1alpha1.MiniStatefulSet) { s.Name = "bad" + strings.Repeat("x", 50) },
			"metadata.name must be at most 52 characters"},
		{"restartPolicy Never", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.RestartPolicy = "Never" },
			"spec.template.spec.restartPolicy must be Always"},
		{"unknown pod management policy", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.PodManagementPolicy = "Sometimes" },
			`spec.podManagementPolicy: Unsupported value: "Sometimes"`},
		{"rollingUpdate with OnDelete", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.OnDeleteStatefulSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}}
		}, "spec.updateStrategy.rollingUpdate is only allowed with type RollingUpdate"},
		{"maxUnavailable 0", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromInt32(0))}}
		}, "spec.updateStrategy.rollingUpdate.maxUnavailable must be greater than 0"},
		{"maxUnavailable 0%", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromString("0%"))}}
		}, "spec.updateStrategy.rollingUpdate.maxUnavailable must be greater than 0"},
		{"maxUnavailable 150%", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromString("150%"))}}
		}, "a percentage from 1% to 100%"},
		{"unknown retention value", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep"}
		}, `spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep"`},
		{"negative minReadySeconds", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.MinReadySeconds = -1 },
			"spec.minReadySeconds in body should be greater than or equal to 0"},
		{"negative start ordinal", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Ordinals = &appsv1alpha1.StatefulSetOrdinals{Start: -1}
		}, "spec.ordinals.start in body should be greater than or equal to 0"},
		{"negative partition", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(-1))}}
		}, "should be greater than or equal to 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := convert(t, e.ns, "bad", statefulSpec("bad", 2, nil, true))
			tc.mut(set)
			_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, set, metav1.CreateOptions{})
			require.Error(t, err, "the API server accepted it")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	list, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).List(e.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "nothing was created")
	assert.Empty(t, e.pods())

	// Immutable fields: a valid set, then updates the API server must refuse.
	e.createSet("redis", statefulSpec("redis", 0, nil, true))
	immutable := []struct {
		name string
		mut  func(*appsv1alpha1.MiniStatefulSet)
		want string
	}{
		{"selector", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector.MatchLabels["tier"] = "x"
			s.Spec.Template.Labels["tier"] = "x"
		}, "spec.selector is immutable"},
		{"serviceName", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.ServiceName = "other" }, "spec.serviceName is immutable"},
		{"volumeClaimTemplates", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.VolumeClaimTemplates[0].Name = "other" }, "spec.volumeClaimTemplates is immutable"},
		{"podManagementPolicy", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement }, "spec.podManagementPolicy is immutable"},
	}
	// update re-reads the set when the controller's status write got in between.
	update := func(mut func(*appsv1alpha1.MiniStatefulSet)) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "redis", metav1.GetOptions{})
			if err != nil {
				return err
			}
			mut(cur)
			_, err = msts.AppsV1alpha1().MiniStatefulSets(e.ns).Update(e.ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}
	for _, tc := range immutable {
		t.Run("immutable "+tc.name, func(t *testing.T) {
			err := update(tc.mut)
			require.Error(t, err, "the API server accepted a change of %s", tc.name)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("valid maxUnavailable and retention values pass", func(t *testing.T) {
		set := convert(t, e.ns, "good", statefulSpec("good", 0, nil, false))
		set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromString("50%")), Partition: ptr(int32(1))}
		set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Delete", WhenScaled: "Delete"}
		_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, set, metav1.CreateOptions{})
		require.NoError(t, err)
	})
	t.Run("mutable fields still change", func(t *testing.T) {
		require.NoError(t, update(func(cur *appsv1alpha1.MiniStatefulSet) {
			cur.Spec.Replicas = ptr(int32(1))
			cur.Spec.MinReadySeconds = 1
			cur.Spec.Template.Spec.Containers[0].Image = "redis:8"
		}))
	})
}
