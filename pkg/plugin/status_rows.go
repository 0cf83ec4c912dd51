package plugin

import (
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// ordinalRows lists the set's pods by ordinal, the lowest few ordinals it owns that
// have no pod, and pods outside its ordinals. It costs what exists plus a few rows,
// never one row per replica of a huge set.
func ordinalRows(set *workload.Set, pods []corev1.Pod, claims map[string]*corev1.PersistentVolumeClaim, now time.Time) ([]OrdinalRow, int) {
	start, end := set.Start(), set.End()
	reserved := set.Beyond.Reserved
	var rows []OrdinalRow
	has := map[int]bool{}
	owned := 0
	for i := range pods {
		ord, ok := set.Ordinal(pods[i].Name)
		if !ok {
			continue
		}
		has[ord] = true
		row := podRow(set, ord, &pods[i], claims, now)
		switch {
		case ord >= start && ord < end && reserved.Has(ord):
			row.Note = joinNote(row.Note, "condemned: reserved (spec.reserveOrdinals)")
		case ord < start || ord >= end:
			row.Note = joinNote(row.Note, fmt.Sprintf("condemned: outside ordinals [%d, %d)", start, end))
		default:
			owned++
		}
		rows = append(rows, row)
	}
	listed := 0
	for ord := reserved.Next(start); ord < end && listed < maxMissingRows; ord = reserved.Next(ord + 1) {
		if !has[ord] {
			rows = append(rows, OrdinalRow{Ordinal: ord, Pod: set.PodName(ord), Claims: claimsOf(set, ord, claims)})
			listed++
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Ordinal < rows[j].Ordinal })
	return rows, set.Replicas() - owned - listed
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func podRow(set *workload.Set, ord int, pod *corev1.Pod, claims map[string]*corev1.PersistentVolumeClaim, now time.Time) OrdinalRow {
	row := OrdinalRow{
		Ordinal: ord, Pod: pod.Name, Exists: true, Phase: phaseOf(pod), Ready: trace.IsReady(pod),
		Available: isAvailable(pod, set.Spec.MinReadySeconds, now), Revision: pod.Labels[appsv1.ControllerRevisionHashLabelKey],
		Claims: claimsOf(set, ord, claims), Age: duration.HumanDuration(now.Sub(pod.CreationTimestamp.Time)),
	}
	for _, cs := range pod.Status.ContainerStatuses {
		row.Restarts += cs.RestartCount
	}
	switch row.Revision {
	case set.Status.UpdateRevision:
		row.Which = "update"
		if set.Status.CurrentRevision == row.Revision {
			row.Which = "current=update"
		}
	case set.Status.CurrentRevision:
		row.Which = "current"
	default:
		row.Which = "other"
	}
	if ref := metav1.GetControllerOf(pod); ref == nil {
		row.Note = "no controller owns it"
	} else if ref.UID != set.UID {
		row.Note = fmt.Sprintf("controlled by %s %s, not this set", ref.Kind, ref.Name)
	}
	return row
}

// phaseOf is the pod's phase as kubectl shows it: Terminating once deleted.
func phaseOf(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "Terminating"
	}
	return string(pod.Status.Phase)
}

// isAvailable reports a pod Ready for at least minReadySeconds.
func isAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if !trace.IsReady(pod) || pod.DeletionTimestamp != nil {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return !c.LastTransitionTime.IsZero() && now.Sub(c.LastTransitionTime.Time) >= time.Duration(minReadySeconds)*time.Second
		}
	}
	return false
}

func claimsOf(set *workload.Set, ord int, claims map[string]*corev1.PersistentVolumeClaim) []ClaimInfo {
	var out []ClaimInfo
	for _, t := range set.Spec.VolumeClaimTemplates {
		name := set.ClaimName(t.Name, ord)
		info := ClaimInfo{Name: name, Phase: "none"}
		if c := claims[name]; c != nil {
			info.Phase, info.Volume = string(c.Status.Phase), c.Spec.VolumeName
			if c.DeletionTimestamp != nil {
				info.Phase = "Terminating"
			}
		}
		out = append(out, info)
	}
	return out
}
