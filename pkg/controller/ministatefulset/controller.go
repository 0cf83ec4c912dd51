package ministatefulset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions/apps/v1alpha1"
)

// controllerUIDIndex indexes pods and revisions by the UID of their controller, so a
// pass finds the set's own objects without scanning the namespace.
const controllerUIDIndex = "controllerUID"

// orphanIndex indexes pods and revisions that no controller owns by namespace, so a
// pass looks for orphans to adopt among those only: scanning a namespace of 1,500
// pods for them on every pass took a quarter of the controller's CPU.
const orphanIndex = "orphanNamespace"

// maxRetryBackoff bounds the wait before a failed pass is tried again. Every event
// of a failing set brings a pass that fails again and doubles the backoff, so with
// client-go's default bound (1000 s) a set refused by a quota for a few seconds of
// busy events was not tried again for minutes after the quota was raised (seen in an
// e2e run: 31 failures in 6 s, then nothing for the test's 90 s). Kept at 30 s, a
// set whose writes keep failing costs one pass every 30 s.
const maxRetryBackoff = 30 * time.Second

// retryLimiter is client-go's default controller rate limiter (per-item exponential
// backoff from 5 ms, and an overall 10 per second with bursts of 100) with the
// per-item backoff bounded by maxRetryBackoff.
func retryLimiter() workqueue.TypedRateLimiter[cache.ObjectName] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[cache.ObjectName](5*time.Millisecond, maxRetryBackoff),
		&workqueue.TypedBucketRateLimiter[cache.ObjectName]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// DrainTimeout bounds how long a shutdown waits for passes already under way.
const DrainTimeout = 30 * time.Second

// Controller keeps MiniStatefulSets' pods, claims and revisions as their specs ask.
type Controller struct {
	api       setAPI
	refs      refWriter
	setLister setsByNamespace
	pods      indexed
	claims    claimsByNamespace
	revisions indexed
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[cache.ObjectName]
	control   *setControl
	recorder  record.EventRecorder
	// progress is the workers' last sign of life, for the liveness probe.
	progress *progress
}

// NewController wires handlers into the informers of every namespace; call it
// before the factories start, since it installs transforms that drop managedFields
// from the cache and keep views of pods (podView).
func NewController(ctx context.Context, kubeClient kubernetes.Interface, client versioned.Interface,
	setInformer mstsinformers.MiniStatefulSetInformer, podInformer coreinformers.PodInformer,
	claimInformer coreinformers.PersistentVolumeClaimInformer, revInformer appsinformers.ControllerRevisionInformer,
	recorder record.EventRecorder) (*Controller, error) {
	return NewScopedController(ctx, kubeClient, client,
		[]Informers{{Sets: setInformer, Pods: podInformer, Claims: claimInformer, Revisions: revInformer}}, recorder)
}

