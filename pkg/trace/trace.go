// Package trace tells a set's story: each pod's creation, scheduling, readiness both
// ways, failure, restarts, termination and removal, with the set's spec changes and
// events. A Recorder records them from watches as they happen (to the millisecond);
// History reads them back from the API when no watch was running (to the second);
// Lines says them for a person, with what each creation or termination came after.
// The kubectl plugin's timeline and chart, the compare runner and the end-to-end
// tests all read pods through this one implementation.
package trace

import (
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Step is what happened to a pod or a set.
type Step string

// Pod steps, in the order of a pod's life, then the set's own.
const (
	Created     Step = "created"
	Scheduled   Step = "scheduled"
	Ready       Step = "ready"
	Unready     Step = "unready"
	Failed      Step = "failed"
	Succeeded   Step = "succeeded"
	Restarted   Step = "restarted"
	Terminating Step = "terminating"
	Gone        Step = "gone"
	// Spec is a change of the set's spec (a new generation).
	Spec Step = "spec"
	// Event is an Event about the set (SuccessfulCreate, ...).
	Event Step = "event"
)

// PodSteps are the steps of pods, the ones ordering guarantees speak of.
var PodSteps = []Step{Created, Scheduled, Ready, Unready, Failed, Succeeded, Restarted, Terminating, Gone}

// Record is one step seen.
type Record struct {
	At   time.Time `json:"at"`
	Step Step      `json:"step"`
	// Pod and UID name the pod; empty for the set's own steps.
	Pod string    `json:"pod,omitempty"`
	UID types.UID `json:"uid,omitempty"`
	// Owner is the Kind of the pod's controller when the step was seen.
	Owner string `json:"owner,omitempty"`
	// Detail says more: the event's reason and message, what changed in the spec.
	Detail string `json:"detail,omitempty"`
	// Exact is true for a step a watch saw as it happened (timed to the
	// millisecond), false for one read back from an API timestamp (whole seconds).
	Exact bool `json:"exact"`
}

func (r Record) String() string {
	s := fmt.Sprintf("%s %s", r.At.Format("15:04:05.000"), r.Step)
	if r.Pod != "" {
		s += " " + r.Pod
		if r.Owner != "" || r.UID != "" {
			s += fmt.Sprintf(" %s(%s)", r.Owner, ShortUID(r.UID))
		}
	}
	if r.Detail != "" {
		s += " " + r.Detail
	}
	return s
}

// ShortUID is the first 8 characters of a UID, enough to tell pods of one name apart.
func ShortUID(u types.UID) string {
	if len(u) > 8 {
		return string(u[:8])
	}
	return string(u)
}

// podState is what the recorder knows of one pod (one UID).
type podState struct {
	scheduled, ready, terminating, gone bool
	phase                               corev1.PodPhase
	restarts                            int32
}

// Recorder keeps the records of what its watches saw. It is safe for concurrent use.
type Recorder struct {
	mu            sync.Mutex
	records       []Record
	pods          map[types.UID]*podState
	watchRestarts int
	notified      int
	now           func() time.Time
	keep          func(*corev1.Pod) bool
	// quiet is set while a pod is taken as the starting state: what a first list
	// shows has a past the watch did not see, which History tells instead.
	quiet bool
	// updated hears of new records; buffered by one so a slow reader misses none
	// of the fact that something changed.
	updated chan struct{}
}

// NewRecorder records the pods keep accepts (nil: every pod).
func NewRecorder(keep func(*corev1.Pod) bool) *Recorder {
	return &Recorder{pods: map[types.UID]*podState{}, now: time.Now, keep: keep, updated: make(chan struct{}, 1)}
}

// SetClock makes the recorder time its records by now instead of the wall clock, so
// that a command whose clock a test fixes reads its live records on the same clock.
func (r *Recorder) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// addNow appends a record timed by the recorder's clock.
func (r *Recorder) addNow(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec.At = r.now()
	r.append(rec)
}

// Updated receives after records were added; read Records to see them.
func (r *Recorder) Updated() <-chan struct{} { return r.updated }

// Add appends a record as it is (for steps read back from the API, or the set's own).
func (r *Recorder) Add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.append(rec)
}

func (r *Recorder) append(rec Record) {
	r.records = append(r.records, rec)
	select {
	case r.updated <- struct{}{}:
	default:
	}
}

func (r *Recorder) add(step Step, pod *corev1.Pod, detail string) {
	if r.quiet {
		return
	}
	owner := ""
	if ref := metav1.GetControllerOf(pod); ref != nil {
		owner = ref.Kind
	}
	r.append(Record{At: r.now(), Step: step, Pod: pod.Name, UID: pod.UID, Owner: owner, Detail: detail, Exact: true})
}

// addSet records a step of the set itself, as a watch saw it.
func (r *Recorder) addSet(step Step, detail string) {
	r.addNow(Record{Step: step, Detail: detail, Exact: true})
}

// ObservePod records what changed in a pod a watch reported as added or updated.
func (r *Recorder) ObservePod(pod *corev1.Pod) { r.observe(pod, false) }

// knowPod takes a pod as the starting state without recording its past.
func (r *Recorder) knowPod(pod *corev1.Pod) { r.observe(pod, true) }

