package ministatefulset

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// fzDescribePod says in one line what decide sees of a pod.
func fzDescribePod(pod *corev1.Pod) string {
	state := string(pod.Status.Phase)
	if state == "" {
		state = "NoPhase"
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			state += fmt.Sprintf("+Ready=%s@%s", cond.Status, cond.LastTransitionTime.UTC().Format("15:04:05"))
		}
	}
	if pod.DeletionTimestamp != nil {
		state += "+Terminating"
	}
	return fmt.Sprintf("%s(%s rev=%q name=%q index=%q uid=%s)", pod.Name, state, pod.Labels[LabelRevision],
		pod.Labels[LabelPodName], pod.Labels[LabelPodIndex], pod.UID)
}

// fzDescribe says what a snapshot and a plan hold, for a failure message.
func fzDescribe(s *snapshot, claims map[string]*corev1.PersistentVolumeClaim, p plan) string {
	var b strings.Builder
	spec := s.set.Spec
	fmt.Fprintf(&b, "set %s: replicas=%v start=%v policy=%s strategy=%+v minReady=%d retention=%+v claims=%d\n",
		s.set.Name, fzDeref(spec.Replicas), fzDeref(spec.Ordinals), spec.PodManagementPolicy, fzStrategy(spec.UpdateStrategy),
		spec.MinReadySeconds, fzDeref(spec.PersistentVolumeClaimRetentionPolicy), len(spec.VolumeClaimTemplates))
	fmt.Fprintf(&b, "now %s, current %s, update %s\npods:\n", s.now.Format("15:04:05"), s.current.Name, s.update.Name)
	for _, pod := range s.pods {
		fmt.Fprintf(&b, "  %s\n", fzDescribePod(pod))
	}
	b.WriteString("claims:\n")
	for name, claim := range fzSortedClaims(claims) {
		fmt.Fprintf(&b, "  %s owners=%v terminating=%v\n", name, claim.OwnerReferences, claim.DeletionTimestamp != nil)
	}
	b.WriteString("plan:\n")
	for _, a := range p.actions {
		fmt.Fprintf(&b, "  %s %s (%s)", a.kind, a.pod.Name, a.why)
		for _, claim := range a.claims {
			fmt.Fprintf(&b, " %s", claim.Name)
		}
		b.WriteString("\n")
	}
	if p.wait != nil {
		fmt.Fprintf(&b, "  wait: %s\n", p.wait.message)
	}
	return b.String()
}

func fzDeref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func fzStrategy(st appsv1alpha1.StatefulSetUpdateStrategy) string {
	out := string(st.Type)
	if ru := st.RollingUpdate; ru != nil {
		out += fmt.Sprintf("{partition=%v maxUnavailable=%v}", fzDeref(ru.Partition), fzDeref(ru.MaxUnavailable))
	}
	return out
}