// NewScopedController is NewController over the informers of one or more scopes
// (see Informers): the controller acts on the sets those informers show.
func NewScopedController(ctx context.Context, kubeClient kubernetes.Interface, client versioned.Interface,
	scopes []Informers, recorder record.EventRecorder) (*Controller, error) {
	if len(scopes) == 0 {
		return nil, errors.New("no informers: give at least one scope")
	}
	prog := &progress{}
	sets, claims, pods, revisions := readers(scopes)
	api := setAPI{kube: kubeClient, msts: client}
	c := &Controller{
		api:       api,
		refs:      refWriter{client: kubeClient},
		setLister: sets,
		pods:      pods,
		claims:    claims,
		revisions: revisions,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(retryLimiter(),
			workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "ministatefulset"}),
		recorder: recorder,
		control: &setControl{
			pods:      newPodControl(kubeClient, recorder),
			revisions: realRevisionControl{client: kubeClient},
			status:    realStatusUpdater{api: api},
			recorder:  recorder,
			clock:     clock.RealClock{},
			created:   newCreatedPods(),
			written:   newLastWrites(),
			waits:     newWaitGauge(),
			progress:  prog,
			pacing:    newPassPacing(),
			refusals:  newRefusals(),
			once:      newOnceEvents(),
		},
		progress: prog,
	}
	for _, s := range scopes {
		if err := c.watch(ctx, s); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// watch installs the transforms, indexers and handlers on one scope's informers.
func (c *Controller) watch(ctx context.Context, s Informers) error {
	if err := s.Pods.Informer().SetTransform(podView); err != nil {
		return err
	}
	if err := s.Sets.Informer().SetTransform(setView); err != nil {
		return err
	}
	for _, inf := range []cache.SharedIndexInformer{s.Claims.Informer(), s.Revisions.Informer()} {
		if err := inf.SetTransform(dropManagedFields); err != nil {
			return err
		}
	}
	for _, inf := range []cache.SharedIndexInformer{s.Pods.Informer(), s.Revisions.Informer()} {
		if err := inf.AddIndexers(cache.Indexers{controllerUIDIndex: indexByControllerUID, orphanIndex: indexOrphans}); err != nil {
			return err
		}
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandlerFuncs
	}{
		{s.Sets.Informer(), c.setHandlers()},
		{s.Pods.Informer(), c.podHandlers(ctx)},
		{s.Revisions.Informer(), c.revisionHandlers(ctx)},
		{s.Claims.Informer(), c.claimHandlers(ctx)},
	}
	for _, h := range handlers {
		reg, err := h.inf.AddEventHandler(h.h)
		if err != nil {
			return err
		}
		c.synced = append(c.synced, reg.HasSynced)
	}
	return nil
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

func indexOrphans(obj any) ([]string, error) {
	acc, err := meta.Accessor(obj)
	if err != nil || controllerOf(acc) != nil {
		return nil, nil
	}
	return []string{acc.GetNamespace()}, nil
}

// orphans are the namespace's pods or revisions (of indexer) that no controller
// owns and that selector matches.
func orphans[T metav1.Object](indexer indexed, namespace string, selector labels.Selector) ([]T, error) {
	objs, err := indexer.ByIndex(orphanIndex, namespace)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, obj := range objs {
		if o, ok := obj.(T); ok && selector.Matches(labels.Set(o.GetLabels())) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (c *Controller) enqueue(obj any) {
	if acc, err := meta.Accessor(unwrap(obj)); err == nil {
		c.queue.Add(cache.ObjectName{Namespace: acc.GetNamespace(), Name: acc.GetName()})
	}
}

// unwrap returns the object a tombstone stands for.
func unwrap(obj any) any {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return obj
}

// setHandlers enqueue a set on every event, the periodic resync's replays included:
// the resync is the safety net that ends any wait an event failed to end, as in
// kube-controller-manager.
func (c *Controller) setHandlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.enqueue,
	}
}

// sameVersion reports a resync's replay of an unchanged object. An object without a
// resourceVersion (only fakes make those) always counts as changed.
func sameVersion(old, cur metav1.Object) bool {
	return old.GetResourceVersion() != "" && old.GetResourceVersion() == cur.GetResourceVersion()
}

// podHandlers wake the sets a pod's event concerns (see wakeForPod), and, when a pod
// becomes Ready under minReadySeconds, its set once more when it has become
// available.
func (c *Controller) podHandlers(ctx context.Context) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				c.control.created.seen(pod.Namespace, pod.Name)
			}
			c.wakeForPod(ctx, nil, obj)
		},
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.Pod), cur.(*corev1.Pod)
			c.control.created.seen(n.Namespace, n.Name)
			if n.DeletionTimestamp != nil {
				c.control.created.gone(n.UID)
			}
			if sameVersion(o, n) {
				return
			}
			c.wakeForPod(ctx, o, n)
			if !isRunningAndReady(o) && isRunningAndReady(n) {
				if set := c.resolve(n.Namespace, controllerOf(n)); set != nil && set.Spec.MinReadySeconds > 0 {
					c.queue.AddAfter(cache.MetaObjectToName(set), time.Duration(set.Spec.MinReadySeconds)*time.Second+time.Second)
				}
			}
		},
		DeleteFunc: func(obj any) {
			if pod, ok := unwrap(obj).(*corev1.Pod); ok {
				c.control.created.seen(pod.Namespace, pod.Name)
				c.control.created.gone(pod.UID)
			}
			c.wakeForPod(ctx, nil, obj)
		},
	}
}

// wakeForPod enqueues the set that controls the pod (and the one that did, when the
// controller changed), the set whose name the pod's name is made from, whatever
// owner the pod has (a pod of an earlier set of that name, still terminating, holds a
// name the set waits for), and, for an orphan, every set that could adopt it.
func (c *Controller) wakeForPod(ctx context.Context, old *corev1.Pod, obj any) {
	pod, ok := unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	if old != nil && !equalRefs(controllerOf(old), controllerOf(pod)) {
		c.enqueueController(old)
	}
	if setName, _, ok := splitOrdinal(pod.Name); ok {
		if set, err := c.setLister.MiniStatefulSets(pod.Namespace).Get(setName); err == nil {
			c.enqueue(set)
		}
	}
	if c.enqueueController(pod) || pod.DeletionTimestamp != nil {
		return
	}
	for _, set := range c.setsSelecting(ctx, pod.Namespace, pod.Labels) {
		c.enqueue(set)
	}
}

