//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// Parity of template updates: RollingUpdate (plain, partitioned, maxUnavailable),
// rollback to an earlier revision, and OnDelete. Helpers are in parity_test.go.

// assertReadyBeforeNext checks, in the trace since the mark, that the replacement of
// each ordinal of order was Ready before the next one started terminating.
func (s *side) assertReadyBeforeNext(order []int) {
	s.t.Helper()
	for i := 0; i+1 < len(order); i++ {
		ready, next := s.firstSince("ready", order[i]), s.firstSince("terminating", order[i+1])
		if next.Before(ready) {
			s.t.Errorf("%s started terminating at %s, before the new %s was Ready at %s", s.podName(order[i+1]),
				next.Format("15:04:05.000"), s.podName(order[i]), ready.Format("15:04:05.000"))
		}
	}
}

// TestParityRollingUpdate: a new image replaces 2, 1, 0, each only after the one
// above is back and Ready; at the end every pod and the status are at the new revision.
func TestParityRollingUpdate(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, false)
	type result struct {
		Terminated []int
		Order      []string
		Final      statusShape
	}
	runParity(t, "pru", func(s *side) result {
		s.create(spec)
		before := s.waitSettled(3)
		s.markTrace()
		s.setImage("redis:7.2")
		after := s.waitSettled(3)
		assert.NotEqual(s.t, before.Status.UpdateRevision, after.Status.UpdateRevision, "the update revision did not change")
		res := result{s.ords("terminating"), s.order(), shape(after)}
		assert.Equal(s.t, []int{2, 1, 0}, res.Terminated, "terminating order")
		s.assertReadyBeforeNext([]int{2, 1, 0})
		return res
	})
}

// TestParityPartitionCanary: with partition 2 only ordinal 2 takes the new image, a
// deleted pod below the partition comes back at the current revision, and partition 0
// then rolls out 1 and 0 in that order.
func TestParityPartitionCanary(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, false)
	spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
		Type:          appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(2))},
	}
	type result struct {
		Canary          statusShape
		CanaryRevisions []string
		Pod0Recreated   string
		Rollout         []int
		// the order of pod events: the canary, pod 0 deleted by hand, the rollout
		Orders [3][]string
		Final  statusShape
	}
	runParity(t, "ppart", func(s *side) result {
		s.create(spec)
		r1 := s.waitSettled(3).Status.UpdateRevision
		was := s.uids()
		s.markTrace()
		s.setImage("redis:7.2")
		canary := s.waitStatus("the canary: ordinal 2 updated, 0 and 1 not", func(st setState) bool {
			ss := st.Status
			return ss.ObservedGeneration == st.Generation && ss.UpdateRevision != r1 && ss.CurrentRevision == r1 &&
				ss.UpdatedReplicas == 1 && ss.CurrentReplicas == 2 && ss.ReadyReplicas == 3 && s.revisionOf(2, st) == "update"
		})
		s.holdsFor(3*time.Second, "ordinal 0 or 1 replaced below the partition", func() bool { return s.disturbed(was, 0, 1) })
		res := result{Canary: shape(canary)}
		res.Orders[0] = s.order()
		for o := range 3 {
			res.CanaryRevisions = append(res.CanaryRevisions, s.revisionOf(o, canary))
		}
		assert.Equal(s.t, []string{"current", "current", "update"}, res.CanaryRevisions)
		assert.Equal(s.t, []string{"terminating 2", "gone 2", "created 2", "ready 2"}, res.Orders[0], "the canary")

		s.markTrace()
		s.deletePod(0)
		s.waitReplaced(s.podName(0), was[0])
		res.Orders[1] = s.order()
		res.Pod0Recreated = s.revisionOf(0, s.set.Get())
		assert.Equal(s.t, "current", res.Pod0Recreated, "pod 0 deleted below the partition came back at another revision")

		s.markTrace()
		s.set.Update(func(sp *appsv1.StatefulSetSpec) { sp.UpdateStrategy.RollingUpdate.Partition = ptr(int32(0)) })
		final := s.waitSettled(3)
		assert.Equal(s.t, canary.Status.UpdateRevision, final.Status.UpdateRevision)
		res.Rollout, res.Orders[2], res.Final = s.ords("terminating"), s.order(), shape(final)
		assert.Equal(s.t, []int{1, 0}, res.Rollout, "terminating order once partition is 0")
		s.assertReadyBeforeNext([]int{1, 0})
		return res
	})
}

