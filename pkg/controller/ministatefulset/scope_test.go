package ministatefulset

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"

	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
)

// TestScopedControllerActsInItsNamespacesOnly: a controller given the informers of
// namespaces a and b is not ready before they synced, then creates the pods of the
// sets in a and b and never sees the set in c.
func TestScopedControllerActsInItsNamespacesOnly(t *testing.T) {
	f := newFixture(t, newSet("other").Replicas(1).Obj())
	for _, namespace := range []string{"a", "b", "c"} {
		set := newSet("web").Replicas(1).Obj()
		set.Namespace = namespace
		require.NoError(t, f.msts.Tracker().Add(set))
	}
	ctx, cancel := context.WithCancel(f.ctx)
	var scopes []Informers
	var starts []func()
	for _, namespace := range []string{"a", "b"} {
		kubeInf := informers.NewSharedInformerFactoryWithOptions(f.kube, 0, informers.WithNamespace(namespace))
		setInf := mstsinformers.NewSharedInformerFactoryWithOptions(f.msts, 0, mstsinformers.WithNamespace(namespace))
		scopes = append(scopes, Informers{Namespace: namespace, Sets: setInf.Apps().V1alpha1().MiniStatefulSets(),
			Pods: kubeInf.Core().V1().Pods(), Claims: kubeInf.Core().V1().PersistentVolumeClaims(), Revisions: kubeInf.Apps().V1().ControllerRevisions()})
		starts = append(starts, func() { kubeInf.Start(ctx.Done()); setInf.Start(ctx.Done()) })
		t.Cleanup(kubeInf.Shutdown)
		t.Cleanup(setInf.Shutdown)
	}
	c, err := NewScopedController(f.ctx, f.kube, f.msts, scopes, f.recorder)
	require.NoError(t, err)
	assert.ErrorIs(t, c.Ready(), errNotSynced, "no informer started yet")

	for _, start := range starts {
		start()
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, context.Background(), 2) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	require.Eventually(t, func() bool { return c.Ready() == nil }, wait.ForeverTestTimeout, 10*time.Millisecond, "ready once synced")
	for _, namespace := range []string{"a", "b"} {
		require.Eventually(t, func() bool {
			_, err := f.kube.CoreV1().Pods(namespace).Get(f.ctx, "web-0", metav1.GetOptions{})
			return err == nil
		}, wait.ForeverTestTimeout, 10*time.Millisecond, "web-0 in %s", namespace)
	}
	pods, err := f.kube.CoreV1().Pods("c").List(f.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pods.Items, "namespace c is out of scope")
	outside, err := c.setLister.MiniStatefulSets("c").List(labels.Everything())
	require.NoError(t, err)
	assert.Empty(t, outside, "out of scope reads as empty")
}
