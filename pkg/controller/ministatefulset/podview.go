package ministatefulset

import (
	corev1 "k8s.io/api/core/v1"
)

// podView is the pod informer's transform: the cache keeps of a pod what the
// controller reads (its metadata, hostname, subdomain and node, its claim volumes,
// its phase and conditions) and drops the rest: containers, their statuses, the
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
			Conditions: pod.Status.Conditions,
		},
	}
	view.ManagedFields = nil
	return view, nil
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
