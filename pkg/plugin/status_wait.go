package plugin

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// statusCaughtUp reports a status written for the current spec that counts every
// replica Ready and updated as far as the strategy goes, and for a MiniStatefulSet
// a Waiting condition that says so: pods can be Ready a moment before the
// controller's status says it.
func statusCaughtUp(set *workload.Set) bool {
	st, n := set.Status, int32(set.Replicas())
	updated := n - int32(min(set.Partition(), set.Replicas()))
	if set.OnDelete() {
		updated = 0
	}
	if st.ObservedGeneration < set.Generation || st.UpdateRevision == "" || st.Replicas != n || st.ReadyReplicas != n || st.UpdatedReplicas < updated {
		return false
	}
	return set.Kind != workload.MiniStatefulSet || (set.Waiting != nil && set.Waiting.Reason == controller.WaitSettled)
}

// settlePoll is how often --wait looks again.
const settlePoll = 200 * time.Millisecond

// waitSettled polls the set until it is settled or the timeout passes.
func (o *Options) waitSettled(ctx context.Context, c workload.Clients, ref workload.Ref, timeout time.Duration) (*StatusReport, error) {
	var rep *StatusReport
	err := wait.PollUntilContextTimeout(ctx, settlePoll, timeout, true, func(ctx context.Context) (bool, error) {
		r, err := buildStatus(ctx, c, ref, o.Now())
		if err != nil {
			return false, err
		}
		rep = r
		return r.settled(), nil
	})
	if err != nil && rep != nil {
		return nil, fmt.Errorf("%s did not settle within %v; it is waiting: %s", ref, timeout, rep.Waiting)
	}
	return rep, err
}

// settled reports every ordinal with a Ready pod of its own, nothing terminating or
// condemned, a status that has seen the spec, and the rolling update done as far as
// the strategy goes: every pod at or above the partition at the update revision
// (under OnDelete, pods change only when deleted, so any revision will do).
func (rep *StatusReport) settled() bool {
	if !rep.observed || rep.MissingOmitted > 0 || len(rep.Ordinals) != rep.Replicas {
		return false
	}
	rolling := rep.Strategy != string(appsv1.OnDeleteStatefulSetStrategyType)
	for _, r := range rep.Ordinals {
		if !r.Exists || !r.Ready || r.Note != "" || r.Phase != string(corev1.PodRunning) {
			return false
		}
		if rolling && r.Ordinal >= rep.Start+rep.Partition && r.Revision != rep.Rollout.UpdateRevision {
			return false
		}
	}
	return true
}
