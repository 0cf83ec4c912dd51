package trace

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// WatchSet records, until ctx ends, the set's spec changes (a Spec record per new
// generation, saying what changed), its deletion, and each new Event about it.
// onSet (may be nil) hears every version of the set.
func WatchSet(ctx context.Context, clients workload.Clients, set *workload.Set, r *Recorder, onSet func(*workload.Set)) error {
	if err := watchSet(ctx, clients, set, r, onSet); err != nil {
		return err
	}
	_, err := watchEvents(ctx, clients, set, r)
	return err
}

// watchSet follows the set object itself, of either kind.
func watchSet(ctx context.Context, clients workload.Clients, set *workload.Set, r *Recorder, onSet func(*workload.Set)) error {
	lw, obj := clients.ListWatch(set.Ref())
	inf := cache.NewSharedIndexInformer(lw, obj, 0, cache.Indexers{})
	view := func(obj any) *workload.Set {
		s, err := workload.View(obj)
		if err != nil {
			return nil
		}
		return s
	}
	w := &setWatch{name: set.Name, r: r, onSet: onSet}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.saw(view(obj)) },
		UpdateFunc: func(_, obj any) { w.saw(view(obj)) },
		DeleteFunc: func(obj any) { w.gone(view(obj)) },
	}
	if err := RunInformer(ctx, inf, h, func(error) { r.WatchFailed() }); err != nil {
		return fmt.Errorf("watching %s: %w", set.Ref(), err)
	}
	return nil
}

// setWatch remembers the last version of the set seen, to say what a new
// generation changed.
type setWatch struct {
	name  string
	r     *Recorder
	onSet func(*workload.Set)

	mu          sync.Mutex
	started     bool
	last        *workload.Set
	terminating bool
}

func (w *setWatch) saw(s *workload.Set) {
	if s == nil || s.Name != w.name {
		return
	}
	w.mu.Lock()
	last := w.last
	w.last = s
	started := w.started
	w.started = true
	switch {
	case !started:
		// the first version is the starting state, which History tells
	case last == nil || last.UID != s.UID:
		w.r.addSet(Created, "a new set of the same name")
	case s.Generation != last.Generation:
		w.r.addSet(Spec, SpecChanges(&last.Spec, &s.Spec))
	}
	if s.DeletionTimestamp != nil && !w.terminating {
		w.terminating = true
		if started {
			w.r.addSet(Terminating, "")
		}
	}
	w.mu.Unlock()
	if w.onSet != nil {
		w.onSet(s)
	}
}

func (w *setWatch) gone(s *workload.Set) {
	if s == nil || s.Name != w.name {
		return
	}
	w.mu.Lock()
	w.last, w.terminating = nil, false
	w.mu.Unlock()
	w.r.addSet(Gone, "")
}

// watchEvents follows the Events about the set and returns those its first list
// held, which are history; later ones, and later repeats of those, are recorded.
func watchEvents(ctx context.Context, clients workload.Clients, set *workload.Set, r *Recorder) ([]corev1.Event, error) {
	about := func(o *metav1.ListOptions) {
		o.FieldSelector = fields.Set{"involvedObject.name": set.Name, "involvedObject.kind": string(set.Kind)}.AsSelector().String()
	}
	inf := informers.NewSharedInformerFactoryWithOptions(clients.Kube, 0, informers.WithNamespace(set.Namespace),
		informers.WithTweakListOptions(about)).Core().V1().Events().Informer()
	isAbout := func(e *corev1.Event) bool {
		io := e.InvolvedObject
		return io.Name == set.Name && io.Kind == string(set.Kind) && (io.UID == "" || set.UID == "" || io.UID == set.UID)
	}
	var mu sync.Mutex
	var initial []corev1.Event
	counts := map[types.UID]int32{}
	record := func(e *corev1.Event) {
		mu.Lock()
		seen, ok := counts[e.UID]
		counts[e.UID] = e.Count
		mu.Unlock()
		if !ok || e.Count > seen {
			r.addNow(eventRecord(set, e, true))
		}
	}
	h := cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, isInInitialList bool) {
			e, ok := obj.(*corev1.Event)
			if !ok || !isAbout(e) {
				return
			}
			if isInInitialList {
				mu.Lock()
				initial = append(initial, *e)
				counts[e.UID] = e.Count
				mu.Unlock()
				return
			}
			record(e)
		},
		UpdateFunc: func(_, obj any) {
			if e, ok := obj.(*corev1.Event); ok && isAbout(e) {
				record(e)
			}
		},
	}
	if err := RunInformer(ctx, inf, h, func(error) { r.WatchFailed() }); err != nil {
		return nil, fmt.Errorf("watching the events of %s: %w", set.Ref(), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]corev1.Event(nil), initial...), nil
}
