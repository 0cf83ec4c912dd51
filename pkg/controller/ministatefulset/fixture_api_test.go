package ministatefulset

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The fake clientsets are kinder than an API server: their listers never lag, they
// never answer 409, and they ignore delete preconditions. This file makes them
// harsher, so the tests meet what a controller meets.

// laggingStore is a lister's store fed by a watch of the fake API, behind it: at
// each refresh it holds back up to lag of the events that arrived since the last
// one, as an informer is behind the writes just made. An event is never held back
// twice, so the cache catches up as a real one does.
type laggingStore struct {
	store cache.Indexer
	// view is the informer's transform of what the watch delivers (nil: none).
	view    func(any) (any, error)
	watch   watch.Interface
	pending []watch.Event
}

// lagBy makes every lister lag the API by up to n events (per resource) from now on;
// 0 catches them up. Call it right after newFixture, before the objects change.
func (f *fixture) lagBy(n int) {
	f.t.Helper()
	if f.lagging == nil {
		f.refreshAll()
		f.lagging = map[string]*laggingStore{}
		for name, gvr := range map[string]schema.GroupVersionResource{
			"pods":      corev1.SchemeGroupVersion.WithResource("pods"),
			"claims":    corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"),
			"revisions": appsv1.SchemeGroupVersion.WithResource("controllerrevisions"),
		} {
			w, err := f.kube.Tracker().Watch(gvr, ns)
			require.NoError(f.t, err)
			f.lagging[name] = &laggingStore{store: f.stores[name], watch: w}
		}
		f.lagging["pods"].view = podView
		w, err := f.msts.Tracker().Watch(appsv1alpha1.SchemeGroupVersion.WithResource("ministatefulsets"), ns)
		require.NoError(f.t, err)
		f.lagging["sets"] = &laggingStore{store: f.stores["sets"], watch: w}
		f.t.Cleanup(func() {
			for _, l := range f.lagging {
				l.watch.Stop()
			}
		})
	}
	f.lag = n
}

// catchUp applies to each lagging store the events it has received, but for up to
// lag of those that arrived since the last catchUp.
func (f *fixture) catchUp() {
	f.t.Helper()
	for _, l := range f.lagging {
		held := len(l.pending)
		l.drain()
		apply := len(l.pending) - min(f.lag, len(l.pending)-held)
		for _, ev := range l.pending[:apply] {
			var err error
			switch ev.Type {
			case watch.Added, watch.Modified:
				obj := any(ev.Object)
				if l.view != nil {
					obj, err = l.view(obj)
					require.NoError(f.t, err)
				}
				err = l.store.Update(obj)
				if pod, ok := ev.Object.(*corev1.Pod); ok {
					f.c.control.created.seen(pod.Namespace, pod.Name)
					if pod.DeletionTimestamp != nil {
						f.c.control.created.gone(pod.UID)
					}
				}
			case watch.Deleted:
				err = l.store.Delete(ev.Object)
				if pod, ok := ev.Object.(*corev1.Pod); ok {
					f.c.control.created.gone(pod.UID)
				}
			}
			require.NoError(f.t, err)
		}
		l.pending = l.pending[apply:]
	}
}

// drain takes the events the fake watch has buffered; the fake delivers each event
// before the write that caused it returns, so this sees every write so far.
func (l *laggingStore) drain() {
	for {
		select {
		case ev := <-l.watch.ResultChan():
			l.pending = append(l.pending, ev)
		default:
			return
		}
	}
}

