//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// requireOwnController skips a test that stops and starts the controller when it
// runs outside the suite (MSTS_E2E_EXTERNAL_CONTROLLER, kind).
func requireOwnController(t *testing.T) {
	t.Helper()
	if controller == nil {
		t.Skip("the controller runs outside the test (MSTS_E2E_EXTERNAL_CONTROLLER): cannot stop or restart it")
	}
}

// ensureSuiteController makes sure the suite's controller runs when the test ends,
// whatever happened to it, since the tests after this one rely on it.
func ensureSuiteController(t *testing.T) {
	t.Cleanup(func() {
		if !controller.running() {
			if err := controller.start(); err != nil {
				t.Errorf("restarting the suite's controller: %v", err)
			}
		}
	})
}

// mini drives a MiniStatefulSet through the parity helpers (waitSettled, order, ...)
// outside a parity run.
func (e *env) mini(name string) *side { return &side{env: e, set: &miniSet{e, name}} }

// deleteCounts counts, per pod, the SuccessfulDelete events the controller recorded
// for the set (an event repeated is one event with a count).
func (e *env) deleteCounts(set string) map[string]int32 {
	e.t.Helper()
	list, err := kube.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=MiniStatefulSet,involvedObject.name=" + set + ",reason=SuccessfulDelete"})
	if err != nil {
		e.t.Fatalf("listing events: %v", err)
	}
	out := map[string]int32{}
	for _, ev := range list.Items {
		var pod string
		if _, err := fmt.Sscanf(ev.Message, "delete Pod %s", &pod); err == nil {
			out[pod] += max(ev.Count, 1)
		}
	}
	return out
}

