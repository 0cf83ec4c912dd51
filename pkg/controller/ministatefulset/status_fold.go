package ministatefulset

import (
	"sync"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// statusFold lets the passes of a set on its way somewhere (scaling, rolling) write
// its status at most once an interval: each pod of an OrderedReady scale-up would
// otherwise cost a status write as well as its create, which at a client QPS of 20
// halves the speed. What a user watches is never held back: a new generation
// observed, a new revision, a Waiting reason that is not progress (settled, an
// invalid spec, a name or claim waited for) and an API error are written at once,
// and a held write is made by a pass requeued for the end of the interval, so the
// counters lag by at most the interval.
type statusFold struct {
	interval time.Duration

	mu   sync.Mutex
	last map[cache.ObjectName]time.Time
}

func newStatusFold(interval time.Duration) *statusFold {
	return &statusFold{interval: interval, last: map[cache.ObjectName]time.Time{}}
}

// progressReasons are the Waiting reasons of a set on its way: counters change from
// pass to pass while the reason says only "progressing".
var progressReasons = map[string]bool{WaitProgressing: true, WaitReady: true, WaitAvailable: true, WaitTermination: true}

// hold reports how long the write of st may wait; 0 means now. urgent is a pass that
// met an API error, which the status must show.
func (f *statusFold) hold(set *appsv1alpha1.MiniStatefulSet, st *appsv1alpha1.MiniStatefulSetStatus, now time.Time, urgent bool) time.Duration {
	if f == nil || f.interval <= 0 || urgent || !onlyProgress(&set.Status, st) {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last, ok := f.last[cache.MetaObjectToName(set)]
	if since := now.Sub(last); !ok || since >= f.interval || since < 0 {
		return 0
	}
	return f.interval - now.Sub(last)
}

// wrote records a status write.
func (f *statusFold) wrote(set *appsv1alpha1.MiniStatefulSet, now time.Time) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[cache.MetaObjectToName(set)] = now
}

// forget drops what it knows of a set that is gone.
func (f *statusFold) forget(key cache.ObjectName) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.last, key)
}

// onlyProgress reports that from old to cur only counters and the words of a
// progress condition changed.
func onlyProgress(old, cur *appsv1alpha1.MiniStatefulSetStatus) bool {
	if old.ObservedGeneration != cur.ObservedGeneration || old.CurrentRevision != cur.CurrentRevision ||
		old.UpdateRevision != cur.UpdateRevision || old.Selector != cur.Selector || !sameCount(old.CollisionCount, cur.CollisionCount) {
		return false
	}
	ow, cw := findCondition(old, appsv1alpha1.ConditionWaiting), findCondition(cur, appsv1alpha1.ConditionWaiting)
	if ow == nil || cw == nil || !progressReasons[ow.Reason] || !progressReasons[cw.Reason] {
		return false
	}
	oi, ci := findCondition(old, appsv1alpha1.ConditionInvalidSpec), findCondition(cur, appsv1alpha1.ConditionInvalidSpec)
	return (oi == nil) == (ci == nil)
}

func sameCount(a, b *int32) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// lastWrites remembers each set's last status write, so that a pass that runs
// before the informer has delivered it (the next pod's event woke the set at once)
// starts from what was written: it neither writes the same status again nor sends
// the set's older resourceVersion, which the API server refuses with a conflict
// that costs a read and a second write.
type lastWrites struct {
	mu sync.Mutex
	by map[cache.ObjectName]lastWrite
}

// lastWrite is one status write: the status it replaced and the set it made.
type lastWrite struct {
	before appsv1alpha1.MiniStatefulSetStatus
	after  *appsv1alpha1.MiniStatefulSet
}

func newLastWrites() *lastWrites { return &lastWrites{by: map[cache.ObjectName]lastWrite{}} }

// freshest is the set as the pass should see it: as last written, when the cache
// still shows the status that write replaced for the same object and generation;
// otherwise as the cache has it.
func (l *lastWrites) freshest(set *appsv1alpha1.MiniStatefulSet) *appsv1alpha1.MiniStatefulSet {
	if l == nil {
		return set
	}
	l.mu.Lock()
	w, ok := l.by[cache.MetaObjectToName(set)]
	l.mu.Unlock()
	if !ok || w.after.UID != set.UID || w.after.Generation != set.Generation ||
		apiequality.Semantic.DeepEqual(&w.after.Status, &set.Status) || !apiequality.Semantic.DeepEqual(&w.before, &set.Status) {
		return set
	}
	fresh := set.DeepCopy()
	fresh.Status = *w.after.Status.DeepCopy()
	fresh.ResourceVersion = w.after.ResourceVersion
	return fresh
}

// wrote records a status write.
func (l *lastWrites) wrote(before *appsv1alpha1.MiniStatefulSetStatus, after *appsv1alpha1.MiniStatefulSet) {
	if l == nil || after == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Only what freshest reads: the set written back holds its whole spec (a pod
	// template) and managedFields, which the cache has already.
	kept := &appsv1alpha1.MiniStatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: after.Namespace, Name: after.Name, UID: after.UID,
			Generation: after.Generation, ResourceVersion: after.ResourceVersion},
		Status: after.Status,
	}
	l.by[cache.MetaObjectToName(after)] = lastWrite{before: *before.DeepCopy(), after: kept}
}

func (l *lastWrites) forget(key cache.ObjectName) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.by, key)
}
