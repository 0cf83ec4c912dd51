package ministatefulset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions/apps/v1alpha1"
	mstslisters "github.com/ministatefulset/ministatefulset/pkg/generated/listers/apps/v1alpha1"
)

// controllerUIDIndex indexes pods and revisions by the UID of their controller, so a
// pass finds the set's own objects without scanning the namespace.
const controllerUIDIndex = "controllerUID"

// DrainTimeout bounds how long a shutdown waits for passes already under way.
const DrainTimeout = 30 * time.Second

// Controller keeps MiniStatefulSets' pods, claims and revisions as their specs ask.
type Controller struct {
	client    versioned.Interface
	refs      refWriter
	setLister mstslisters.MiniStatefulSetLister
	podLister corelisters.PodLister
	pods      cache.Indexer
	claims    corelisters.PersistentVolumeClaimLister
	revLister appslisters.ControllerRevisionLister
	revisions cache.Indexer
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[cache.ObjectName]
	control   *setControl
	recorder  record.EventRecorder
}

// NewController wires handlers into the informers; call it before the factories
// start, since it installs transforms that drop managedFields from the cache.
func NewController(ctx context.Context, kubeClient kubernetes.Interface, client versioned.Interface,
	setInformer mstsinformers.MiniStatefulSetInformer, podInformer coreinformers.PodInformer,
	claimInformer coreinformers.PersistentVolumeClaimInformer, revInformer appsinformers.ControllerRevisionInformer,
	recorder record.EventRecorder) (*Controller, error) {
	c := &Controller{
		client:    client,
		refs:      refWriter{client: kubeClient},
		setLister: setInformer.Lister(),
		podLister: podInformer.Lister(),
		pods:      podInformer.Informer().GetIndexer(),
		claims:    claimInformer.Lister(),
		revLister: revInformer.Lister(),
		revisions: revInformer.Informer().GetIndexer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "ministatefulset"}),
		recorder: recorder,
		control: &setControl{
			pods:      newPodControl(kubeClient, recorder),
			revisions: realRevisionControl{client: kubeClient},
			status:    realStatusUpdater{client: client},
			recorder:  recorder,
			clock:     clock.RealClock{},
		},
	}
	for _, inf := range []cache.SharedIndexInformer{podInformer.Informer(), claimInformer.Informer(), revInformer.Informer()} {
		if err := inf.SetTransform(dropManagedFields); err != nil {
			return nil, err
		}
	}
	for _, inf := range []cache.SharedIndexInformer{podInformer.Informer(), revInformer.Informer()} {
		if err := inf.AddIndexers(cache.Indexers{controllerUIDIndex: indexByControllerUID}); err != nil {
			return nil, err
		}
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandlerFuncs
	}{
		{setInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.enqueue(obj) },
			UpdateFunc: func(old, cur any) { c.enqueueChanged(old, cur) },
			DeleteFunc: func(obj any) { c.enqueue(obj) },
		}},
		{podInformer.Informer(), c.ownedHandlers(ctx)},
		{revInformer.Informer(), c.ownedHandlers(ctx)},
		{claimInformer.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.enqueueForClaim(ctx, obj) },
			UpdateFunc: func(old, cur any) { c.enqueueForClaim(ctx, cur) },
			DeleteFunc: func(obj any) { c.enqueueForClaim(ctx, obj) },
		}},
	}
	for _, h := range handlers {
		reg, err := h.inf.AddEventHandler(h.h)
		if err != nil {
			return nil, err
		}
		c.synced = append(c.synced, reg.HasSynced)
	}
	return c, nil
}

func dropManagedFields(obj any) (any, error) {
	if acc, err := meta.Accessor(obj); err == nil {
		acc.SetManagedFields(nil)
	}
	return obj, nil
}

func indexByControllerUID(obj any) ([]string, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil
	}
	if ref := controllerOf(acc); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func (c *Controller) enqueue(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if acc, err := meta.Accessor(obj); err == nil {
		c.queue.Add(cache.ObjectName{Namespace: acc.GetNamespace(), Name: acc.GetName()})
	}
}

// enqueueChanged skips the periodic resync's updates that change nothing.
func (c *Controller) enqueueChanged(old, cur any) {
	o, errO := meta.Accessor(old)
	n, errN := meta.Accessor(cur)
	if errO == nil && errN == nil && sameVersion(o, n) {
		return
	}
	c.enqueue(cur)
}

// sameVersion reports a resync's replay of an unchanged object. An object without a
// resourceVersion (only fakes make those) always counts as changed.
func sameVersion(old, cur metav1.Object) bool {
	return old.GetResourceVersion() != "" && old.GetResourceVersion() == cur.GetResourceVersion()
}