// TestControllerDrainsOnSIGTERM: a SIGTERM in the middle of a scale-up ends the
// controller with exit status 0 within the drain bound; started again, it finishes
// the scale-up with each ordinal created once.
func TestControllerDrainsOnSIGTERM(t *testing.T) {
	requireKwok(t)
	requireOwnController(t)
	ensureSuiteController(t)
	e := newEnv(t, "sigterm")
	e.createSet("redis", statefulSpec("redis", 4, map[string]string{holdUnready: "true"}, false))
	e.waitFor(shortWait, "redis-0 created", func() (bool, error) { return e.exists("redis-0"), nil })
	e.release("redis-0")
	e.waitFor(shortWait, "redis-1 created", func() (bool, error) { return e.exists("redis-1"), nil })
	require.NoError(t, controller.waitSynced(), "the suite's controller")
	start := time.Now()
	require.NoError(t, controller.stop(syscall.SIGTERM), "the controller's exit on SIGTERM")
	t.Logf("the controller exited with status 0 %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	e.release("redis-1")
	e.waitReady("redis-1")
	e.holdsFor(2*time.Second, "redis-2 created while the controller is stopped", func() bool { return e.exists("redis-2") })
	require.NoError(t, controller.start())
	for _, name := range []string{"redis-2", "redis-3"} {
		e.waitFor(longWait, name+" created after the restart", func() (bool, error) { return e.exists(name), nil })
		e.release(name)
	}
	e.waitReady("redis-0", "redis-1", "redis-2", "redis-3")
	assert.Equal(t, []string{"created redis-0", "created redis-1", "created redis-2", "created redis-3"},
		e.traced("MiniStatefulSet", "created"))
}

// TestSIGTERMDuringStartup: a SIGTERM that arrives while the controller is still
// syncing its caches asks for a clean shutdown like any other: exit status 0.
func TestSIGTERMDuringStartup(t *testing.T) {
	requireOwnController(t)
	p := newControllerProcess("startup", "")
	require.NoError(t, p.start())
	deadline := time.Now().Add(shortWait)
	for !strings.Contains(p.runLog(), "Waiting for caches to sync") && time.Now().Before(deadline) && p.running() {
		time.Sleep(10 * time.Millisecond)
	}
	synced := p.synced()
	err := p.stop(syscall.SIGTERM)
	if err != nil {
		t.Logf("log of the run:\n%s", p.runLog())
	}
	require.NoError(t, err, "exit on a SIGTERM during start-up (caches synced already: %v)", synced)
}

// TestRestartMidScaleDown: the controller is killed (SIGKILL) right after it deleted
// the top pod of a scale-down from 5 to 1, and started again while that pod still
// terminates. The restarted controller waits for it to be gone, then goes on in
// StatefulSet order (3, 2, 1, each gone before the next), deleting each pod once.
func TestRestartMidScaleDown(t *testing.T) {
	requireKwok(t)
	requireOwnController(t)
	ensureSuiteController(t)
	e := newEnv(t, "killdown")
	s := e.mini("redis")
	s.create(statefulSpec("redis", 5, map[string]string{deleteDelay: "3s"}, false))
	s.waitSettled(5)
	s.markTrace()
	e.scale("redis", 1)
	e.waitSaw(shortWait, "redis-4 terminating", func() (bool, string) {
		p, ok := e.pod("redis-4")
		return !ok || p.DeletionTimestamp != nil, e.describePods()
	})
	require.NoError(t, controller.stop(syscall.SIGKILL), "killing the controller")
	killed := time.Now()
	e.holdsFor(time.Second, "another pod terminating while the controller is down", func() bool {
		for _, n := range []string{"redis-0", "redis-1", "redis-2", "redis-3"} {
			if p, ok := e.pod(n); !ok || p.DeletionTimestamp != nil {
				return true
			}
		}
		return false
	})
	stillThere := e.exists("redis-4")
	require.NoError(t, controller.start(), "restarting the controller")
	t.Logf("restarted %v after the kill; redis-4 still terminating then: %v", time.Since(killed).Round(time.Millisecond), stillThere)
	s.waitSettled(1)
	assert.Equal(t, []string{
		"terminating 4", "gone 4", "terminating 3", "gone 3", "terminating 2", "gone 2", "terminating 1", "gone 1",
	}, s.order(), "scale-down order across the restart")
	counts := e.deleteCounts("redis")
	for _, n := range []string{"redis-1", "redis-2", "redis-3"} {
		assert.Equal(t, int32(1), counts[n], "SuccessfulDelete events for %s (all: %v)", n, counts)
	}
	// the killed process may not have sent its event for redis-4 before it died
	assert.LessOrEqual(t, counts["redis-4"], int32(1), "SuccessfulDelete events for redis-4 (all: %v)", counts)
}

// TestRestartMidRollingUpdate: the controller is killed (SIGKILL) in a rolling update
// of 4 pods while the second pod it replaces is terminating, and started again. The
// update finishes in StatefulSet order (3, 2, 1, 0, each replacement Ready before the
// next goes), each pod replaced once.
func TestRestartMidRollingUpdate(t *testing.T) {
	requireKwok(t)
	requireOwnController(t)
	ensureSuiteController(t)
	e := newEnv(t, "killroll")
	s := e.mini("redis")
	s.create(statefulSpec("redis", 4, map[string]string{deleteDelay: "2s"}, false))
	before := s.waitSettled(4)
	s.markTrace()
	s.setImage("redis:7.2")
	e.waitSaw(longWait, "redis-2 terminating", func() (bool, string) {
		return len(s.ords("terminating")) >= 2, eventLines(s.since())
	})
	require.NoError(t, controller.stop(syscall.SIGKILL), "killing the controller")
	killed := time.Now()
	e.holdsFor(time.Second, "redis-1 replaced while the controller is down", func() bool {
		p, ok := e.pod("redis-1")
		return !ok || p.DeletionTimestamp != nil
	})
	require.NoError(t, controller.start(), "restarting the controller")
	t.Logf("restarted %v after the kill", time.Since(killed).Round(time.Millisecond))
	after := s.waitSettled(4)
	assert.NotEqual(t, before.Status.UpdateRevision, after.Status.UpdateRevision)
	assert.Equal(t, []string{
		"terminating 3", "gone 3", "created 3", "ready 3",
		"terminating 2", "gone 2", "created 2", "ready 2",
		"terminating 1", "gone 1", "created 1", "ready 1",
		"terminating 0", "gone 0", "created 0", "ready 0",
	}, s.order(), "rolling update order across the restart")
	counts := e.deleteCounts("redis")
	for _, n := range []string{"redis-0", "redis-1", "redis-3"} {
		assert.Equal(t, int32(1), counts[n], "SuccessfulDelete events for %s (all: %v)", n, counts)
	}
	assert.LessOrEqual(t, counts["redis-2"], int32(1), "SuccessfulDelete events for redis-2 (all: %v)", counts)
}

// TestReapplyWhileOldPodsTerminate: `kubectl delete msts web` and at once an apply of
// a new web, while the old pods still terminate (kwok keeps them 4s). The new set must
// not hang: it creates web-0 as soon as the old one is gone, not at the next resync,
// re-attaches the old claims, and brings its 3 pods up in order.
func TestReapplyWhileOldPodsTerminate(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "reapply")
	spec := statefulSpec("web", 3, map[string]string{deleteDelay: "4s"}, true)
	old := e.createSet("web", spec)
	e.waitReady("web-0", "web-1", "web-2")
	claimUIDs := map[string]types.UID{}
	e.waitSaw(longWait, "3 claims", func() (bool, string) {
		list, err := kube.CoreV1().PersistentVolumeClaims(e.ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range list.Items {
			claimUIDs[c.Name] = c.UID
		}
		return len(claimUIDs) == 3, fmt.Sprint(claimUIDs)
	})
	if err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Delete(e.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting web: %v", err)
	}
	e.waitFor(shortWait, "the old web gone", func() (bool, error) {
		_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		return err != nil, nil
	})
	fresh := e.createSet("web", spec)
	require.NotEqual(t, old.UID, fresh.UID)
	e.waitFor(shortWait, "the garbage collector to start deleting the old pods", func() (bool, error) {
		p, ok := e.pod("web-0")
		return !ok || p.DeletionTimestamp != nil, nil
	})
	e.waitReady("web-0", "web-1", "web-2")
	for _, p := range e.pods() {
		ref := metav1.GetControllerOf(&p)
		require.NotNil(t, ref, "%s has no controller", p.Name)
		assert.Equal(t, fresh.UID, ref.UID, "%s belongs to the old set", p.Name)
	}
	var goneOld, createdNew time.Time
	var lines []string
	for _, ev := range e.trace.snapshot("MiniStatefulSet") {
		if ev.Pod != "web-0" {
			continue
		}
		lines = append(lines, ev.String())
		switch {
		case ev.Step == trace.Gone && goneOld.IsZero():
			goneOld = ev.At
		case ev.Step == trace.Created && !goneOld.IsZero() && createdNew.IsZero():
			createdNew = ev.At
		}
	}
	require.False(t, createdNew.IsZero(), "no new web-0 after the old one was gone:\n%s", strings.Join(lines, "\n"))
	gap := createdNew.Sub(goneOld)
	t.Logf("the new web-0 was created %v after the old one was gone", gap.Round(time.Millisecond))
	assert.Less(t, gap, 5*time.Second, "the new set waited for something other than the old web-0's removal")
	s := e.mini("web")
	s.mark = 0
	var created []string
	for _, ev := range s.since() {
		if ev.Step == trace.Created {
			created = append(created, ev.Pod)
		}
	}
	assert.Equal(t, []string{"web-0", "web-1", "web-2", "web-0", "web-1", "web-2"}, created, "pods created, old set then new")
	for name, uid := range claimUIDs {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if assert.NoError(t, err, "claim %s", name) {
			assert.Equal(t, uid, c.UID, "claim %s was recreated instead of re-attached", name)
		}
	}
}
