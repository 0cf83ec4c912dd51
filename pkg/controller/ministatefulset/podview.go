package ministatefulset

import (
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podView is the pod informer's transform: the cache keeps of a pod what the
// controller reads (its metadata, hostname, subdomain and node, its claim volumes,
// its phase and Ready condition) and drops the rest: containers, their statuses, the
// defaults and projected volumes admission adds. Most of a pod's size is there, and
// with thousands of pods cached most of the controller's memory is pods.
//
// Nothing writes a cached pod back whole, so nothing can write a view: pods are
// created from the template, deleted by name and UID, and the two pod writes that
// start from a cached pod (owner references on adoption and release, the identity
// labels) are patches of those fields alone.
func podView(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return dropManagedFields(obj)
	}
	view := &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: pod.ObjectMeta,
		Spec: corev1.PodSpec{
			Hostname:  pod.Spec.Hostname,
			Subdomain: pod.Spec.Subdomain,
			NodeName:  pod.Spec.NodeName,
			Volumes:   claimVolumes(pod.Spec.Volumes),
		},
		Status: corev1.PodStatus{
			Phase:      pod.Status.Phase,
			Conditions: readyOnly(pod.Status.Conditions),
		},
	}
	view.ManagedFields = nil
	shareStrings(&view.ObjectMeta)
	return view, nil
}

// readyOnly is the Ready condition alone, the one the controller reads (readyCondition).
func readyOnly(conds []corev1.PodCondition) []corev1.PodCondition {
	for _, c := range conds {
		if c.Type == corev1.PodReady {
			c.Type, c.Status = corev1.PodReady, corev1.ConditionStatus(unique.Make(string(c.Status)).Value())
			return []corev1.PodCondition{c}
		}
	}
	return nil
}

// shareStrings makes the strings that repeat from pod to pod (the namespace, label
// and annotation keys, label values but the pod's own name, owner references' kinds,
// versions and names) one copy each for every pod: decoded, each pod holds its own.
func shareStrings(m *metav1.ObjectMeta) {
	m.Namespace = unique.Make(m.Namespace).Value()
	m.GenerateName = unique.Make(m.GenerateName).Value()
	if m.Labels != nil {
		labels := make(map[string]string, len(m.Labels))
		for k, v := range m.Labels {
			if v == m.Name {
				v = m.Name
			} else {
				v = unique.Make(v).Value()
			}
			labels[unique.Make(k).Value()] = v
		}
		m.Labels = labels
	}
	if m.Annotations != nil {
		annotations := make(map[string]string, len(m.Annotations))
		for k, v := range m.Annotations {
			annotations[unique.Make(k).Value()] = unique.Make(v).Value()
		}
		m.Annotations = annotations
	}
	for i := range m.OwnerReferences {
		r := &m.OwnerReferences[i]
		r.APIVersion, r.Kind, r.Name = unique.Make(r.APIVersion).Value(), unique.Make(r.Kind).Value(), unique.Make(r.Name).Value()
	}
}

// claimVolumes are the volumes that mount a claim, with only the claim's name.
func claimVolumes(volumes []corev1.Volume) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		out = append(out, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolumeClaim.ClaimName, ReadOnly: v.PersistentVolumeClaim.ReadOnly},
		}})
	}
	return out
}