// revisionHandlers wake a revision's set, or for an orphan the sets that could adopt it.
func (c *Controller) revisionHandlers(ctx context.Context) cache.ResourceEventHandlerFuncs {
	wake := func(obj any) {
		o, err := meta.Accessor(unwrap(obj))
		if err != nil || c.enqueueController(o) {
			return
		}
		for _, set := range c.setsSelecting(ctx, o.GetNamespace(), o.GetLabels()) {
			c.enqueue(set)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: wake,
		UpdateFunc: func(old, cur any) {
			o, n := old.(metav1.Object), cur.(metav1.Object)
			if sameVersion(o, n) {
				return
			}
			if !equalRefs(controllerOf(o), controllerOf(n)) {
				c.enqueueController(o)
			}
			wake(cur)
		},
		DeleteFunc: wake,
	}
}

// enqueueController enqueues the live set that controls obj, and reports whether
// obj has a controller at all.
func (c *Controller) enqueueController(obj metav1.Object) bool {
	ref := controllerOf(obj)
	if ref == nil {
		return false
	}
	if set := c.resolve(obj.GetNamespace(), ref); set != nil {
		c.enqueue(set)
	}
	return true
}

func equalRefs(a, b *metav1.OwnerReference) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UID == b.UID
}

// claimHandlers wake the sets a claim's event concerns: a claim matters to a set only
// under one of the set's claim names, whoever owns it (an earlier set of the same
// name whose claims the garbage collector is deleting, an earlier pod's stale claim),
// so claims are mapped to sets by name alone.
func (c *Controller) claimHandlers(ctx context.Context) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.enqueueForClaim(ctx, obj) },
		UpdateFunc: func(old, cur any) {
			if !sameVersion(old.(metav1.Object), cur.(metav1.Object)) {
				c.enqueueForClaim(ctx, cur)
			}
		},
		DeleteFunc: func(obj any) { c.enqueueForClaim(ctx, obj) },
	}
}

// enqueueForClaim enqueues every set of the claim's namespace that names one of its
// claims as this one is named: <template>-<set>-<ordinal>.
func (c *Controller) enqueueForClaim(ctx context.Context, obj any) {
	o, err := meta.Accessor(unwrap(obj))
	if err != nil {
		return
	}
	prefix, _, ok := splitOrdinal(o.GetName())
	if !ok {
		return
	}
	sets, err := c.setLister.MiniStatefulSets(o.GetNamespace()).List(labels.Everything())
	if err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Listing MiniStatefulSets", "namespace", o.GetNamespace())
		return
	}
	for _, set := range sets {
		for _, t := range set.Spec.VolumeClaimTemplates {
			if prefix == t.Name+"-"+set.Name {
				c.enqueue(set)
				break
			}
		}
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

// FoldStatusWrites lets a set in progress write its status at most once an interval
// (see statusFold); 0, the default, writes every change at once. Call it before Run.
func (c *Controller) FoldStatusWrites(interval time.Duration) {
	c.control.fold = newStatusFold(interval)
}

// Run waits for the caches and runs workers until ctx ends; then it stops taking new
// work and lets the passes already queued finish (for at most DrainTimeout), so a
// SIGTERM never cuts a pass in half. When abort ends, everything stops at once: the
// passes under way are cancelled and no queued key is started, for a controller that
// lost its leader election Lease must not write another byte.
func (c *Controller) Run(ctx, abort context.Context, workers int) error {
	logger := klog.FromContext(ctx)
	logger.Info("Starting MiniStatefulSet controller", "workers", workers)
	syncCtx, stopSync := context.WithCancel(ctx)
	defer stopSync()
	defer context.AfterFunc(abort, stopSync)()
	if !cache.WaitForNamedCacheSyncWithContext(syncCtx, c.synced...) {
		c.queue.ShutDown()
		if ctx.Err() != nil || abort.Err() != nil {
			// Stopped before the caches synced: nothing was under way, a clean stop.
			return nil
		}
		return errors.New("caches did not sync")
	}
	workCtx, cancelWork := context.WithCancel(klog.NewContext(abort, logger))
	defer cancelWork()
	c.progress.start()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.processNext(workCtx) {
			}
		})
	}
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-abort.Done():
		logger.Info("Aborting: cancelling the passes under way")
		cancelWork()
		c.queue.ShutDown()
		<-stopped
		return nil
	case <-ctx.Done():
	}
	logger.Info("Shutting down: finishing the passes under way and queued", "timeout", DrainTimeout)
	go c.queue.ShutDownWithDrain()
	select {
	case <-stopped:
		logger.Info("Drained the queue")
		return nil
	case <-abort.Done():
		logger.Info("Aborting the drain: cancelling the passes under way")
	case <-time.After(DrainTimeout):
		logger.Info("Drain timed out: cancelling the passes under way")
	}
	cancelWork()
	c.queue.ShutDown()
	<-stopped
	return nil
}

