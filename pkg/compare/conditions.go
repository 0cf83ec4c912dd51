package compare

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// Observation windows: long enough for either controller to have acted on what it
// was shown (both react within milliseconds), short enough to keep a run brief.
const (
	haltWindow   = 3 * time.Second
	canaryWindow = 2 * time.Second
)

// settled: exactly the first n pods, each Running and Ready at the update
// revision, and a status that says so for the current spec.
func settled(p Plan, n int) Condition {
	return Condition{
		What: fmt.Sprintf("settled (%s Ready at the update revision, status caught up)", podsPhrase(p, n)),
		Met:  func(o Observation) (bool, error) { return isSettled(o.Now, p, n), nil },
	}
}

func isSettled(s Snapshot, p Plan, n int) bool {
	if !s.caughtUp() || s.Set.Replicas() != n {
		return false
	}
	st, want := s.Set.Status, int32(n)
	if st.Replicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want || st.UpdatedReplicas != want ||
		st.CurrentReplicas != want || st.CurrentRevision != st.UpdateRevision {
		return false
	}
	return slices.Equal(s.podNames(), p.Pods(n)) && allServingAt(s.Pods, st.UpdateRevision)
}

// rolledOut: settled at a revision other than the one before the step.
func rolledOut(p Plan, n int) Condition {
	return Condition{
		What: fmt.Sprintf("rolled out (%s Ready at a new update revision, status caught up)", podsPhrase(p, n)),
		Met: func(o Observation) (bool, error) {
			return isSettled(o.Now, p, n) && newRevision(o), nil
		},
	}
}

// newRevision reports an update revision other than the one before the step.
func newRevision(o Observation) bool {
	return o.Now.caughtUp() && o.Before.Set != nil && o.Now.Set.Status.UpdateRevision != o.Before.Set.Status.UpdateRevision
}

// replaced: settled, with a new pod under the name of the one the step removed.
func replaced(p Plan, n int, pod string) Condition {
	return Condition{
		What: fmt.Sprintf("%s replaced by a new pod of the same name and the set settled (%s Ready)", pod, podsPhrase(p, n)),
		Met: func(o Observation) (bool, error) {
			was := o.Before.uid(pod)
			return isSettled(o.Now, p, n) && was != "" && o.Now.uid(pod) != was, nil
		},
	}
}

// heldUnready: the held pod is Running but un-Ready, the other pods are Ready, and
// the status counts it.
func heldUnready(p Plan, n int, held string) Condition {
	return Condition{
		What: fmt.Sprintf("%s Running and un-Ready, the other pods Ready, the status counting %d Ready", held, n-1),
		Met: func(o Observation) (bool, error) {
			s := o.Now
			return s.caughtUp() && slices.Equal(s.podNames(), p.Pods(n)) && onlyHeldUnready(s, held) &&
				s.Set.Status.ReadyReplicas == int32(n-1), nil
		},
	}
}

func onlyHeldUnready(s Snapshot, held string) bool {
	for i := range s.Pods {
		pod := &s.Pods[i]
		if pod.Name == held {
			if pod.Status.Phase != corev1.PodRunning || trace.IsReady(pod) || pod.DeletionTimestamp != nil {
				return false
			}
		} else if !isServing(pod) {
			return false
		}
	}
	return true
}

// halted (OrderedReady): the status shows the scale-up, yet no pod is created above
// the first n while the held pod is un-Ready, for haltWindow. A pod created in the
// window fails the step at once.
func halted(p Plan, n, replicas int, held string) Condition {
	return Condition{
		What: fmt.Sprintf("the status at replicas %d and %s not created while %s is un-Ready, for %v", replicas, p.Pod(n), held, haltWindow),
		Met: func(o Observation) (bool, error) {
			s := o.Now
			if !s.caughtUp() || s.Set.Replicas() != replicas {
				return false, nil
			}
			if !slices.Equal(s.podNames(), p.Pods(n)) {
				return false, fmt.Errorf("the pods became %v while %s was un-Ready", s.podNames(), held)
			}
			return onlyHeldUnready(s, held), nil
		},
		Window: haltWindow,
	}
}

// pastHeld (Parallel): the set grows to replicas although the held pod is un-Ready.
func pastHeld(p Plan, replicas int, held string) Condition {
	return Condition{
		What: fmt.Sprintf("%s Ready while %s is un-Ready (Parallel does not wait)", podsPhrase(p, replicas), held),
		Met: func(o Observation) (bool, error) {
			s := o.Now
			return s.caughtUp() && s.Set.Replicas() == replicas && slices.Equal(s.podNames(), p.Pods(replicas)) &&
				onlyHeldUnready(s, held), nil
		},
	}
}

// canary: a partition of replicas-1 with a new template updates the top pod only;
// the rest keep their revision for canaryWindow.
func canary(p Plan) Condition {
	top := p.Pod(p.Replicas - 1)
	return Condition{
		What: fmt.Sprintf("%s Ready at the new update revision and the pods below it unchanged, for %v", top, canaryWindow),
		Met: func(o Observation) (bool, error) {
			s := o.Now
			if !newRevision(o) || !slices.Equal(s.podNames(), p.Pods(p.Replicas)) {
				return false, nil
			}
			rev := s.Set.Status.UpdateRevision
			for i := range s.Pods {
				pod := &s.Pods[i]
				if pod.Name == top {
					if !isServing(pod) || pod.Labels[revisionLabel] != rev {
						return false, nil
					}
					continue
				}
				if pod.UID != o.Before.uid(pod.Name) || pod.DeletionTimestamp != nil {
					return false, fmt.Errorf("%s was deleted or replaced although it is below the partition", pod.Name)
				}
			}
			return s.Set.Status.UpdatedReplicas == 1 && s.Set.Status.ReadyReplicas == int32(p.Replicas), nil
		},
		Window: canaryWindow,
	}
}

