package trace

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// History is the set's story as the API tells it when no watch was running: the
// set's creation, each existing pod's creation, scheduling, readiness, failure and
// termination from its timestamps and conditions, and the Events about the set,
// which also name the pods that are gone. The API keeps these times to the second,
// so every record is inexact.
func History(ctx context.Context, clients workload.Clients, set *workload.Set) ([]Record, error) {
	pods, err := clients.Pods(ctx, set)
	if err != nil {
		return nil, err
	}
	events, err := clients.Events(ctx, set)
	if err != nil {
		return nil, err
	}
	return HistoryOf(set, pods, events), nil
}

// HistoryOf is History from pods and events already read, sorted by time.
func HistoryOf(set *workload.Set, pods []corev1.Pod, events []corev1.Event) []Record {
	var out []Record
	if !set.CreationTimestamp.IsZero() {
		detail := ""
		if set.Generation > 1 {
			detail = fmt.Sprintf("its spec has changed since (generation %d)", set.Generation)
		}
		out = append(out, Record{At: set.CreationTimestamp.Time, Step: Created, Detail: detail})
	}
	if set.DeletionTimestamp != nil {
		out = append(out, Record{At: set.DeletionTimestamp.Time, Step: Terminating})
	}
	for i := range pods {
		out = append(out, podHistory(&pods[i])...)
	}
	for i := range events {
		out = append(out, eventRecord(set, &events[i], false))
	}
	SortHistory(set.Name, out)
	return out
}

// podHistory reads back the steps one pod's timestamps and conditions still show.
func podHistory(pod *corev1.Pod) []Record {
	owner := ""
	if ref := metav1.GetControllerOf(pod); ref != nil {
		owner = ref.Kind
	}
	rec := func(at metav1.Time, step Step, detail string) Record {
		return Record{At: at.Time, Step: step, Pod: pod.Name, UID: pod.UID, Owner: owner, Detail: detail}
	}
	out := []Record{rec(pod.CreationTimestamp, Created, "")}
	if c := condition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionTrue && !c.LastTransitionTime.IsZero() {
		detail := ""
		if pod.Spec.NodeName != "" {
			detail = "on " + pod.Spec.NodeName
		}
		out = append(out, rec(c.LastTransitionTime, Scheduled, detail))
	}
	ready := condition(pod, corev1.PodReady)
	switch {
	case ready == nil || ready.LastTransitionTime.IsZero():
	case ready.Status == corev1.ConditionTrue:
		out = append(out, rec(ready.LastTransitionTime, Ready, ""))
	case pod.Status.Phase == corev1.PodRunning:
		// A Running pod that is not Ready holds an OrderedReady set up, whether or
		// not it ever was Ready; its condition cannot say which.
		out = append(out, rec(ready.LastTransitionTime, Unready, ready.Reason))
	}
	switch pod.Status.Phase {
	case corev1.PodFailed:
		out = append(out, rec(finishedAt(pod, ready), Failed, pod.Status.Reason))
	case corev1.PodSucceeded:
		out = append(out, rec(finishedAt(pod, ready), Succeeded, pod.Status.Reason))
	}
	if pod.DeletionTimestamp != nil {
		out = append(out, rec(terminatingSince(pod), Terminating, ""))
	}
	return out
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// finishedAt is when the pod's last container ended, or else when it stopped being
// Ready, which a kubelet writes at the same time.
func finishedAt(pod *corev1.Pod, ready *corev1.PodCondition) metav1.Time {
	var at metav1.Time
	for _, c := range pod.Status.ContainerStatuses {
		if t := c.State.Terminated; t != nil && at.Before(&t.FinishedAt) {
			at = t.FinishedAt
		}
	}
	if at.IsZero() && ready != nil {
		at = ready.LastTransitionTime
	}
	if at.IsZero() {
		at = pod.CreationTimestamp
	}
	return at
}

// terminatingSince is when the pod's deletion was asked for: the API server sets
// deletionTimestamp to that moment plus the grace period.
func terminatingSince(pod *corev1.Pod) metav1.Time {
	at := pod.DeletionTimestamp.Time
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		at = at.Add(-time.Duration(*g) * time.Second)
	}
	return metav1.NewTime(at)
}

// podInMessage finds the pod an event's message names, as both controllers write
// them ("create Pod web-1 in StatefulSet web successful", "create Claim data-web-1
// Pod web-1 in ...").
var podInMessage = regexp.MustCompile(`\bPod ([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\b`)

// eventRecord is an Event about the set as a record; exact is true for one a watch
// delivered as it happened.
func eventRecord(set *workload.Set, e *corev1.Event, exact bool) Record {
	detail := e.Reason + ": " + e.Message
	if e.Count > 1 && !exact {
		detail += fmt.Sprintf(" (%d times, first at %s)", e.Count, e.FirstTimestamp.Format("15:04:05"))
	}
	rec := Record{At: workload.EventTime(e).Time, Step: Event, Detail: detail, Exact: exact}
	if m := podInMessage.FindStringSubmatch(e.Message); m != nil {
		if _, ok := set.Ordinal(m[1]); ok {
			rec.Pod = m[1]
		}
	}
	return rec
}

// SortHistory orders records read back from the API. Their times are whole seconds,
// so within one second the true order is lost: records fall in the order the
// guarantees predict, the set's own first, then creations and readiness by rising
// ordinal, then deletions by falling ordinal, and each pod's steps in the order of
// a pod's life. The lines say these times are to the second.
func SortHistory(set string, records []Record) {
	sort.SliceStable(records, func(i, j int) bool {
		a, b := records[i], records[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		ka, kb := tieKey(set, a), tieKey(set, b)
		for n := range ka {
			if ka[n] != kb[n] {
				return ka[n] < kb[n]
			}
		}
		return false
	})
}

// tieKey orders records of the same second: [group, ordinal key, step rank].
func tieKey(set string, r Record) [3]int {
	if r.Pod == "" {
		return [3]int{0, 0, rank(r)}
	}
	ord, _ := workload.OrdinalOf(set, r.Pod)
	if isDeletion(r) {
		return [3]int{2, -ord, rank(r)}
	}
	return [3]int{1, ord, rank(r)}
}

func isDeletion(r Record) bool {
	switch r.Step {
	case Terminating, Gone:
		return true
	case Event:
		return strings.Contains(r.Detail, "Delete")
	}
	return false
}

// rank is a step's place in a pod's life; an event sits just after the step it
// reports.
func rank(r Record) int {
	order := []Step{Created, Scheduled, Ready, Unready, Failed, Succeeded, Restarted, Terminating, Gone, Spec}
	step := r.Step
	if step == Event {
		switch {
		case strings.Contains(r.Detail, "Create"):
			step = Created
		case strings.Contains(r.Detail, "Delete"):
			step = Terminating
		default:
			return 2*len(order) + 1
		}
		for i, s := range order {
			if s == step {
				return 2*i + 1
			}
		}
	}
	for i, s := range order {
		if s == step {
			return 2 * i
		}
	}
	return 2 * len(order)
}
