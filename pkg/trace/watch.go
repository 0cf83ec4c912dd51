package trace

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// syncWait bounds how long a watch may take to deliver its first list.
const syncWait = 30 * time.Second

// PodHandlers turns informer notifications into records. An update that carries a
// new UID means the watch missed a removal and a creation (a re-list after a broken
// watch): both are recorded.
func (r *Recorder) PodHandlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				r.ObservePod(pod)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*corev1.Pod)
			pod, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			if old.UID != pod.UID {
				r.RemovePod(old)
			}
			r.ObservePod(pod)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				r.RemovePod(pod)
			}
		},
	}
}

// RunInformer runs an informer until ctx ends: it lists, watches from the list's
// resourceVersion, and re-lists and watches again whenever the watch fails or the
// server closes it, so it never silently stops. onWatchError hears of each failure.
// It returns once the first list has been delivered to the handler.
func RunInformer(ctx context.Context, inf cache.SharedIndexInformer, h cache.ResourceEventHandler, onWatchError func(error)) error {
	if onWatchError != nil {
		if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			onWatchError(err)
			cache.DefaultWatchErrorHandler(ctx, r, err)
		}); err != nil {
			return err
		}
	}
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return err
	}
	go inf.RunWithContext(ctx)
	syncCtx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), reg.HasSynced) {
		return fmt.Errorf("the watch did not deliver its first list within %v", syncWait)
	}
	return nil
}

// WatchPods records a namespace's pods until ctx ends.
func WatchPods(ctx context.Context, kube kubernetes.Interface, namespace string, r *Recorder) error {
	inf := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(namespace)).Core().V1().Pods().Informer()
	return RunInformer(ctx, inf, r.PodHandlers(), func(error) { r.WatchFailed() })
}