// untouched (OnDelete): the status names a new update revision and every pod stays
// as it was, for haltWindow.
func untouched(p Plan) Condition {
	return Condition{
		What: fmt.Sprintf("a new update revision in the status and every pod left as it was, for %v", haltWindow),
		Met: func(o Observation) (bool, error) {
			s := o.Now
			if !newRevision(o) {
				return false, nil
			}
			if !slices.Equal(s.podNames(), p.Pods(p.Replicas)) {
				return false, fmt.Errorf("the pods became %v", s.podNames())
			}
			if err := sameUIDs(o, ""); err != nil {
				return false, err
			}
			return allServingAt(s.Pods, ""), nil
		},
		Window: haltWindow,
	}
}

// recreated (OnDelete): the deleted pod is back, Ready at the update revision, and
// no other pod was touched.
func recreated(p Plan, pod string) Condition {
	return Condition{
		What: fmt.Sprintf("%s back as a new pod, Ready at the update revision, the other pods left as they were", pod),
		Met: func(o Observation) (bool, error) {
			s := o.Now
			if !s.caughtUp() || !slices.Equal(s.podNames(), p.Pods(p.Replicas)) {
				return false, nil
			}
			if err := sameUIDs(o, pod); err != nil {
				return false, err
			}
			np, _ := s.pod(pod)
			return np.UID != o.Before.uid(pod) && isServing(np) && np.Labels[revisionLabel] == s.Set.Status.UpdateRevision &&
				s.Set.Status.ReadyReplicas == int32(p.Replicas), nil
		},
	}
}

// sameUIDs fails when a pod other than except was replaced or is being deleted.
func sameUIDs(o Observation, except string) error {
	for i := range o.Now.Pods {
		pod := &o.Now.Pods[i]
		if pod.Name == except {
			continue
		}
		if pod.UID != o.Before.uid(pod.Name) || pod.DeletionTimestamp != nil {
			return fmt.Errorf("%s was deleted or replaced", pod.Name)
		}
	}
	return nil
}

// claimsGone: settled at n, and the claims of the ordinals the scale-down removed gone.
func claimsGone(p Plan, n int) Condition {
	removed := slices.DeleteFunc(p.Claims(p.Replicas), func(c string) bool { return slices.Contains(p.Claims(n), c) })
	return Condition{
		What: fmt.Sprintf("settled (%s Ready) and the claims %v gone", podsPhrase(p, n), removed),
		Met: func(o Observation) (bool, error) {
			return isSettled(o.Now, p, n) && !hasAnyClaim(o.Now, removed), nil
		},
	}
}

// setGone: the set, its pods and its claims all gone.
func setGone(p Plan) Condition {
	claims := p.Claims(p.Replicas)
	return Condition{
		What: fmt.Sprintf("the set, its pods and its claims %v gone", claims),
		Met: func(o Observation) (bool, error) {
			return o.Now.Set == nil && len(o.Now.Pods) == 0 && !hasAnyClaim(o.Now, claims), nil
		},
	}
}

func hasAnyClaim(s Snapshot, names []string) bool {
	return slices.ContainsFunc(names, s.hasClaim)
}

// minReadyCreated (OrderedReady with minReadySeconds): settled, and each pod was
// created at least minReadySeconds after the one below became Ready. Both times are
// the API server's whole seconds, and the controllers measure from the same Ready
// time, so the bound holds exactly.
func minReadyCreated(p Plan, n int) Condition {
	c := settled(p, n)
	c.What += fmt.Sprintf(", each pod created at least %ds after the one below became Ready", p.MinReadySeconds)
	base := c.Met
	c.Met = func(o Observation) (bool, error) {
		if ok, err := base(o); !ok || err != nil {
			return ok, err
		}
		return true, minReadyHeld(o.Now, p, n)
	}
	return c
}

func minReadyHeld(s Snapshot, p Plan, n int) error {
	wait := time.Duration(p.MinReadySeconds) * time.Second
	for i := 1; i < n; i++ {
		below, _ := s.pod(p.Pod(i - 1))
		next, _ := s.pod(p.Pod(i))
		readyAt := readySince(below)
		if gap := next.CreationTimestamp.Sub(readyAt); gap < wait {
			return fmt.Errorf("%s was created %v after %s became Ready (at %s), less than minReadySeconds %d",
				next.Name, gap, below.Name, readyAt.Format(time.TimeOnly), p.MinReadySeconds)
		}
	}
	return nil
}

// readySince is when the pod's Ready condition last turned True.
func readySince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// allServingAt reports every pod Running, Ready, not terminating and, unless rev is
// "", at revision rev.
func allServingAt(pods []corev1.Pod, rev string) bool {
	for i := range pods {
		if !isServing(&pods[i]) || (rev != "" && pods[i].Labels[revisionLabel] != rev) {
			return false
		}
	}
	return true
}

// podsPhrase names the first n pods briefly: "web-0..web-2".
func podsPhrase(p Plan, n int) string {
	switch n {
	case 0:
		return "no pods"
	case 1:
		return p.Pod(0)
	}
	return p.Pod(0) + ".." + p.Pod(n-1)
}
