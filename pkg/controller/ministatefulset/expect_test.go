package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// TestDeletedPodsAreNotDeletedAgainBeforeTheCacheShowsThemGone: a pod deleted with
// no grace period is gone at once; a pass before its watch event leaves it alone
// (before, it deleted it again: a 404 for a third of a Parallel scale-down's
// deletes), until the cache shows it gone or terminating, or deletedTTL passes.
func TestDeletedPodsAreNotDeletedAgainBeforeTheCacheShowsThemGone(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCreatedPods()
	del := func(name string, barrier bool) action {
		a := podAction(deletePod, name, barrier)
		a.pod.UID = types.UID("uid-" + name)
		return a
	}
	plan := []action{del("web-3", true), del("web-2", false), podAction(createPod, "web-0", false)}
	c.deletedPod("uid-web-3", now)
	kept, dropped := c.unseen(plan, now.Add(time.Second))
	assert.True(t, dropped)
	assert.Equal(t, []string{"delete web-2 |", "create web-0"}, names(kept))

	c.gone("uid-web-3")
	kept, dropped = c.unseen(plan, now.Add(time.Second))
	assert.False(t, dropped, "gone from the cache: a pod of that UID would be planned again only if it came back")
	assert.Len(t, kept, 3)

	c.deletedPod("uid-web-2", now)
	kept, dropped = c.unseen(plan, now.Add(createdTTL))
	assert.True(t, dropped, "a cache 10 s behind is no reason to delete a terminating pod again")
	assert.Equal(t, []string{"delete web-3 |", "create web-0"}, names(kept))
	kept, dropped = c.unseen(plan, now.Add(deletedTTL))
	assert.False(t, dropped, "past deletedTTL the delete is made again")
	assert.Len(t, kept, 3)
	assert.Empty(t, c.deleted)
}

// TestAPassBeforeTheCacheCatchesUpDeletesNothingTwice: a Parallel scale-down with
// listers behind deletes each pod once.
func TestAPassBeforeTheCacheCatchesUpDeletesNothingTwice(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(4).Parallel().Obj())
	f.mustSync("web")
	f.scale("web", 0)
	f.lagBy(100)
	f.kube.ClearActions()
	f.mustSync("web")
	assert.Equal(t, 4, f.podVerb("delete"))
	f.kube.ClearActions()
	_, err := f.c.sync(f.ctx, objectKey("web"))
	assert.NoError(t, err)
	assert.Zero(t, f.podVerb("delete"), "the cache still shows the pods; they were deleted already")
}

func (f *fixture) podVerb(verb string) int {
	n := 0
	for _, a := range f.kube.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == "pods" {
			n++
		}
	}
	return n
}
