package compare

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// revisionLabel is the pod label naming its ControllerRevision.
const revisionLabel = "controller-revision-hash"

// Snapshot is one side's objects at one moment.
type Snapshot struct {
	// Set is nil once the set is gone.
	Set    *workload.Set
	Pods   []corev1.Pod
	Claims []corev1.PersistentVolumeClaim
}

// Observation is what a condition reads: the side now, and just before the step's
// action (to tell a replaced pod from the one it replaced).
type Observation struct {
	Now, Before Snapshot
}

// pod finds a pod by name.
func (s Snapshot) pod(name string) (*corev1.Pod, bool) {
	for i := range s.Pods {
		if s.Pods[i].Name == name {
			return &s.Pods[i], true
		}
	}
	return nil, false
}

// uid is the UID of the named pod, "" when there is none.
func (s Snapshot) uid(name string) types.UID {
	if p, ok := s.pod(name); ok {
		return p.UID
	}
	return ""
}

// podNames lists the pods' names, in the snapshot's order.
func (s Snapshot) podNames() []string {
	out := make([]string, 0, len(s.Pods))
	for _, p := range s.Pods {
		out = append(out, p.Name)
	}
	return out
}

// hasClaim reports whether a claim of that name exists (deleting or not).
func (s Snapshot) hasClaim(name string) bool {
	for _, c := range s.Claims {
		if c.Name == name {
			return true
		}
	}
	return false
}

// claims are the snapshot's claims as the comparison reads them.
func (s Snapshot) claims() []Claim {
	out := make([]Claim, 0, len(s.Claims))
	for _, c := range s.Claims {
		out = append(out, Claim{Name: c.Name, Deleting: c.DeletionTimestamp != nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// revisions maps each pod to its revision label.
func (s Snapshot) revisions() map[string]string {
	out := map[string]string{}
	for _, p := range s.Pods {
		out[p.Name] = p.Labels[revisionLabel]
	}
	return out
}

// isServing reports a pod Running and Ready and not terminating.
func isServing(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && trace.IsReady(p) && p.DeletionTimestamp == nil
}

// caughtUp reports whether the set's status speaks of its current spec.
func (s Snapshot) caughtUp() bool {
	return s.Set != nil && s.Set.Status.ObservedGeneration >= s.Set.Generation
}

// String describes the snapshot for a person reading why a step timed out.
func (s Snapshot) String() string {
	var b strings.Builder
	if st := s.Set; st == nil {
		b.WriteString("set: gone")
	} else {
		ss := st.Status
		fmt.Fprintf(&b, "set: generation %d (status observed %d), spec replicas %d; status replicas %d ready %d available %d updated %d current %d, revisions current %s update %s",
			st.Generation, ss.ObservedGeneration, st.Replicas(), ss.Replicas, ss.ReadyReplicas, ss.AvailableReplicas,
			ss.UpdatedReplicas, ss.CurrentReplicas, orNone(ss.CurrentRevision), orNone(ss.UpdateRevision))
	}
	b.WriteString("; pods:")
	if len(s.Pods) == 0 {
		b.WriteString(" none")
	}
	for i := range s.Pods {
		p := &s.Pods[i]
		state := string(p.Status.Phase)
		if state == "" {
			state = "Pending"
		}
		if trace.IsReady(p) {
			state += " Ready"
		} else {
			state += " un-Ready"
		}
		if p.DeletionTimestamp != nil {
			state += " terminating"
		}
		fmt.Fprintf(&b, " %s (%s, revision %s, uid %s)", p.Name, state, orNone(p.Labels[revisionLabel]), trace.ShortUID(p.UID))
	}
	if len(s.Claims) > 0 {
		b.WriteString("; claims:")
		for _, c := range s.Claims {
			fmt.Fprintf(&b, " %s (%s", c.Name, orNone(string(c.Status.Phase)))
			if c.DeletionTimestamp != nil {
				b.WriteString(", deleting")
			}
			b.WriteString(")")
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// sortPods orders pods by ordinal, others after them by name.
func sortPods(set string, pods []corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, aok := workload.OrdinalOf(set, pods[i].Name)
		b, bok := workload.OrdinalOf(set, pods[j].Name)
		if aok != bok {
			return aok
		}
		if aok && a != b {
			return a < b
		}
		return pods[i].Name < pods[j].Name
	})
}
