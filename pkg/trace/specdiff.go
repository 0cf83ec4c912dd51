package trace

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// restartedAtAnnotation is what `kubectl rollout restart` (and `kubectl msts
// rollout restart`) sets on the pod template.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// SpecChanges says in a few words what changed between two specs of a set, the
// fields a learner changes to see the ordering ("replicas 3 -> 5", "image redis:7 ->
// redis:7.2", "partition 0 -> 2"); any other change of the pod template is
// "template changed".
func SpecChanges(old, cur *appsv1.StatefulSetSpec) string {
	var out []string
	change := func(what string, a, b any) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %v -> %v", what, a, b))
		}
	}
	change("replicas", replicasOf(old), replicasOf(cur))
	change("podManagementPolicy", old.PodManagementPolicy, cur.PodManagementPolicy)
	change("updateStrategy", old.UpdateStrategy.Type, cur.UpdateStrategy.Type)
	change("partition", partitionOf(old), partitionOf(cur))
	change("maxUnavailable", maxUnavailableOf(old), maxUnavailableOf(cur))
	change("minReadySeconds", old.MinReadySeconds, cur.MinReadySeconds)
	change("ordinals.start", startOf(old), startOf(cur))
	change("revisionHistoryLimit", limitOf(old), limitOf(cur))
	change("retention", retentionOf(old), retentionOf(cur))
	out = append(out, templateChanges(&old.Template, &cur.Template)...)
	if !equality.Semantic.DeepEqual(old.VolumeClaimTemplates, cur.VolumeClaimTemplates) {
		out = append(out, "volumeClaimTemplates changed")
	}
	if len(out) == 0 {
		return "spec changed"
	}
	return strings.Join(out, ", ")
}

// templateChanges names image changes and a restart, and calls anything else in the
// template a template change.
func templateChanges(old, cur *corev1.PodTemplateSpec) []string {
	var out []string
	a, b := old.DeepCopy(), cur.DeepCopy()
	if len(a.Spec.Containers) == len(b.Spec.Containers) {
		for i := range a.Spec.Containers {
			ca, cb := &a.Spec.Containers[i], &b.Spec.Containers[i]
			if ca.Image == cb.Image {
				continue
			}
			what := "image"
			if len(a.Spec.Containers) > 1 {
				what = "image of " + cb.Name
			}
			out = append(out, fmt.Sprintf("%s %s -> %s", what, ca.Image, cb.Image))
			ca.Image = cb.Image
		}
	}
	if ra, rb := a.Annotations[restartedAtAnnotation], b.Annotations[restartedAtAnnotation]; ra != rb {
		out = append(out, "restart asked at "+rb)
		delete(a.Annotations, restartedAtAnnotation)
		delete(b.Annotations, restartedAtAnnotation)
		if len(a.Annotations) == 0 {
			a.Annotations = nil
		}
		if len(b.Annotations) == 0 {
			b.Annotations = nil
		}
	}
	if !equality.Semantic.DeepEqual(a, b) {
		out = append(out, "template changed")
	}
	return out
}

func replicasOf(s *appsv1.StatefulSetSpec) int32 {
	if s.Replicas == nil {
		return 1
	}
	return *s.Replicas
}

func partitionOf(s *appsv1.StatefulSetSpec) int32 {
	if ru := s.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		return *ru.Partition
	}
	return 0
}

func maxUnavailableOf(s *appsv1.StatefulSetSpec) string {
	if ru := s.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		return ru.MaxUnavailable.String()
	}
	return "1"
}

func startOf(s *appsv1.StatefulSetSpec) int32 {
	if s.Ordinals == nil {
		return 0
	}
	return s.Ordinals.Start
}

func limitOf(s *appsv1.StatefulSetSpec) int32 {
	if s.RevisionHistoryLimit == nil {
		return 10
	}
	return *s.RevisionHistoryLimit
}

func retentionOf(s *appsv1.StatefulSetSpec) string {
	p := s.PersistentVolumeClaimRetentionPolicy
	whenDeleted, whenScaled := appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if p != nil && p.WhenDeleted != "" {
		whenDeleted = p.WhenDeleted
	}
	if p != nil && p.WhenScaled != "" {
		whenScaled = p.WhenScaled
	}
	return fmt.Sprintf("whenDeleted=%s/whenScaled=%s", whenDeleted, whenScaled)
}