func (r *Recorder) observe(pod *corev1.Pod, quiet bool) {
	if r.keep != nil && !r.keep(pod) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.quiet = quiet
	defer func() { r.quiet = false }()
	r.notified++
	st, ok := r.pods[pod.UID]
	if !ok {
		st = &podState{phase: corev1.PodPending}
		r.pods[pod.UID] = st
		r.add(Created, pod, "")
	}
	if st.gone {
		return
	}
	if !st.scheduled && pod.Spec.NodeName != "" {
		st.scheduled = true
		r.add(Scheduled, pod, "on "+pod.Spec.NodeName)
	}
	if n := restarts(pod); n > st.restarts {
		st.restarts = n
		r.add(Restarted, pod, fmt.Sprintf("restart %d", n))
	}
	switch ready := IsReady(pod); {
	case ready && !st.ready:
		r.add(Ready, pod, "")
	case !ready && st.ready:
		r.add(Unready, pod, "")
	}
	st.ready = IsReady(pod)
	if pod.Status.Phase != st.phase {
		switch pod.Status.Phase {
		case corev1.PodFailed:
			r.add(Failed, pod, pod.Status.Reason)
		case corev1.PodSucceeded:
			r.add(Succeeded, pod, pod.Status.Reason)
		}
		st.phase = pod.Status.Phase
	}
	if pod.DeletionTimestamp != nil && !st.terminating {
		st.terminating = true
		r.add(Terminating, pod, "")
	}
}

// RemovePod records a pod's removal.
func (r *Recorder) RemovePod(pod *corev1.Pod) {
	if r.keep != nil && !r.keep(pod) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notified++
	st, ok := r.pods[pod.UID]
	if !ok {
		st = &podState{}
		r.pods[pod.UID] = st
		r.add(Created, pod, "")
	}
	if !st.gone {
		st.gone = true
		r.add(Gone, pod, "")
	}
}

func restarts(pod *corev1.Pod) int32 {
	var n int32
	for _, c := range pod.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

// IsReady reports the pod's Ready condition.
func IsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Agrees reports whether the recorder has caught up with the pods a list returned:
// each is known with the same readiness and termination, and every pod it still
// holds live is among them.
func (r *Recorder) Agrees(pods []corev1.Pod) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	listed := map[types.UID]bool{}
	for i := range pods {
		p := &pods[i]
		if r.keep != nil && !r.keep(p) {
			continue
		}
		listed[p.UID] = true
		st, ok := r.pods[p.UID]
		switch {
		case !ok || st.gone:
			return false, "the trace has not seen " + p.Name + " (" + ShortUID(p.UID) + ")"
		case st.ready != IsReady(p) || st.terminating != (p.DeletionTimestamp != nil):
			return false, fmt.Sprintf("the trace has %s ready=%v terminating=%v", p.Name, st.ready, st.terminating)
		}
	}
	for uid, st := range r.pods {
		if !st.gone && !listed[uid] {
			return false, "the trace has not seen pod " + ShortUID(uid) + " gone"
		}
	}
	return true, ""
}

// Updates is how many pod notifications the watches have delivered.
func (r *Recorder) Updates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notified
}

// WatchFailed counts a failed watch (it is re-listed and restarted).
func (r *Recorder) WatchFailed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchRestarts++
}

// WatchRestarts is how many times a watch failed and was restarted.
func (r *Recorder) WatchRestarts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.watchRestarts
}

// Records returns what was seen so far, optionally only of pods of one owner kind.
func (r *Recorder) Records(owner string) []Record { return r.Steps(owner) }

// Steps returns the records so far of the given steps (none: every step),
// optionally only of pods of one owner kind: a test that compares some steps reads
// only those, whatever else the recorder learns to see.
func (r *Recorder) Steps(owner string, steps ...Step) []Record {
	want := map[Step]bool{}
	for _, s := range steps {
		want[s] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Record
	for _, rec := range r.records {
		if (owner == "" || rec.Owner == owner) && (len(want) == 0 || want[rec.Step]) {
			out = append(out, rec)
		}
	}
	return out
}

// Live counts the pods the recorder holds that are not gone: how many are Ready
// and not terminating, and how many are terminating.
func (r *Recorder) Live() (ready, terminating int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.pods {
		switch {
		case st.gone:
		case st.terminating:
			terminating++
		case st.ready:
			ready++
		}
	}
	return ready, terminating
}

// Of returns "step pod" for the records of the given steps, in order.
func (r *Recorder) Of(owner string, steps ...Step) []string {
	if len(steps) == 0 {
		return nil
	}
	var out []string
	for _, rec := range r.Steps(owner, steps...) {
		out = append(out, string(rec.Step)+" "+rec.Pod)
	}
	return out
}

func (r *Recorder) String() string {
	var lines []string
	for _, rec := range r.Records("") {
		lines = append(lines, "  "+rec.String())
	}
	if n := r.WatchRestarts(); n > 0 {
		lines = append(lines, fmt.Sprintf("  (the watch failed and was restarted %d times)", n))
	}
	return strings.Join(lines, "\n")
}
