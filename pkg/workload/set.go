package workload

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/ordinals"
)

// Set is either kind of set, its spec and status in apps/v1 terms (MiniStatefulSet
// carries the same field names, so nothing is lost between them).
type Set struct {
	Kind Kind
	metav1.ObjectMeta
	Spec   appsv1.StatefulSetSpec
	Status appsv1.StatefulSetStatus
	// Waiting is the MiniStatefulSet's Waiting condition, in the controller's words;
	// nil for a StatefulSet, which has none.
	Waiting *appsv1.StatefulSetCondition
	// Beyond holds a MiniStatefulSet's fields that apps/v1 has no room for (zero for
	// a StatefulSet).
	Beyond Beyond
}

// Beyond is what a MiniStatefulSet's spec and status carry beyond apps/v1.
type Beyond struct {
	// Reserved is spec.reserveOrdinals (nothing for one that does not parse: the
	// controller reports that spec as invalid).
	Reserved ordinals.Reserved
	// UnhealthyPodReplacement is spec.updateStrategy.rollingUpdate's ("" when unset).
	UnhealthyPodReplacement string
	// ClaimStorage is status.claimStorage: claims growing to a raised template request.
	ClaimStorage *appsv1alpha1.ClaimStorageStatus
}

// Fields names the fields beyond apps/v1 the set uses, as spec paths.
func (b Beyond) Fields() []string {
	var out []string
	if !b.Reserved.Empty() {
		out = append(out, "spec.reserveOrdinals")
	}
	if b.UnhealthyPodReplacement != "" && b.UnhealthyPodReplacement != string(appsv1alpha1.NeverReplaceUnhealthyPods) {
		out = append(out, "spec.updateStrategy.rollingUpdate.unhealthyPodReplacement")
	}
	return out
}

// Ref names the set.
func (s *Set) Ref() Ref { return Ref{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name} }

// Replicas is spec.replicas, 1 when unset as apps/v1 defaults it.
func (s *Set) Replicas() int {
	if s.Spec.Replicas == nil {
		return 1
	}
	return int(*s.Spec.Replicas)
}

// Start is the first ordinal (spec.ordinals.start).
func (s *Set) Start() int {
	if s.Spec.Ordinals == nil {
		return 0
	}
	return int(s.Spec.Ordinals.Start)
}

// Parallel reports podManagementPolicy Parallel.
func (s *Set) Parallel() bool { return s.Spec.PodManagementPolicy == appsv1.ParallelPodManagement }

// OnDelete reports the OnDelete update strategy.
func (s *Set) OnDelete() bool {
	return s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType
}

// Partition is rollingUpdate.partition (0 when unset).
func (s *Set) Partition() int {
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		return int(*ru.Partition)
	}
	return 0
}

// End is one past the highest ordinal the set's pods take.
func (s *Set) End() int { return s.Beyond.Reserved.End(s.Start(), s.Replicas()) }

// InUse reports whether the set puts a pod at ord: one of the lowest Replicas
// ordinals from Start that are not reserved.
func (s *Set) InUse(ord int) bool {
	return ord >= s.Start() && ord < s.End() && !s.Beyond.Reserved.Has(ord)
}

// PodName is the name of the pod at an ordinal.
func (s *Set) PodName(ordinal int) string { return s.Name + "-" + strconv.Itoa(ordinal) }

// Ordinal reads the ordinal of one of the set's pod names.
func (s *Set) Ordinal(podName string) (int, bool) { return OrdinalOf(s.Name, podName) }

// OrdinalOf reads the ordinal of a pod name <set>-<ordinal>; only the canonical
// decimal form counts, as the controllers read it.
func OrdinalOf(setName, podName string) (int, bool) {
	rest, ok := strings.CutPrefix(podName, setName+"-")
	if !ok || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != rest {
		return 0, false
	}
	return int(n), true
}

// ClaimName is the claim of an ordinal from the named claim template.
func (s *Set) ClaimName(template string, ordinal int) string {
	return template + "-" + s.PodName(ordinal)
}

// FromMiniStatefulSet views a MiniStatefulSet as a Set.
func FromMiniStatefulSet(m *appsv1alpha1.MiniStatefulSet) (*Set, error) {
	s := &Set{Kind: MiniStatefulSet, ObjectMeta: *m.ObjectMeta.DeepCopy()}
	if err := appsv1alpha1.Recode(m.Spec, &s.Spec); err != nil {
		return nil, fmt.Errorf("reading the spec of msts/%s: %w", m.Name, err)
	}
	if err := appsv1alpha1.Recode(m.Status, &s.Status); err != nil {
		return nil, fmt.Errorf("reading the status of msts/%s: %w", m.Name, err)
	}
	for i := range s.Status.Conditions {
		if c := s.Status.Conditions[i]; string(c.Type) == string(appsv1alpha1.ConditionWaiting) {
			s.Waiting = &c
		}
	}
	s.Beyond.Reserved, _ = ordinals.Parse(m.Spec.ReserveOrdinals)
	if ru := m.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		s.Beyond.UnhealthyPodReplacement = string(ru.UnhealthyPodReplacement)
	}
	s.Beyond.ClaimStorage = m.Status.ClaimStorage.DeepCopy()
	return s, nil
}

// FromStatefulSet views a StatefulSet as a Set.
func FromStatefulSet(sts *appsv1.StatefulSet) *Set {
	return &Set{Kind: StatefulSet, ObjectMeta: *sts.ObjectMeta.DeepCopy(), Spec: *sts.Spec.DeepCopy(), Status: *sts.Status.DeepCopy()}
}

// MiniStatefulSetSpec is the spec as a MiniStatefulSet's.
func (s *Set) MiniStatefulSetSpec() (appsv1alpha1.MiniStatefulSetSpec, error) {
	var spec appsv1alpha1.MiniStatefulSetSpec
	return spec, appsv1alpha1.Recode(s.Spec, &spec)
}