// processNext runs one pass. A pass that fails, waits with backoff or panics is
// retried with backoff; a panic fails that pass only, never the process.
func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	c.progress.mark()
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		return false
	}
	if wait := c.control.pacing.hold(key, c.control.clock.Now()); wait > 0 {
		// Not dropped: the queue brings the set back when the wait ends, and the
		// events that come meanwhile are folded into that one pass.
		c.queue.AddAfter(key, wait)
		return true
	}
	var requeue time.Duration
	start := time.Now()
	err := recovered(func() error {
		var err error
		requeue, err = c.sync(ctx, key)
		return err
	})
	result := passSuccess
	switch {
	case errors.Is(err, errInvalidSpec), errors.Is(err, errWaiting):
		klog.FromContext(ctx).V(2).Info("Retrying with backoff", "ministatefulset", key, "reason", err)
		c.queue.AddRateLimited(key)
		result = passWaiting
		if errors.Is(err, errInvalidSpec) {
			result = passInvalid
		}
	case err != nil:
		utilruntime.HandleErrorWithContext(ctx, err, "Syncing MiniStatefulSet; will retry", "ministatefulset", key)
		c.queue.AddRateLimited(key)
		result = passError
	case requeue > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, requeue)
		result = passRequeue
	default:
		c.queue.Forget(key)
	}
	observePass(result, time.Since(start))
	c.progress.mark()
	return true
}

// sync runs one pass for a key: the set is re-read from the cache, its pods and
// revisions adopted or released, and setControl decides and writes.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	logger := klog.LoggerWithValues(klog.FromContext(ctx), "ministatefulset", key)
	ctx = klog.NewContext(ctx, logger)
	start := time.Now()
	defer func() { logger.V(4).Info("Finished pass", "duration", time.Since(start)) }()

	set, err := c.setLister.MiniStatefulSets(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.control.fold.forget(key)
		c.control.pacing.forget(key)
		c.control.written.forget(key)
		c.control.waits.forget(key)
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
	ad := &adopter{api: c.api, set: set}
	pods, err := c.claimPods(ctx, set, selector, ad)
	if err != nil {
		return 0, err
	}
	revisions, err := c.claimRevisions(ctx, set, selector, ad)
	if err != nil {
		return 0, err
	}
	return c.control.syncSet(ctx, set, pods, c.claimGetter(set.Namespace), revisions)
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
		member := isMemberOf(set, pod)
		if selector == nil || (member && selector.Matches(labels.Set(pod.Labels))) {
			if member {
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
			c.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedRelease, "release Pod %s from %s %s failed error: %v", pod.Name, kindOf(set).Kind, set.Name, err)
			return nil, err
		}
		klog.FromContext(ctx).V(2).Info("Released pod that no longer matches", "pod", klog.KObj(pod))
	}
	if selector == nil {
		return pods, nil
	}
	candidates, err := orphans[*corev1.Pod](c.pods, set.Namespace, selector)
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
			c.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedAdopt, "adopt Pod %s into %s %s failed error: %v", pod.Name, kindOf(set).Kind, set.Name, err)
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
	candidates, err := orphans[*appsv1.ControllerRevision](c.revisions, set.Namespace, selector)
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

// claimGetter looks claims up in the informer's cache, by name.
func (c *Controller) claimGetter(namespace string) claimGetter {
	claims := c.claims.PersistentVolumeClaims(namespace)
	return func(name string) *corev1.PersistentVolumeClaim {
		claim, err := claims.Get(name)
		if err != nil {
			return nil
		}
		return claim
	}
}
