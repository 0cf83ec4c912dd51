package trace

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// FollowOptions tune Follow.
type FollowOptions struct {
	// Now times the live records; nil is the wall clock.
	Now func() time.Time
	// OnSet hears every version of the set the watch delivers, for a caller that
	// waits on its status.
	OnSet func(*workload.Set)
}

// Follow starts watches of a set, its pods (those it controls and those named like
// its members) and the Events about it, and returns once each has delivered its
// first list: the story up to then, read back from exactly what those lists showed
// (so nothing falls between the history and the live records, and nothing is told
// twice), and a Recorder that records every change from then on until ctx ends.
func Follow(ctx context.Context, clients workload.Clients, set *workload.Set, opts FollowOptions) ([]Record, *Recorder, error) {
	r := NewRecorder(IsOfSet(set))
	if opts.Now != nil {
		r.SetClock(opts.Now)
	}
	// the three first lists are awaited together, not one after another
	var wg sync.WaitGroup
	var setErr, eventsErr, podsErr error
	var events []corev1.Event
	var pods []corev1.Pod
	wg.Add(3)
	go func() { defer wg.Done(); setErr = watchSet(ctx, clients, set, r, opts.OnSet) }()
	go func() { defer wg.Done(); events, eventsErr = watchEvents(ctx, clients, set, r) }()
	go func() { defer wg.Done(); pods, podsErr = watchSetPods(ctx, clients, set, r) }()
	wg.Wait()
	for _, err := range []error{setErr, eventsErr, podsErr} {
		if err != nil {
			return nil, nil, err
		}
	}
	workload.SortPods(set, pods)
	return HistoryOf(set, pods, events), r, nil
}

// IsOfSet accepts the pods a set controls and those named like its members.
func IsOfSet(set *workload.Set) func(*corev1.Pod) bool {
	return func(pod *corev1.Pod) bool {
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.UID == set.UID {
			return true
		}
		_, member := set.Ordinal(pod.Name)
		return member
	}
}

// watchSetPods records the namespace's pods that r keeps, taking those of the first
// list as the starting state, and returns them.
func watchSetPods(ctx context.Context, clients workload.Clients, set *workload.Set, r *Recorder) ([]corev1.Pod, error) {
	inf := informers.NewSharedInformerFactoryWithOptions(clients.Kube, 0, informers.WithNamespace(set.Namespace)).Core().V1().Pods().Informer()
	var mu sync.Mutex
	var initial []corev1.Pod
	live := r.PodHandlers()
	h := cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, isInInitialList bool) {
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			if !isInInitialList {
				r.ObservePod(pod)
				return
			}
			if r.keep == nil || r.keep(pod) {
				r.knowPod(pod)
				mu.Lock()
				initial = append(initial, *pod)
				mu.Unlock()
			}
		},
		UpdateFunc: live.UpdateFunc,
		DeleteFunc: live.DeleteFunc,
	}
	if err := RunInformer(ctx, inf, h, func(error) { r.WatchFailed() }); err != nil {
		return nil, fmt.Errorf("watching the pods of %s: %w", set.Ref(), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]corev1.Pod(nil), initial...), nil
}
