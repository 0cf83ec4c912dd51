package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podAction(kind actionKind, name string, barrier bool) action {
	return action{kind: kind, barrier: barrier, pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
}

func names(actions []action) []string {
	var out []string
	for _, a := range actions {
		n := a.kind.String() + " " + a.pod.Name
		if a.barrier {
			n += " |"
		}
		out = append(out, n)
	}
	return out
}

// TestCreatedPodsAreNotCreatedAgainBeforeTheCacheShowsThem: a pass that runs
// before the informer delivered the pods the last one created leaves them alone
// (before, it created them again: AlreadyExists, a read, an error status and a
// backoff); a phase's barrier moves to the next write kept; a pod seen, or created
// longer than createdTTL ago, is created again if the plan asks.
func TestCreatedPodsAreNotCreatedAgainBeforeTheCacheShowsThem(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCreatedPods()
	c.created(ns, "web-1", now)
	c.created(ns, "web-2", now)
	plan := []action{podAction(createPod, "web-0", false), podAction(createPod, "web-1", true), podAction(createPod, "web-2", false), podAction(deletePod, "web-9", false)}
	kept, dropped := c.unseen(plan, now.Add(time.Second))
	assert.True(t, dropped)
	assert.Equal(t, []string{"create web-0", "delete web-9 |"}, names(kept))

	c.seen(ns, "web-1")
	kept, _ = c.unseen(plan, now.Add(time.Second))
	assert.Equal(t, []string{"create web-0", "create web-1 |", "delete web-9"}, names(kept))

	kept, dropped = c.unseen(plan, now.Add(createdTTL))
	assert.False(t, dropped, "past createdTTL the pod is taken as never made")
	assert.Len(t, kept, 4)
	kept, dropped = newCreatedPods().unseen(plan, now)
	assert.False(t, dropped)
	assert.Equal(t, plan, kept)
}

// TestAPassBeforeTheCacheCatchesUpCreatesNothingTwice drives the controller with
// listers a pod event behind: a Parallel scale-up's second pass sees none of the
// first pass's pods and still asks the API for each pod once.
func TestAPassBeforeTheCacheCatchesUpCreatesNothingTwice(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(4).Parallel().Obj())
	f.lagBy(100)
	f.mustSync("web")
	first := f.podCreates()
	assert.Equal(t, 4, first)
	f.kube.ClearActions()
	requeue, err := f.c.sync(f.ctx, objectKey("web"))
	assert.NoError(t, err, "no AlreadyExists: the pods created are left alone")
	assert.Zero(t, f.podCreates())
	assert.Equal(t, createdTTL, requeue, "the pass comes back should the pods' events never come")
}

func (f *fixture) podCreates() int {
	n := 0
	for _, a := range f.kube.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "pods" {
			n++
		}
	}
	return n
}
