package ministatefulset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// Explanation is what a pass over a set would wait for and do next, in the words of
// the Waiting condition.
type Explanation struct {
	// Reason is the Waiting condition's reason (WaitingForReady, Settled, ...).
	Reason string
	// Message says it for a learner: "waiting for web-1 to be Running and Ready
	// before creating web-2".
	Message string
	// Next lists the writes the pass would make, in order ("create web-2").
	Next []string
}

// Explain runs the decision function over a set without writing anything: the
// kubectl plugin uses it to say, for a built-in StatefulSet as for a MiniStatefulSet,
// what the ordering rules wait for. pods are the set's own pods, claims its
// namespace's claims by name, revisions those it controls.
func Explain(set *appsv1alpha1.MiniStatefulSet, pods []*corev1.Pod, claims map[string]*corev1.PersistentVolumeClaim,
	revisions []*appsv1.ControllerRevision, now time.Time) Explanation {
	if _, invalid := validateSpec(set); invalid != "" {
		return Explanation{Reason: WaitInvalidSpec, Message: "waiting for a valid spec: " + invalid}
	}
	var members []*corev1.Pod
	for _, pod := range pods {
		if isMemberOf(set, pod) {
			members = append(members, pod)
		}
	}
	revs := append([]*appsv1.ControllerRevision(nil), revisions...)
	rp, err := planRevisions(set, revs)
	if err != nil {
		return Explanation{Reason: WaitInvalidSpec, Message: err.Error()}
	}
	snap := &snapshot{set: set, pods: members, claim: claimsIn(claims), current: rp.current, update: rp.update, now: now}
	if snap.updateTemplate, err = templateOf(rp.update); err != nil {
		return Explanation{Reason: WaitInvalidSpec, Message: err.Error()}
	}
	if snap.currentTemplate, err = templateOf(rp.current); err != nil {
		return Explanation{Reason: WaitInvalidSpec, Message: err.Error()}
	}
	p := decide(snap)
	var st appsv1alpha1.MiniStatefulSetStatus
	waitingCondition(&st, set, p, members, now)
	ex := Explanation{}
	if c := findCondition(&st, appsv1alpha1.ConditionWaiting); c != nil {
		ex.Reason, ex.Message = c.Reason, c.Message
	}
	for _, a := range p.actions {
		ex.Next = append(ex.Next, a.kind.String()+" "+a.pod.Name)
	}
	return ex
}

// RevisionName is the name of the ControllerRevision of a set's template: the same
// data, hash and name apps/v1 computes for a StatefulSet of that template.
func RevisionName(set *appsv1alpha1.MiniStatefulSet) (string, error) {
	rev, err := newRevision(set, 0)
	if err != nil {
		return "", err
	}
	return rev.Name, nil
}

// RevisionData is what a ControllerRevision of the template holds, as apps/v1
// writes it.
func RevisionData(template *corev1.PodTemplateSpec) ([]byte, error) { return revisionData(template) }
