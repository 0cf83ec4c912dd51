//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// TestOrdinalNames proves row 1: the redis example gets redis-0..2 with the identity
// labels, hostname, subdomain and a controller ownerReference.
func TestOrdinalNames(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "names")
	set := e.createSet("redis", statefulSpec("redis", 3, nil, true))
	e.waitReady("redis-0", "redis-1", "redis-2")
	pods := e.pods()
	require.Len(t, pods, 3)
	for i, p := range pods {
		name := fmt.Sprintf("redis-%d", i)
		assert.Equal(t, name, p.Name)
		assert.Equal(t, name, p.Labels["statefulset.kubernetes.io/pod-name"])
		assert.Equal(t, strconv.Itoa(i), p.Labels["apps.kubernetes.io/pod-index"])
		assert.True(t, strings.HasPrefix(p.Labels["controller-revision-hash"], "redis-"), p.Labels["controller-revision-hash"])
		assert.Equal(t, name, p.Spec.Hostname)
		assert.Equal(t, "redis", p.Spec.Subdomain)
		ref := metav1.GetControllerOf(&p)
		require.NotNil(t, ref, "pod %s has no controller", p.Name)
		assert.Equal(t, "MiniStatefulSet", ref.Kind)
		assert.Equal(t, set.UID, ref.UID)
		assert.True(t, *ref.BlockOwnerDeletion)
	}
	e.waitFor(shortWait, "status to report 3 ready replicas", func() (bool, error) {
		s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "redis", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 3 && s.Status.AvailableReplicas == 3 &&
			s.Status.ObservedGeneration == s.Generation && s.Status.Selector == "app=redis", err
	})
}

// TestCreationOrder proves row 2: while redis-0 is held un-Ready no redis-1 exists,
// watched over several seconds; releasing each pod lets exactly the next one appear.
func TestCreationOrder(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "create")
	e.createSet("redis", statefulSpec("redis", 3, map[string]string{holdUnready: "true"}, false))
	for i := range 3 {
		name := fmt.Sprintf("redis-%d", i)
		e.waitFor(shortWait, name+" created and Running", func() (bool, error) {
			p, ok := e.pod(name)
			return ok && string(p.Status.Phase) == "Running", nil
		})
		next := fmt.Sprintf("redis-%d", i+1)
		e.holdsFor(3*time.Second, next+" created while "+name+" is un-Ready", func() bool {
			_, ok := e.pod(next)
			return ok
		})
		if i < 2 {
			e.waitFor(shortWait, "the Waiting condition to name "+name, func() (bool, error) {
				s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "redis", metav1.GetOptions{})
				for _, c := range s.Status.Conditions {
					if c.Type == appsv1alpha1.ConditionWaiting {
						return c.Message == fmt.Sprintf("waiting for %s to be Running and Ready before creating %s", name, next), err
					}
				}
				return false, err
			})
		}
		e.release(name)
	}
	e.waitReady("redis-0", "redis-1", "redis-2")
	assert.Equal(t, []string{"created redis-0", "ready redis-0", "created redis-1", "ready redis-1", "created redis-2", "ready redis-2"},
		e.traced("MiniStatefulSet", "created", "ready"))
}

// TestDeletionOrder proves row 3: scaling 3 to 0 deletes 2, then 1, then 0, each only
// after the previous one is fully gone (kwok keeps a deleted pod 2s).
func TestDeletionOrder(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "delete")
	e.createSet("redis", statefulSpec("redis", 3, map[string]string{deleteDelay: "2s"}, false))
	e.waitReady("redis-0", "redis-1", "redis-2")
	e.scale("redis", 0)
	e.waitFor(longWait, "all pods gone", func() (bool, error) { return len(e.pods()) == 0, nil })
	assert.Equal(t, []string{
		"terminating redis-2", "gone redis-2",
		"terminating redis-1", "gone redis-1",
		"terminating redis-0", "gone redis-0",
	}, e.traced("MiniStatefulSet", "terminating", "gone"))
	var term []time.Time
	for _, ev := range e.trace.snapshot("MiniStatefulSet") {
		if ev.Step == trace.Terminating {
			term = append(term, ev.At)
		}
	}
	require.Len(t, term, 3)
	for i := 1; i < 3; i++ {
		assert.GreaterOrEqual(t, term[i].Sub(term[i-1]), 1500*time.Millisecond, "each deletion waits for the 2s grace of the one above")
	}
}

// TestRestartMidScaleUp proves the controller picks up where it left off: killed
// while redis-2 is held un-Ready in a scale-up to 5, and restarted, it creates
// redis-3 and redis-4 in order, each once, with no ordinal skipped or doubled.
func TestRestartMidScaleUp(t *testing.T) {
	if controller == nil {
		t.Skip("the controller runs outside the test (MSTS_E2E_EXTERNAL_CONTROLLER): cannot restart it")
	}
	e := newEnv(t, "restart")
	e.createSet("redis", statefulSpec("redis", 5, map[string]string{holdUnready: "true"}, false))
	for i := range 2 {
		name := fmt.Sprintf("redis-%d", i)
		e.waitFor(shortWait, name+" created", func() (bool, error) { _, ok := e.pod(name); return ok, nil })
		e.release(name)
	}
	e.waitFor(shortWait, "redis-2 created", func() (bool, error) { _, ok := e.pod("redis-2"); return ok, nil })
	require.NoError(t, controller.stop(syscall.SIGKILL), "killing the controller")
	e.release("redis-2")
	e.waitReady("redis-2")
	e.holdsFor(2*time.Second, "redis-3 created while the controller is down", func() bool {
		_, ok := e.pod("redis-3")
		return ok
	})
	require.NoError(t, controller.start(), "restarting the controller")
	for i := 3; i < 5; i++ {
		name := fmt.Sprintf("redis-%d", i)
		e.waitFor(longWait, name+" created after the restart", func() (bool, error) { _, ok := e.pod(name); return ok, nil })
		e.release(name)
	}
	e.waitReady("redis-0", "redis-1", "redis-2", "redis-3", "redis-4")
	assert.Equal(t, []string{"created redis-0", "created redis-1", "created redis-2", "created redis-3", "created redis-4"},
		e.traced("MiniStatefulSet", "created"))
}