// honourDeletePreconditions makes deletes check their UID and resourceVersion
// preconditions, as the API server does, answering 409 when they do not hold.
func (f *fixture) honourDeletePreconditions() {
	for _, tracker := range []interface {
		PrependReactor(verb, resource string, fn clienttesting.ReactionFunc)
		Tracker() clienttesting.ObjectTracker
	}{f.kube, f.msts} {
		tr := tracker.Tracker()
		tracker.PrependReactor("delete", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
			del := a.(clienttesting.DeleteAction)
			pre := del.GetDeleteOptions().Preconditions
			if pre == nil {
				return false, nil, nil
			}
			obj, err := tr.Get(a.GetResource(), a.GetNamespace(), del.GetName())
			if err != nil {
				return false, nil, nil
			}
			o, err := meta.Accessor(obj)
			if err != nil {
				return false, nil, nil
			}
			if (pre.UID != nil && *pre.UID != o.GetUID()) || (pre.ResourceVersion != nil && *pre.ResourceVersion != o.GetResourceVersion()) {
				return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), del.GetName(),
					fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", ptrValue(pre.UID), o.GetUID()))
			}
			return false, nil, nil
		})
	}
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// faults injects API errors by rule. Whether a call fails depends only on the seed,
// the rule and the call's verb, resource and object name and how many times that
// same call was made, never on the order of concurrent calls: a seed replays.
type faults struct {
	mu    sync.Mutex
	seed  uint64
	rules []faultRule
	calls map[string]int
	// injected lists what failed, for the failure message.
	injected []string
}

// faultRule fails a share of the calls that match it.
type faultRule struct {
	verb, resource, subresource string
	percent                     int
	// conflict answers 409 instead of 500.
	conflict bool
}

// injectFaults installs the fault reactor on both clientsets. Rules are set per step.
func (f *fixture) injectFaults(seed uint64) *faults {
	fl := &faults{seed: seed, calls: map[string]int{}}
	reactor := func(a clienttesting.Action) (bool, runtime.Object, error) {
		if err := fl.check(a); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	}
	f.kube.PrependReactor("*", "*", reactor)
	f.msts.PrependReactor("*", "*", reactor)
	return fl
}

// set replaces the rules; the step number keeps each step's draws apart.
func (fl *faults) set(step int, rules ...faultRule) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.seed = fl.seed*31 + uint64(step)
	fl.rules = rules
	fl.calls = map[string]int{}
}

func (fl *faults) check(a clienttesting.Action) error {
	verb := a.GetVerb()
	if verb == "get" || verb == "list" || verb == "watch" {
		return nil
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for i, r := range fl.rules {
		if r.verb != verb || r.resource != a.GetResource().Resource || r.subresource != a.GetSubresource() {
			continue
		}
		key := fmt.Sprintf("%d/%s/%s/%s/%s", i, verb, a.GetResource().Resource, a.GetSubresource(), objectName(a))
		fl.calls[key]++
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s/%d", fl.seed, key, fl.calls[key])
		if int(h.Sum64()%100) >= r.percent {
			continue
		}
		fl.injected = append(fl.injected, key)
		if r.conflict {
			return apierrors.NewConflict(a.GetResource().GroupResource(), objectName(a), errors.New("injected conflict"))
		}
		return apierrors.NewInternalError(errors.New("injected failure"))
	}
	return nil
}

// honourUpdates makes updates act as the API server's do: a body whose UID is not the
// stored object's is a 409 (the object was deleted and made again under its name),
// and a write to the status subresource changes the status only.
func (f *fixture) honourUpdates() {
	for _, client := range []interface {
		PrependReactor(verb, resource string, fn clienttesting.ReactionFunc)
		Tracker() clienttesting.ObjectTracker
	}{f.kube, f.msts} {
		tr := client.Tracker()
		client.PrependReactor("update", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
			obj := a.(clienttesting.UpdateAction).GetObject()
			o, err := meta.Accessor(obj)
			if err != nil {
				return false, nil, nil
			}
			stored, err := tr.Get(a.GetResource(), a.GetNamespace(), o.GetName())
			if err != nil {
				return false, nil, nil
			}
			s, err := meta.Accessor(stored)
			if err != nil {
				return false, nil, nil
			}
			if o.GetUID() != "" && o.GetUID() != s.GetUID() {
				return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), o.GetName(),
					fmt.Errorf("the UID in the object (%s) is not the stored one (%s): it was deleted and made again", o.GetUID(), s.GetUID()))
			}
			if set, ok := obj.(*appsv1alpha1.MiniStatefulSet); ok && a.GetSubresource() == "status" {
				fresh := stored.(*appsv1alpha1.MiniStatefulSet).DeepCopy()
				fresh.Status = *set.Status.DeepCopy()
				if err := tr.Update(a.GetResource(), fresh, a.GetNamespace()); err != nil {
					return true, nil, err
				}
				return true, fresh, nil
			}
			return false, nil, nil
		})
	}
}
