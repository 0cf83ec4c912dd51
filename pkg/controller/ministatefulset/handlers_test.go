package ministatefulset

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
)

// queued drains the queue and returns the keys in it.
func queued(f *fixture) []string {
	var keys []string
	for f.c.queue.Len() > 0 {
		k, _ := f.c.queue.Get()
		keys = append(keys, k.String())
		f.c.queue.Done(k)
		f.c.queue.Forget(k)
	}
	return keys
}

func TestHandlersMapObjectsToTheirSet(t *testing.T) {
	web := newSet("web").Claims("data").Obj()
	f := newFixture(t, web)
	webA := newSet("web-a").Obj()
	require.NoError(t, f.msts.Tracker().Add(webA))
	f.refresh()
	pods := f.c.podHandlers(f.ctx)

	owned := newPod(web, &web.Spec.Template, "r", 0)
	owned.ResourceVersion = "1"
	pods.AddFunc(owned)
	assert.Equal(t, []string{"default/web"}, queued(f), "through the controllerRef")

	earlier := owned.DeepCopy()
	earlier.OwnerReferences[0].UID = "old-uid"
	pods.AddFunc(earlier)
	assert.Equal(t, []string{"default/web"}, queued(f), "a pod of an earlier set of the same name holds a name the set waits for")

	gone := newSet("gone").Obj()
	pods.AddFunc(newPod(gone, &gone.Spec.Template, "r", 0))
	assert.Empty(t, queued(f), "a pod of a set that no longer exists wakes nobody")

	pods.AddFunc(orphanPod(webA, 0))
	assert.Equal(t, []string{"default/web-a"}, queued(f), "an orphan wakes the sets that select it")

	pods.DeleteFunc(cache.DeletedFinalStateUnknown{Key: "default/web-0", Obj: owned})
	assert.Equal(t, []string{"default/web"}, queued(f), "tombstones are unwrapped")

	pods.UpdateFunc(owned, owned)
	assert.Empty(t, queued(f), "a resync with the same resourceVersion is ignored")

	released := owned.DeepCopy()
	released.OwnerReferences = nil
	released.ResourceVersion = "2"
	released.Name = "other-0"
	released.Labels = map[string]string{"app": "web-a"}
	pods.UpdateFunc(owned, released)
	assert.ElementsMatch(t, []string{"default/web", "default/web-a"}, queued(f), "old owner and new candidates")

	claims := f.c.claimHandlers(f.ctx)
	claim := newClaims(web, 0)["data-web-0"]
	require.NotNil(t, claim)
	claim.Labels = nil
	claims.AddFunc(claim)
	assert.Equal(t, []string{"default/web"}, queued(f), "a claim maps to its set by name, whatever its labels")
	other := claim.DeepCopy()
	other.Name = "logs-web-0"
	claims.AddFunc(other)
	assert.Empty(t, queued(f), "a claim of no claim template of the set wakes nobody")

	notOurs := owned.DeepCopy()
	notOurs.Name = "db-0"
	notOurs.OwnerReferences[0].Kind = "StatefulSet"
	notOurs.OwnerReferences[0].APIVersion = "apps/v1"
	notOurs.OwnerReferences[0].Name = "db"
	pods.AddFunc(notOurs)
	assert.Empty(t, queued(f), "a built-in StatefulSet's pod, though it matches the selector, is never ours")

	sets := f.c.setHandlers()
	sets.UpdateFunc(web, web)
	assert.Equal(t, []string{"default/web"}, queued(f), "a set's resync is a pass: the safety net")
}

// blockingPods holds the first pod create until released, recording whether the
// context of the pass was still alive when the create went out.
type blockingPods struct {
	podControl
	entered, release chan struct{}
	ctxErr           chan error
}

func (b *blockingPods) CreatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error {
	select {
	case b.entered <- struct{}{}:
		<-b.release
		b.ctxErr <- ctx.Err()
	default:
	}
	return b.podControl.CreatePod(ctx, set, pod, claims)
}

