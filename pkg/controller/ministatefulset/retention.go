package ministatefulset

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The persistentVolumeClaimRetentionPolicy works through ownerReferences and the
// garbage collector, as in apps/v1: whenDeleted=Delete makes the set the controller
// owner of a claim (so the claim goes with the set), whenScaled=Delete makes a
// condemned pod the controller owner of its claims (so they go with the pod).
// Retain/Retain leaves no reference of ours on a claim.

var podKind = corev1.SchemeGroupVersion.WithKind("Pod")

type retentionPolicy struct{ whenDeleted, whenScaled bool }

// retention reads the policy; unset or unknown values mean Retain.
func retention(set *appsv1alpha1.MiniStatefulSet) retentionPolicy {
	p := set.Spec.PersistentVolumeClaimRetentionPolicy
	if p == nil {
		return retentionPolicy{}
	}
	return retentionPolicy{
		whenDeleted: p.WhenDeleted == appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType,
		whenScaled:  p.WhenScaled == appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
}

func (r retentionPolicy) retainAll() bool { return !r.whenDeleted && !r.whenScaled }

// refersTo reports a reference to an object of this kind and name, whatever its UID.
func refersTo(ref *metav1.OwnerReference, name string, gvk schema.GroupVersionKind) bool {
	return ref.APIVersion == gvk.GroupVersion().String() && ref.Kind == gvk.Kind && ref.Name == name
}

// staleRef reports a reference to an earlier object of the same kind and name: a
// claim of a pod that was deleted, which the garbage collector is about to remove.
func staleRef(claim *corev1.PersistentVolumeClaim, name string, uid string, gvk schema.GroupVersionKind) bool {
	for i := range claim.OwnerReferences {
		if ref := &claim.OwnerReferences[i]; refersTo(ref, name, gvk) {
			return string(ref.UID) != uid
		}
	}
	return false
}

// foreignController reports a controller reference on the claim that is neither the
// set nor the pod (or is an earlier object of their names): someone else manages it.
func foreignController(claim *corev1.PersistentVolumeClaim, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) bool {
	for i := range claim.OwnerReferences {
		ref := &claim.OwnerReferences[i]
		switch {
		case refersTo(ref, set.Name, kindOf(set)):
			if ref.UID != set.UID {
				return true
			}
		case refersTo(ref, pod.Name, podKind):
			if ref.UID != pod.UID {
				return true
			}
		case ref.Controller != nil && *ref.Controller:
			return true
		}
	}
	return false
}

// claimRefs returns the ownerReferences a claim of pod should carry under the set's
// policy, and whether they differ from what it has. conflict says another controller
// owns the claim: then only our own references are taken off, nothing is added.
func claimRefs(set *appsv1alpha1.MiniStatefulSet, claim *corev1.PersistentVolumeClaim, pod *corev1.Pod, scaledDown bool) (refs []metav1.OwnerReference, changed, conflict bool) {
	policy := retention(set)
	if staleRef(claim, set.Name, string(set.UID), kindOf(set)) || staleRef(claim, pod.Name, string(pod.UID), podKind) {
		return claim.OwnerReferences, false, false
	}
	conflict = !policy.retainAll() && foreignController(claim, set, pod)
	for _, ref := range claim.OwnerReferences {
		if !refersTo(&ref, set.Name, kindOf(set)) && !refersTo(&ref, pod.Name, podKind) {
			refs = append(refs, ref)
		}
	}
	if !conflict {
		if policy.whenDeleted && !(policy.whenScaled && scaledDown) {
			refs = append(refs, *ownerRef(set))
		}
		if policy.whenScaled && scaledDown && pod.UID != "" {
			refs = append(refs, *metav1.NewControllerRef(pod, podKind))
		}
	}
	return refs, !sameRefs(refs, claim.OwnerReferences), conflict
}

// sameRefs compares references by UID and controller flag, ignoring order.
func sameRefs(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	controller := func(r metav1.OwnerReference) bool { return r.Controller != nil && *r.Controller }
	seen := make(map[string]bool, len(a))
	for _, r := range a {
		seen[string(r.UID)] = controller(r)
	}
	for _, r := range b {
		c, ok := seen[string(r.UID)]
		if !ok || c != controller(r) {
			return false
		}
	}
	return true
}
