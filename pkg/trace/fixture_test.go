package trace

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// t0 is the moment the fixtures' stories start.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(sec int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }

func newSet(kind workload.Kind, name string, replicas int32) *workload.Set {
	return &workload.Set{
		Kind:       kind,
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), Generation: 1, CreationTimestamp: at(0)},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis:7"}}}},
		},
	}
}

// podBuilder reads like the pod: newPod(set, 0).Created(1).Scheduled(1).Ready(2).Obj().
type podBuilder struct{ pod *corev1.Pod }

func newPod(set *workload.Set, ordinal int) *podBuilder {
	return &podBuilder{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: set.PodName(ordinal), Namespace: set.Namespace, UID: types.UID(set.PodName(ordinal) + "-uid"),
		OwnerReferences: []metav1.OwnerReference{{Kind: string(set.Kind), Name: set.Name, UID: set.UID, Controller: ptr(true)}},
	}, Status: corev1.PodStatus{Phase: corev1.PodPending}}}
}

func ptr[T any](v T) *T { return &v }

func (b *podBuilder) UID(u string) *podBuilder { b.pod.UID = types.UID(u); return b }

func (b *podBuilder) Created(sec int) *podBuilder { b.pod.CreationTimestamp = at(sec); return b }

func (b *podBuilder) Scheduled(sec int) *podBuilder {
	b.pod.Spec.NodeName = "node-1"
	return b.condition(corev1.PodScheduled, corev1.ConditionTrue, sec, "")
}

func (b *podBuilder) Running() *podBuilder { b.pod.Status.Phase = corev1.PodRunning; return b }

func (b *podBuilder) Ready(sec int) *podBuilder {
	return b.Running().condition(corev1.PodReady, corev1.ConditionTrue, sec, "")
}

func (b *podBuilder) Unready(sec int) *podBuilder {
	return b.Running().condition(corev1.PodReady, corev1.ConditionFalse, sec, "ContainersNotReady")
}

func (b *podBuilder) Failed(sec int) *podBuilder {
	b.pod.Status.Phase, b.pod.Status.Reason = corev1.PodFailed, "Evicted"
	return b.condition(corev1.PodReady, corev1.ConditionFalse, sec, "PodFailed")
}

// Terminating asks for the pod's deletion at sec with a grace period of grace seconds.
func (b *podBuilder) Terminating(sec int, grace int64) *podBuilder {
	ts := at(sec + int(grace))
	b.pod.DeletionTimestamp, b.pod.DeletionGracePeriodSeconds = &ts, &grace
	return b
}

func (b *podBuilder) condition(t corev1.PodConditionType, s corev1.ConditionStatus, sec int, reason string) *podBuilder {
	for i := range b.pod.Status.Conditions {
		if b.pod.Status.Conditions[i].Type == t {
			b.pod.Status.Conditions[i] = corev1.PodCondition{Type: t, Status: s, LastTransitionTime: at(sec), Reason: reason}
			return b
		}
	}
	b.pod.Status.Conditions = append(b.pod.Status.Conditions, corev1.PodCondition{Type: t, Status: s, LastTransitionTime: at(sec), Reason: reason})
	return b
}

func (b *podBuilder) Obj() *corev1.Pod { return b.pod.DeepCopy() }

// newEvent is an Event about the set, as both controllers write them.
func newEvent(set *workload.Set, reason, message string, sec int) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: set.Name + "." + reason + message, Namespace: set.Namespace, UID: types.UID(reason + message)},
		InvolvedObject: corev1.ObjectReference{Kind: string(set.Kind), Name: set.Name, Namespace: set.Namespace, UID: set.UID},
		Reason:         reason, Message: message, Count: 1, Type: corev1.EventTypeNormal,
		FirstTimestamp: at(sec), LastTimestamp: at(sec),
	}
}

// steps is "step pod" for each record, the set's own as "step set".
func steps(records []Record) []string {
	var out []string
	for _, r := range records {
		who := r.Pod
		if who == "" {
			who = "set"
		}
		out = append(out, string(r.Step)+" "+who)
	}
	return out
}