// ownedHandlers map pods and revisions to their set: through the controllerRef when
// they have one, else to every set that could adopt them.
func (c *Controller) ownedHandlers(ctx context.Context) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.enqueueOwner(ctx, obj, true) },
		UpdateFunc: func(old, cur any) {
			o, n := old.(metav1.Object), cur.(metav1.Object)
			if sameVersion(o, n) {
				return
			}
			if !equalRefs(controllerOf(o), controllerOf(n)) {
				c.enqueueOwner(ctx, old, false)
			}
			c.enqueueOwner(ctx, cur, true)
		},
		DeleteFunc: func(obj any) { c.enqueueOwner(ctx, obj, false) },
	}
}

func equalRefs(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID
}

func (c *Controller) enqueueOwner(ctx context.Context, obj any, orphansToo bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	o, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if ref := controllerOf(o); ref != nil {
		if set := c.resolve(o.GetNamespace(), ref); set != nil {
			c.enqueue(set)
		}
		return
	}
	if orphansToo {
		for _, set := range c.setsSelecting(ctx, o.GetNamespace(), o.GetLabels()) {
			c.enqueue(set)
		}
	}
}

// enqueueForClaim wakes the sets a claim belongs to, so a deleted claim of a pending
// pod is recreated and a terminating claim that finally went lets creation go on.
func (c *Controller) enqueueForClaim(ctx context.Context, obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	o, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if ref := controllerOf(o); ref != nil && isSetRef(ref) {
		if set := c.resolve(o.GetNamespace(), ref); set != nil {
			c.enqueue(set)
		}
		return
	}
	for _, set := range c.setsSelecting(ctx, o.GetNamespace(), o.GetLabels()) {
		c.enqueue(set)
	}
}

// resolve returns the set a controllerRef names, if it is a live MiniStatefulSet with
// that UID.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1alpha1.MiniStatefulSet {
	if !isSetRef(ref) {
		return nil
	}
	set, err := c.setLister.MiniStatefulSets(namespace).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

func (c *Controller) setsSelecting(ctx context.Context, namespace string, lbls map[string]string) []*appsv1alpha1.MiniStatefulSet {
	sets, err := c.setLister.MiniStatefulSets(namespace).List(labels.Everything())
	if err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Listing MiniStatefulSets", "namespace", namespace)
		return nil
	}
	var out []*appsv1alpha1.MiniStatefulSet
	for _, set := range sets {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(lbls)) {
			out = append(out, set)
		}
	}
	return out
}

// Run waits for the caches, runs workers until ctx ends, then stops taking new work
// and lets the passes already queued finish (for at most DrainTimeout): a SIGTERM
// never cuts a pass in half.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	logger := klog.FromContext(ctx)
	logger.Info("Starting MiniStatefulSet controller", "workers", workers)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.synced...) {
		c.queue.ShutDown()
		return errors.New("caches did not sync")
	}
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.processNext(workCtx) {
			}
		})
	}
	<-ctx.Done()
	logger.Info("Shutting down: finishing the passes under way and queued", "timeout", DrainTimeout)
	drained := make(chan struct{})
	go func() {
		c.queue.ShutDownWithDrain()
		wg.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		logger.Info("Drained the queue")
	case <-time.After(DrainTimeout):
		cancelWork()
		<-drained
		logger.Info("Drain timed out: cancelled the passes under way")
	}
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	requeue, err := c.sync(ctx, key)
	switch {
	case errors.Is(err, errInvalidSpec):
		klog.FromContext(ctx).V(2).Info("Spec rejected; retrying with backoff", "set", key, "reason", err)
		c.queue.AddRateLimited(key)
	case err != nil:
		utilruntime.HandleErrorWithContext(ctx, err, "Syncing MiniStatefulSet; will retry", "set", key)
		c.queue.AddRateLimited(key)
	case requeue > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, requeue)
	default:
		c.queue.Forget(key)
	}
	return true
}

// sync runs one pass for a key: the set is re-read from the cache, its pods and
// revisions adopted or released, and setControl decides and writes.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "set", key)
	ctx = klog.NewContext(ctx, logger)
	start := time.Now()
	defer func() { logger.V(4).Info("Finished pass", "duration", time.Since(start)) }()

	set, err := c.setLister.MiniStatefulSets(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	selector, invalid := validateSpec(set)
	if invalid != "" {
		// Adopt and release nothing on a spec that cannot be trusted.
		selector = nil
	}
	ad := &adopter{client: c.client, set: set}
	pods, err := c.claimPods(ctx, set, selector, ad)
	if err != nil {
		return 0, err
	}
	revisions, err := c.claimRevisions(ctx, set, selector, ad)
	if err != nil {
		return 0, err
	}
	return c.control.syncSet(ctx, set, pods, c.claimsOf(set, pods), revisions)
}

