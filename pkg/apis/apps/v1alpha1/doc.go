// Package v1alpha1 holds the MiniStatefulSet API: the apps/v1 StatefulSet spec and
// status, field for field, served under apps.ministatefulset.dev/v1alpha1 so that a
// StatefulSet manifest becomes a MiniStatefulSet by changing apiVersion and kind only.
//
// +k8s:deepcopy-gen=package
// +groupName=apps.ministatefulset.dev
package v1alpha1
