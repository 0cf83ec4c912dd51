//go:build e2e

package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ptrace "github.com/ministatefulset/ministatefulset/pkg/trace"
)

// kcmStatefulSets switches kube-controller-manager's own StatefulSet controller off
// or on (test/cluster/kcm-statefulsets.sh).
func kcmStatefulSets(t *testing.T, state string) {
	t.Helper()
	out, err := exec.Command("../cluster/kcm-statefulsets.sh", state).CombinedOutput()
	require.NoError(t, err, "kcm-statefulsets.sh %s: %s", state, out)
}

// TestDropInTakesOverStatefulSets runs the controller with --manage=statefulsets,
// in place of kube-controller-manager's StatefulSet controller, on a StatefulSet
// that controller made.
//   - Beside kube-controller-manager's own controller it refuses to start, says how
//     to switch that one off, and leaves no probe behind.
//   - With it switched off (--controllers=*,-statefulset-controller) it takes the
//     running StatefulSet over without restarting or replacing a pod, then scales it
//     up in order, rolls a new image from the highest ordinal down and scales down
//     in reverse, writing apps/v1's status through the status subresource and its
//     events on the StatefulSet.
//   - Handed back to kube-controller-manager, no pod is replaced either.
//
// Not parallel: switching kube-controller-manager restarts every controller in it.
func TestDropInTakesOverStatefulSets(t *testing.T) {
	requireKwok(t)
	e := newEnv(t, "dropin")
	uids := watchPodUIDs(t, e)
	e.createStatefulSet("web", statefulSpec("web", 3, nil, true))
	e.waitReady("web-0", "web-1", "web-2")
	sts := kube.AppsV1().StatefulSets(e.ns)
	settled := func(want int32, image string) func() (bool, error) {
		return func() (bool, error) {
			s, err := sts.Get(e.ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			pods := e.pods()
			for _, p := range pods {
				if !isReady(&p) || p.Spec.Containers[0].Image != image {
					return false, nil
				}
			}
			return len(pods) == int(want) && s.Status.ObservedGeneration == s.Generation && s.Status.ReadyReplicas == want &&
				s.Status.AvailableReplicas == want && s.Status.UpdatedReplicas == want && s.Status.CurrentRevision == s.Status.UpdateRevision, nil
		}
	}
	image := statefulSpec("web", 1, nil, false).Template.Spec.Containers[0].Image
	e.waitFor(shortWait, "kube-controller-manager's status of web", settled(3, image))
	start := e.ownedNow()

	p := newControllerProcess("dropin", "", "--manage=statefulsets", "--namespace="+e.ns)
	t.Cleanup(func() { _ = p.stop(syscall.SIGKILL) })
	require.NoError(t, p.start())
	err, exited := p.wait(shortWait)
	require.True(t, exited, "beside kube-controller-manager's StatefulSet controller, the drop-in controller exits by itself")
	require.Error(t, err, "and fails")
	assert.Contains(t, p.runLog(), `another StatefulSet controller (\"kube-controller-manager\") is running`)
	assert.Contains(t, p.runLog(), "--controllers=*,-statefulset-controller")
	e.waitFor(shortWait, "the probe StatefulSet to be gone", func() (bool, error) {
		list, err := sts.List(e.ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 1, err
	})

	kcmStatefulSets(t, "off")
	t.Cleanup(func() { kcmStatefulSets(t, "on") })
	require.NoError(t, p.start())
	e.waitFor(shortWait, "the drop-in controller to pass its probe and sync", func() (bool, error) {
		return strings.Contains(p.runLog(), "No other StatefulSet controller wrote the probe's status") && p.synced(), nil
	})
	e.holdsFor(2*time.Second, "a pod replaced on the takeover", func() bool {
		return !assert.ObjectsAreEqual(start.pods, e.ownedNow().pods)
	})

	e.scaleStatefulSet("web", 5)
	e.waitFor(longWait, "web scaled to 5 by the drop-in controller", settled(5, image))
	s, err := sts.Get(e.ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"redis","image":"redis:8"}]}}}}`)
	_, err = sts.Patch(e.ctx, "web", "application/strategic-merge-patch+json", patch, metav1.PatchOptions{})
	require.NoError(t, err)
	e.waitFor(longWait, "web rolled to redis:8", settled(5, "redis:8"))
	e.scaleStatefulSet("web", 2)
	e.waitFor(longWait, "web scaled down to 2", settled(2, "redis:8"))

	assert.Equal(t, []string{"created web-0", "created web-1", "created web-2", "created web-3", "created web-4",
		"created web-4", "created web-3", "created web-2", "created web-1", "created web-0"},
		e.traced("StatefulSet", ptrace.Created), "kube-controller-manager's three, then web-3 and web-4, then the rollout from the top")
	assert.Equal(t, []string{"terminating web-4", "terminating web-3", "terminating web-2", "terminating web-1", "terminating web-0",
		"terminating web-4", "terminating web-3", "terminating web-2"},
		e.traced("StatefulSet", ptrace.Terminating), "the rollout from the top, then the scale-down in reverse")
	created, deleted := uids.counts()
	assert.Equal(t, 3+2+5, created, "kube-controller-manager's 3, then 2 by the scale-up and 5 by the rollout")
	assert.Equal(t, 5+3, deleted, "5 by the rollout, 3 by the scale-down")
	after, err := sts.Get(e.ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, statusWriters(after), "ministatefulset-controller", "the drop-in controller wrote the status")
	assert.NotEqual(t, s.Status.UpdateRevision, after.Status.UpdateRevision)
	assert.Empty(t, after.Status.Conditions, "no condition of MiniStatefulSet's on a StatefulSet")
	// kube-controller-manager created web-0 to web-2 and deleted none.
	events := e.eventsOf("StatefulSet", "web")
	assert.Contains(t, events, "Normal SuccessfulCreate create Pod web-3 in StatefulSet web successful")
	assert.Contains(t, events, "Normal SuccessfulDelete delete Pod web-2 in StatefulSet web successful")

	require.NoError(t, p.stop(syscall.SIGTERM))
	handed := e.ownedNow()
	kcmStatefulSets(t, "on")
	e.holdsFor(3*time.Second, "a pod replaced when kube-controller-manager took web back", func() bool {
		return !assert.ObjectsAreEqual(handed.pods, e.ownedNow().pods)
	})
	e.waitFor(shortWait, "kube-controller-manager's status of web", settled(2, "redis:8"))
}

// statusWriters are the field managers of an object's status.
func statusWriters(s *appsv1.StatefulSet) []string {
	var out []string
	for _, f := range s.ManagedFields {
		if f.Subresource == "status" {
			out = append(out, f.Manager)
		}
	}
	return out
}