// claimPods returns the set's pods: those it controls that still match its selector
// and name pattern, plus orphans that match and are adopted now. Controlled pods that
// stopped matching are released. With a nil selector nothing changes hands.
func (c *Controller) claimPods(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, selector labels.Selector, ad *adopter) ([]*corev1.Pod, error) {
	owned, err := c.pods.ByIndex(controllerUIDIndex, string(set.UID))
	if err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for _, obj := range owned {
		pod := obj.(*corev1.Pod)
		if pod.Namespace != set.Namespace {
			continue
		}
		if selector == nil || (selector.Matches(labels.Set(pod.Labels)) && isMemberOf(set, pod)) {
			if isMemberOf(set, pod) {
				pods = append(pods, pod)
			}
			continue
		}
		if pod.DeletionTimestamp != nil {
			continue
		}
		patch, err := releasePatch(set, pod.UID)
		if err != nil {
			return nil, err
		}
		if _, err := c.refs.patchPod(ctx, pod, patch); ignoreGone(err) != nil {
			c.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedRelease, "release Pod %s from MiniStatefulSet %s failed error: %v", pod.Name, set.Name, err)
			return nil, err
		}
		klog.FromContext(ctx).V(2).Info("Released pod that no longer matches", "pod", klog.KObj(pod))
	}
	if selector == nil {
		return pods, nil
	}
	candidates, err := c.podLister.Pods(set.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	for _, pod := range candidates {
		if controllerOf(pod) != nil || pod.DeletionTimestamp != nil || !isMemberOf(set, pod) {
			continue
		}
		if err := ad.canAdopt(ctx); err != nil {
			return nil, err
		}
		patch, err := adoptPatch(set, pod.UID)
		if err != nil {
			return nil, err
		}
		adopted, err := c.refs.patchPod(ctx, pod, patch)
		if err != nil {
			if ignoreGone(err) == nil {
				continue
			}
			c.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedAdopt, "adopt Pod %s into MiniStatefulSet %s failed error: %v", pod.Name, set.Name, err)
			return nil, err
		}
		klog.FromContext(ctx).V(2).Info("Adopted orphan pod", "pod", klog.KObj(pod))
		pods = append(pods, adopted)
	}
	return pods, nil
}

// claimRevisions does for ControllerRevisions what claimPods does for pods.
func (c *Controller) claimRevisions(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, selector labels.Selector, ad *adopter) ([]*appsv1.ControllerRevision, error) {
	owned, err := c.revisions.ByIndex(controllerUIDIndex, string(set.UID))
	if err != nil {
		return nil, err
	}
	var revs []*appsv1.ControllerRevision
	for _, obj := range owned {
		if rev := obj.(*appsv1.ControllerRevision); rev.Namespace == set.Namespace {
			revs = append(revs, rev)
		}
	}
	if selector == nil {
		return revs, nil
	}
	candidates, err := c.revLister.ControllerRevisions(set.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	for _, rev := range candidates {
		if controllerOf(rev) != nil || rev.DeletionTimestamp != nil {
			continue
		}
		if err := ad.canAdopt(ctx); err != nil {
			return nil, err
		}
		patch, err := adoptPatch(set, rev.UID)
		if err != nil {
			return nil, err
		}
		adopted, err := c.refs.patchRevision(ctx, rev, patch)
		if err != nil {
			if ignoreGone(err) == nil {
				continue
			}
			return nil, fmt.Errorf("adopting revision %s: %w", rev.Name, err)
		}
		revs = append(revs, adopted)
	}
	return revs, nil
}

// claimsOf looks up the existing claims of every ordinal the set owns or has a pod at.
func (c *Controller) claimsOf(set *appsv1alpha1.MiniStatefulSet, pods []*corev1.Pod) map[string]*corev1.PersistentVolumeClaim {
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	lookup := func(ordinal int) {
		for _, t := range set.Spec.VolumeClaimTemplates {
			name := claimName(t.Name, set, ordinal)
			if claim, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(name); err == nil {
				claims[name] = claim
			}
		}
	}
	start := startOrdinal(set)
	for ord := start; ord < start+replicaCount(set); ord++ {
		lookup(ord)
	}
	for _, pod := range pods {
		lookup(ordinalOf(set, pod))
	}
	return claims
}