// TestParityRollback: reverting the template re-uses the first revision, renumbered as
// the newest, instead of minting a third one.
func TestParityRollback(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	spec := statefulSpec("app", 2, nil, false)
	type result struct {
		Revisions       [3][]string
		Orders          [2][]string
		RevertedIsFirst bool
		Final           statusShape
	}
	runParity(t, "prb", func(s *side) result {
		var res result
		roles := map[string]string{}
		history := func() []string {
			var out []string
			for _, r := range s.revisions() {
				role, ok := roles[r.Name]
				if !ok {
					role = "new:" + r.Name
				}
				out = append(out, fmt.Sprintf("%s=%d", role, r.Revision))
			}
			return out
		}
		s.create(spec)
		r1 := s.waitSettled(2).Status.UpdateRevision
		roles[r1] = "first"
		res.Revisions[0] = history()
		s.markTrace()
		s.setImage("redis:7.2")
		r2 := s.waitSettled(2).Status.UpdateRevision
		roles[r2] = "second"
		res.Revisions[1], res.Orders[0] = history(), s.order()
		s.markTrace()
		s.setImage("redis:7")
		final := s.waitSettled(2)
		res.Orders[1] = s.order()
		res.RevertedIsFirst, res.Final = final.Status.UpdateRevision == r1, shape(final)
		res.Revisions[2] = history()
		assert.True(s.t, res.RevertedIsFirst, "update revision after the revert is %s, not the first one %s", final.Status.UpdateRevision, r1)
		assert.Equal(s.t, [3][]string{{"first=1"}, {"first=1", "second=2"}, {"second=2", "first=3"}}, res.Revisions)
		return res
	})
}

// TestParityForcedRollback: an update whose pods never get Ready stalls an
// OrderedReady rollout at the first replaced pod; reverting the template alone does
// not move it (the documented "forced rollback"): only deleting the stuck pod does,
// which brings it back at the reverted revision while the lower pods are untouched.
func TestParityForcedRollback(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, false)
	type result struct {
		Stuck       statusShape
		StuckOnPod2 string
		BackToFirst bool
		Order       []string
		Final       statusShape
	}
	runParity(t, "pfrb", func(s *side) result {
		s.create(spec)
		r1 := s.waitSettled(3).Status.UpdateRevision
		was := s.uids()
		s.markTrace()
		s.set.Update(func(sp *appsv1.StatefulSetSpec) {
			sp.Template.Spec.Containers[0].Image = "redis:broken"
			sp.Template.Annotations[holdUnready] = "true"
		})
		s.waitSaw(longWait, "the new pod 2 Running but never Ready", func() (bool, string) {
			p, ok := s.pod(s.podName(2))
			return ok && p.UID != was[2] && p.Status.Phase == corev1.PodRunning && !isReady(p), s.describePods()
		})
		s.set.Update(func(sp *appsv1.StatefulSetSpec) {
			sp.Template.Spec.Containers[0].Image = "redis:7"
			delete(sp.Template.Annotations, holdUnready)
		})
		stuck := s.waitStatus("the reverted template observed", func(st setState) bool {
			return st.Status.ObservedGeneration == st.Generation
		})
		broken := s.uids()[2]
		s.holdsFor(3*time.Second, "a pod replaced while the broken pod 2 is un-Ready", func() bool {
			return s.disturbed(map[int]types.UID{0: was[0], 1: was[1], 2: broken}, 0, 1, 2)
		})
		stuck = s.set.Get()
		res := result{Stuck: shape(stuck), StuckOnPod2: s.revisionOf(2, stuck), BackToFirst: stuck.Status.UpdateRevision == r1}
		assert.True(s.t, res.BackToFirst, "the reverted template is not the first revision")
		assert.Equal(s.t, "other", res.StuckOnPod2, "revision of the broken pod 2 after the revert")
		s.deletePod(2)
		final := s.waitSettled(3)
		res.Order, res.Final = s.order(), shape(final)
		assert.False(s.t, s.disturbed(was, 0, 1), "pods 0 and 1 were replaced")
		return res
	})
}

// TestParityOnDelete: a new template replaces nothing by itself; each pod the user
// deletes comes back at the update revision.
func TestParityOnDelete(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, false)
	spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	type result struct {
		AfterOne          statusShape
		RevisionsAfterOne []string
		Recreated         []int
		OneOrder          []string
		TwoPerPod         map[int][]string
		Final             statusShape
	}
	runParity(t, "pdel", func(s *side) result {
		s.create(spec)
		r1 := s.waitSettled(3).Status.UpdateRevision
		was := s.uids()
		s.markTrace()
		s.setImage("redis:7.2")
		s.waitStatus("the new update revision", func(st setState) bool {
			return st.Status.ObservedGeneration == st.Generation && st.Status.UpdateRevision != r1
		})
		s.holdsFor(3*time.Second, "a pod replaced under OnDelete", func() bool { return s.disturbed(was, 0, 1, 2) })

		s.deletePod(1)
		s.waitReplaced(s.podName(1), was[1])
		one := s.waitStatus("one updated replica", func(st setState) bool {
			return st.Status.UpdatedReplicas == 1 && st.Status.ReadyReplicas == 3 && st.Status.CurrentRevision == r1
		})
		res := result{AfterOne: shape(one), OneOrder: s.order()}
		assert.Equal(s.t, []string{"terminating 1", "gone 1", "created 1", "ready 1"}, res.OneOrder)
		for o := range 3 {
			res.RevisionsAfterOne = append(res.RevisionsAfterOne, s.revisionOf(o, one))
		}
		assert.Equal(s.t, []string{"current", "update", "current"}, res.RevisionsAfterOne)
		assert.Equal(s.t, statusShape{3, 3, 3, 2, 1, false}, res.AfterOne)

		mark := s.mark
		s.markTrace()
		s.deletePod(0)
		s.deletePod(2)
		s.waitReplaced(s.podName(0), was[0])
		s.waitReplaced(s.podName(2), was[2])
		final := s.waitSettled(3)
		// pods 0 and 2 go at once, so only each pod's own events are compared here;
		// the order of creations across them is in Recreated (0, then 2)
		res.TwoPerPod = s.perPod()
		s.mark = mark
		res.Recreated, res.Final = s.ords("created"), shape(final)
		assert.Equal(s.t, []int{1, 0, 2}, res.Recreated, "order of creations")
		return res
	})
}

