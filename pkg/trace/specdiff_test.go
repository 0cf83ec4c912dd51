package trace

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestSpecChangesSaysWhatChangedInWords(t *testing.T) {
	base := newSet(workload.MiniStatefulSet, "web", 3).Spec
	cases := map[string]struct {
		change func(*appsv1.StatefulSetSpec)
		want   string
	}{
		"scale": {func(s *appsv1.StatefulSetSpec) { s.Replicas = ptr(int32(5)) }, "replicas 3 -> 5"},
		"image": {func(s *appsv1.StatefulSetSpec) { s.Template.Spec.Containers[0].Image = "redis:7.2" }, "image redis:7 -> redis:7.2"},
		"canary": {func(s *appsv1.StatefulSetSpec) {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(2))}
		}, "partition 0 -> 2"},
		"maxUnavailable": {func(s *appsv1.StatefulSetSpec) {
			mu := intstr.FromString("50%")
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &mu}
		}, "maxUnavailable 1 -> 50%"},
		"onDelete": {func(s *appsv1.StatefulSetSpec) { s.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType }, "updateStrategy  -> OnDelete"},
		"env": {func(s *appsv1.StatefulSetSpec) {
			s.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
		}, "template changed"},
		"image and env": {func(s *appsv1.StatefulSetSpec) {
			s.Template.Spec.Containers[0].Image = "redis:8"
			s.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
		}, "image redis:7 -> redis:8, template changed"},
		"restart": {func(s *appsv1.StatefulSetSpec) {
			s.Template.Annotations = map[string]string{restartedAtAnnotation: "2026-03-01T10:00:00Z"}
		}, "restart asked at 2026-03-01T10:00:00Z"},
		"scale and minReady": {func(s *appsv1.StatefulSetSpec) { s.Replicas, s.MinReadySeconds = ptr(int32(1)), 10 }, "replicas 3 -> 1, minReadySeconds 0 -> 10"},
		"nothing we name":    {func(s *appsv1.StatefulSetSpec) {}, "spec changed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cur := base.DeepCopy()
			tc.change(cur)
			assert.Equal(t, tc.want, SpecChanges(&base, cur))
		})
	}
}
