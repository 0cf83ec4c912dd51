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
	web := newSet("web").Obj()
	f := newFixture(t, web)
	webA := newSet("web-a").Obj()
	require.NoError(t, f.msts.Tracker().Add(webA))
	f.refresh()

	owned := newPod(web, &web.Spec.Template, "r", 0)
	f.c.enqueueOwner(f.ctx, owned, true)
	assert.Equal(t, []string{"default/web"}, queued(f), "through the controllerRef")

	stale := owned.DeepCopy()
	stale.OwnerReferences[0].UID = "old-uid"
	f.c.enqueueOwner(f.ctx, stale, true)
	assert.Empty(t, queued(f), "a controllerRef to an earlier set of the same name is nobody's")

	orphan := orphanPod(webA, 0)
	f.c.enqueueOwner(f.ctx, orphan, true)
	assert.Equal(t, []string{"default/web-a"}, queued(f), "an orphan wakes the sets that select it")

	f.c.enqueueOwner(f.ctx, cache.DeletedFinalStateUnknown{Key: "default/web-0", Obj: owned}, false)
	assert.Equal(t, []string{"default/web"}, queued(f), "tombstones are unwrapped")

	handlers := f.c.ownedHandlers(f.ctx)
	owned.ResourceVersion = "1"
	handlers.UpdateFunc(owned, owned)
	assert.Empty(t, queued(f), "a resync with the same resourceVersion is ignored")

	released := owned.DeepCopy()
	released.OwnerReferences = nil
	released.ResourceVersion = "2"
	released.Labels = map[string]string{"app": "web-a"}
	handlers.UpdateFunc(owned, released)
	assert.ElementsMatch(t, []string{"default/web", "default/web-a"}, queued(f), "old owner and new candidates")

	claim := newClaims(web, 0)["data-web-0"]
	if claim == nil {
		claim = &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-web-0", Namespace: ns, Labels: map[string]string{"app": "web"}}}
	}
	f.c.enqueueForClaim(f.ctx, claim)
	assert.Equal(t, []string{"default/web"}, queued(f))

	notOurs := owned.DeepCopy()
	notOurs.OwnerReferences[0].Kind = "StatefulSet"
	notOurs.OwnerReferences[0].APIVersion = "apps/v1"
	f.c.enqueueOwner(f.ctx, notOurs, true)
	assert.Empty(t, queued(f), "a built-in StatefulSet's pod is never ours")
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
	go func() { done <- c.Run(ctx, 2) }()

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
	ctx, cancel := context.WithCancel(f.ctx)
	kubeInf.Start(ctx.Done())
	setInf.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 2) }()
	t.Cleanup(func() {
		cancel()
		<-done
		kubeInf.Shutdown()
		setInf.Shutdown()
	})

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(f.ctx, 10*time.Millisecond, wait.ForeverTestTimeout, true, func(context.Context) (bool, error) { return cond(), nil })
		require.NoError(t, err, "waiting for %s; pods: %v", what, f.podNames())
	}
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