// TestRunThroughInformers runs the controller as main does, with informers and
// workers, and stops it in the middle of a pass: the pass finishes, then Run returns.
func TestRunThroughInformers(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Claims("data").Obj())
	kubeInf := informers.NewSharedInformerFactory(f.kube, 0)
	setInf := mstsinformers.NewSharedInformerFactory(f.msts, 0)
	c, err := NewController(f.ctx, f.kube, f.msts, setInf.Apps().V1alpha1().MiniStatefulSets(),
		kubeInf.Core().V1().Pods(), kubeInf.Core().V1().PersistentVolumeClaims(), kubeInf.Apps().V1().ControllerRevisions(), f.recorder)
	require.NoError(t, err)
	block := &blockingPods{podControl: c.control.pods, entered: make(chan struct{}), release: make(chan struct{}), ctxErr: make(chan error, 1)}
	c.control.pods = block

	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	kubeInf.Start(ctx.Done())
	setInf.Start(ctx.Done())
	defer kubeInf.Shutdown()
	defer setInf.Shutdown()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, context.Background(), 2) }()

	select {
	case <-block.entered:
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("no pod create within the timeout")
	}
	cancel()
	close(block.release)
	require.NoError(t, <-block.ctxErr, "a pass under way keeps a live context through shutdown")
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("Run did not return after the drain")
	}
	assert.Equal(t, []string{"web-0"}, f.podNames(), "the pass that was under way completed")
	assert.Equal(t, []string{"data-web-0"}, f.claimNames())
	assert.True(t, c.queue.ShuttingDown())
}

// TestOrderThroughInformers drives two ordinals through real watches and workers.
func TestOrderThroughInformers(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(2).Obj())
	kubeInf := informers.NewSharedInformerFactory(f.kube, 0)
	setInf := mstsinformers.NewSharedInformerFactory(f.msts, 0)
	c, err := NewController(f.ctx, f.kube, f.msts, setInf.Apps().V1alpha1().MiniStatefulSets(),
		kubeInf.Core().V1().Pods(), kubeInf.Core().V1().PersistentVolumeClaims(), kubeInf.Apps().V1().ControllerRevisions(), f.recorder)
	require.NoError(t, err)
	waitFor := f.runThroughInformers(c, kubeInf, setInf)
	waitFor("web-0", func() bool { return len(f.podNames()) == 1 })
	waitFor("the Waiting condition", func() bool {
		c := f.condition("web", appsv1alpha1.ConditionWaiting)
		return c != nil && c.Message == "waiting for web-0 to be Running and Ready before creating web-1"
	})
	assert.Equal(t, []string{"web-0"}, f.podNames(), "web-1 waits for web-0")
	pod := f.pod("web-0")
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	_, err = f.kube.CoreV1().Pods(ns).UpdateStatus(f.ctx, pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	waitFor("web-1 after web-0 is Ready", func() bool { return len(f.podNames()) == 2 })
}

// runThroughInformers starts the factories and c's workers until the test ends, and
// returns a bounded wait for a condition on the fake API.
func (f *fixture) runThroughInformers(c *Controller, factories ...interface {
	Start(<-chan struct{})
	Shutdown()
}) func(what string, cond func() bool) {
	ctx, cancel := context.WithCancel(f.ctx)
	for _, inf := range factories {
		inf.Start(ctx.Done())
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, context.Background(), 2) }()
	f.t.Cleanup(func() {
		cancel()
		<-done
		for _, inf := range factories {
			inf.Shutdown()
		}
	})
	return func(what string, cond func() bool) {
		f.t.Helper()
		err := wait.PollUntilContextTimeout(f.ctx, 10*time.Millisecond, wait.ForeverTestTimeout, true, func(context.Context) (bool, error) { return cond(), nil })
		require.NoError(f.t, err, "waiting for %s; pods: %v", what, f.podNames())
	}
}

// TestStopBeforeCachesSync: a SIGTERM while the caches still sync is a clean stop
// (exit 0), not "caches did not sync"; an abort likewise.
func TestStopBeforeCachesSync(t *testing.T) {
	for _, which := range []string{"SIGTERM", "abort"} {
		t.Run(which, func(t *testing.T) {
			f := newFixture(t, newSet("web").Obj())
			kubeInf := informers.NewSharedInformerFactory(f.kube, 0)
			setInf := mstsinformers.NewSharedInformerFactory(f.msts, 0)
			c, err := NewController(f.ctx, f.kube, f.msts, setInf.Apps().V1alpha1().MiniStatefulSets(),
				kubeInf.Core().V1().Pods(), kubeInf.Core().V1().PersistentVolumeClaims(), kubeInf.Apps().V1().ControllerRevisions(), f.recorder)
			require.NoError(t, err)
			ctx, sigterm := context.WithCancel(f.ctx)
			abort, abortNow := context.WithCancel(f.ctx)
			defer abortNow()
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx, abort, 2) }() // the informers never start: the caches never sync
			if which == "SIGTERM" {
				sigterm()
			} else {
				abortNow()
			}
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(wait.ForeverTestTimeout):
				t.Fatal("Run did not return")
			}
			sigterm()
		})
	}
}
