package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// view is a namespace as watches show it: its pods (and their story, for the
// reaction latencies) and its sets of both kinds. Every change wakes what waits.
type view struct {
	ns    string
	rec   *trace.Recorder
	pods  cache.Indexer
	stss  cache.Indexer
	mstss cache.Indexer
	// changed is closed at the next change and then replaced: every waiter wakes,
	// however many wait at once (the floor's writers each wait on their own pod).
	mu      sync.Mutex
	changed chan struct{}
}

// wake tells every waiter that something changed.
func (v *view) wake() {
	v.mu.Lock()
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
}

// next is closed at the next change.
func (v *view) next() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

func watchNamespace(ctx context.Context, c workload.Clients, ns string) (*view, error) {
	v := &view{ns: ns, rec: trace.NewRecorder(nil), changed: make(chan struct{})}
	wake := v.wake
	onAny := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { wake() }, UpdateFunc: func(_, _ any) { wake() }, DeleteFunc: func(any) { wake() },
	}
	kf := informers.NewSharedInformerFactoryWithOptions(c.Kube, 0, informers.WithNamespace(ns))
	mf := mstsinformers.NewSharedInformerFactoryWithOptions(c.Sets, 0, mstsinformers.WithNamespace(ns))
	podInf := kf.Core().V1().Pods().Informer()
	stsInf := kf.Apps().V1().StatefulSets().Informer()
	mstsInf := mf.Apps().V1alpha1().MiniStatefulSets().Informer()
	v.pods, v.stss, v.mstss = podInf.GetIndexer(), stsInf.GetIndexer(), mstsInf.GetIndexer()
	if _, err := podInf.AddEventHandler(onAny); err != nil {
		return nil, err
	}
	if err := trace.RunInformer(ctx, podInf, v.rec.PodHandlers(), func(error) { v.rec.WatchFailed() }); err != nil {
		return nil, err
	}
	for _, inf := range []cache.SharedIndexInformer{stsInf, mstsInf} {
		if err := trace.RunInformer(ctx, inf, onAny, nil); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// until waits for cond, looking again at every change and at least every 50 ms, and
// returns when it first held.
func (v *view) until(ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		evaluated, changed := time.Now(), v.next()
		ok, state := cond()
		if ok {
			return evaluated, nil
		}
		last = state
		// Look again at most every 5 ms: a change comes with thousands of others
		// in a big scenario, and the harness must leave the CPU to the cluster.
		if wait := 5*time.Millisecond - time.Since(evaluated); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%s in %s: not within %v; it is at: %s", what, v.ns, timeout, last)
		case <-changed:
		case <-tick.C:
		}
	}
}

// podCount counts the namespace's pods: all of them, the Ready ones not
// terminating, and those at a label value (the revision) when given.
func (v *view) podCount(sel labels.Selector) (all, ready int) {
	for _, obj := range v.pods.List() {
		p := obj.(*corev1.Pod)
		if sel != nil && !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		all++
		if runningReady(p) {
			ready++
		}
	}
	return all, ready
}

// runningReady is a pod that is Running and Ready and not terminating.
func runningReady(p *corev1.Pod) bool {
	return trace.IsReady(p) && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
}

// readyWithImage counts the Running and Ready pods, not terminating, whose first
// container runs image.
func (v *view) readyWithImage(image string) int {
	n := 0
	for _, obj := range v.pods.List() {
		p := obj.(*corev1.Pod)
		if len(p.Spec.Containers) > 0 && p.Spec.Containers[0].Image == image && runningReady(p) {
			n++
		}
	}
	return n
}

// setCount is how many sets of the kind the namespace holds.
func (v *view) setCount(kind Controller) int {
	if kind == BuiltIn {
		return len(v.stss.ListKeys())
	}
	return len(v.mstss.ListKeys())
}

// setsSettled reports every set of the kind in the namespace with a status for its
// generation that counts want replicas, all Ready and updated, at one revision. It
// reads the typed objects as they are: it runs on every change of a namespace of
// hundreds of sets, and must cost the measured cluster next to nothing.
func (v *view) setsSettled(kind Controller, want int) (bool, string) {
	type state struct {
		name                     string
		generation, observed     int64
		replicas, ready, updated int32
		current, update          string
	}
	var sets []state
	if kind == BuiltIn {
		for _, obj := range v.stss.List() {
			s := obj.(*appsv1.StatefulSet)
			st := s.Status
			sets = append(sets, state{s.Name, s.Generation, st.ObservedGeneration, st.Replicas, st.ReadyReplicas, st.UpdatedReplicas, st.CurrentRevision, st.UpdateRevision})
		}
	} else {
		for _, obj := range v.mstss.List() {
			s := obj.(*appsv1alpha1.MiniStatefulSet)
			st := s.Status
			sets = append(sets, state{s.Name, s.Generation, st.ObservedGeneration, st.Replicas, st.ReadyReplicas, st.UpdatedReplicas, st.CurrentRevision, st.UpdateRevision})
		}
	}
	n := int32(want)
	for _, s := range sets {
		if s.observed < s.generation || s.replicas != n || s.ready != n || s.updated != n || (n > 0 && s.current != s.update) {
			return false, fmt.Sprintf("%s: observed %d of %d, %d replicas, %d Ready, %d updated", s.name, s.observed, s.generation, s.replicas, s.ready, s.updated)
		}
	}
	return true, ""
}
