package ministatefulset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
)

// Bugs FuzzDecide found, each as the smallest snapshot that shows it, kept as
// regressions; the input the fuzzer found stays in testdata/fuzz/FuzzDecide too.

// TestParallelDeletesAFailedOutdatedPodOnce (testdata/fuzz/FuzzDecide/4c5046e314a81201):
// under Parallel, a Failed pod at an older revision was deleted twice in one plan:
// once by the walk ("its phase is Failed: it is recreated once gone") and once more
// by the rolling update, which saw an outdated pod that is unavailable and not yet
// terminating. The second delete was a second API call and, when the first left the
// pod terminating (a finalizer, a grace period), a second SuccessfulDelete event for
// one pod. OrderedReady was not affected: its walk halts at the Failed pod.
func TestParallelDeletesAFailedOutdatedPodOnce(t *testing.T) {
	s := fzHand(newSet("web").Replicas(1).Parallel().Obj(), true)
	s.fzWithPods(s.current.Name, "failed", 0)
	p := decide(s)
	var deletes []string
	for _, a := range p.actions {
		if a.kind == deletePod {
			deletes = append(deletes, a.pod.Name+": "+a.why)
		}
	}
	assert.Len(t, deletes, 1, "one delete of web-0, got %q", deletes)
	assert.Empty(t, checkPlan(s, p))
}

// TestParallelFailedOutdatedPodIsDeletedOnceThroughTheAPI is the same bug as seen
// from outside: two delete calls and two SuccessfulDelete events for one pod.
func TestParallelFailedOutdatedPodIsDeletedOnceThroughTheAPI(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(1).Parallel().Obj())
	f.graceful = true
	f.mustSync("web")
	f.ready("web-0")
	f.mustSync("web")
	f.setImage("web", "nginx:2")
	f.setPodStatus("web-0", corev1.PodFailed, false)
	f.writes()
	f.events()
	f.mustSync("web")
	assert.Equal(t, []string{"delete pods web-0"}, podWrites(f.writes()))
	assert.Len(t, f.events(), 1, "one SuccessfulDelete event")
}