// TestParityMaxUnavailable: with maxUnavailable 2 a rolling update of 5 pods keeps at
// most 2 of them un-Ready at any time, and does use both.
func TestParityMaxUnavailable(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	for _, policy := range []appsv1.PodManagementPolicyType{appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement} {
		t.Run(string(policy), func(t *testing.T) {
			spec := statefulSpec("app", 5, map[string]string{deleteDelay: "2s"}, false)
			spec.PodManagementPolicy = policy
			spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromInt32(2))},
			}
			type result struct {
				MaxNotReady int
				Terminated  []int
				FirstWave   []int
				PerPod      map[int][]string
				Final       statusShape
			}
			runParity(t, "pmu", func(s *side) result {
				s.create(spec)
				s.waitSettled(5)
				s.markTrace()
				s.setImage("redis:7.2")
				final := s.waitSettled(5)
				res := result{MaxNotReady: s.maxNotReady(5), Terminated: s.ords("terminating"), FirstWave: s.firstWave(),
					PerPod: s.perPod(), Final: shape(final)}
				assert.Equal(s.t, []int{3, 4}, res.FirstWave, "pods deleted by the first pass, before any replacement")
				if policy == appsv1.ParallelPodManagement {
					// deletions of one pass may go out concurrently: compare them as a set
					sort.Sort(sort.Reverse(sort.IntSlice(res.Terminated)))
				}
				s.guarantee(2, res.MaxNotReady, "most pods un-Ready at once during the update")
				s.guarantee([]int{4, 3, 2, 1, 0}, res.Terminated, "pods terminated, each once")
				return res
			})
		})
	}
}

// TestParityParallelUnhealthyUpdate: under Parallel with maxUnavailable 1, an update
// that starts while an old pod is un-Ready (held so by hand, not by its template).
// Whether the un-Ready old pod is replaced, and in which order the others follow, must
// be the same for both kinds; the outcome after a bounded window is compared.
func TestParityParallelUnhealthyUpdate(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, false)
	spec.PodManagementPolicy = appsv1.ParallelPodManagement
	spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
		Type:          appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromInt32(1))},
	}
	type result struct {
		SettledWhileHeld bool
		TerminatedHeld   []int
		Terminated       []int
		FirstWave        []int
		PerPod           map[int][]string
		MaxNotReady      int
	}
	runParity(t, "ppun", func(s *side) result {
		s.create(spec)
		s.waitSettled(3)
		s.annotatePod(s.podName(0), holdUnready, "true")
		s.waitStatus("pod 0 un-Ready", func(st setState) bool { return st.Status.ReadyReplicas == 2 })
		s.markTrace()
		s.setImage("redis:7.2")
		var res result
		_ = wait.PollUntilContextTimeout(s.ctx, poll, 15*time.Second, true, func(context.Context) (bool, error) {
			res.SettledWhileHeld = s.settled(s.set.Get(), 3)
			return res.SettledWhileHeld, nil
		})
		res.TerminatedHeld = s.ords("terminating")
		if !res.SettledWhileHeld {
			s.t.Logf("not settled within 15s while pod 0 is held un-Ready: %s", s.describe(s.set.Get()))
			if p, ok := s.pod(s.podName(0)); ok && p.Annotations[holdUnready] == "true" {
				s.release(s.podName(0))
			}
			s.waitSettled(3)
		}
		res.Terminated, res.MaxNotReady = s.ords("terminating"), s.maxNotReady(3, 0)
		res.FirstWave, res.PerPod = s.firstWave(), s.perPod()
		// v1.37: the un-Ready old pod 0 is replaced first, on its own, then 2 and 1.
		assert.True(s.t, res.SettledWhileHeld, "the update did not finish while pod 0 was held un-Ready")
		assert.Equal(s.t, []int{0, 2, 1}, res.Terminated, "terminating order")
		return res
	})
}

// maxNotReady replays the trace since the mark, from n pods Ready but those of the
// ordinals down, and returns the
// most ordinals that were at once without a Ready pod (terminating, gone, or created
// but not yet Ready).
func (s *side) maxNotReady(n int, down ...int) int {
	s.t.Helper()
	ready := map[int]bool{}
	for o := range n {
		ready[o] = true
	}
	for _, o := range down {
		ready[o] = false
	}
	most := 0
	for _, ev := range s.since() {
		ready[s.ordinal(ev.Pod)] = ev.Step == trace.Ready
		count := 0
		for _, r := range ready {
			if !r {
				count++
			}
		}
		most = max(most, count)
	}
	require.LessOrEqual(s.t, most, n)
	return most
}
