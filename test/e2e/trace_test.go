//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// podEvent is one observed change of a pod, from a watch.
type podEvent struct {
	at    time.Time
	kind  string // created, ready, unready, terminating, gone
	name  string
	uid   types.UID
	owner string // Kind of the controller
}

func (e podEvent) String() string {
	return fmt.Sprintf("%s %s %s %s(%s)", e.at.Format("15:04:05.000"), e.kind, e.name, e.owner, shortUID(e.uid))
}

func shortUID(u types.UID) string {
	if len(u) > 8 {
		return string(u[:8])
	}
	return string(u)
}

// podSeen is what the trace knows of one pod (one UID).
type podSeen struct{ ready, terminating, gone bool }

// trace records what a watch of a namespace's pods saw, in order: each pod's
// creation, every change of its readiness both ways, the start of its termination
// and its removal.
type trace struct {
	mu            sync.Mutex
	events        []podEvent
	seen          map[types.UID]*podSeen
	watchRestarts int
	notified      int // notifications from the watch, whether they changed anything
}

func newTrace() *trace { return &trace{seen: map[types.UID]*podSeen{}} }

func (tr *trace) add(kind string, pod *corev1.Pod) {
	owner := ""
	if ref := metav1.GetControllerOf(pod); ref != nil {
		owner = ref.Kind
	}
	tr.events = append(tr.events, podEvent{at: time.Now(), kind: kind, name: pod.Name, uid: pod.UID, owner: owner})
}

// observe records what changed in a pod the watch reported as added or updated.
func (tr *trace) observe(pod *corev1.Pod) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.notified++
	st, ok := tr.seen[pod.UID]
	if !ok {
		st = &podSeen{}
		tr.seen[pod.UID] = st
		tr.add("created", pod)
	}
	if st.gone {
		return
	}
	switch ready := isReady(pod); {
	case ready && !st.ready:
		tr.add("ready", pod)
	case !ready && st.ready:
		tr.add("unready", pod)
	}
	st.ready = isReady(pod)
	if pod.DeletionTimestamp != nil && !st.terminating {
		st.terminating = true
		tr.add("terminating", pod)
	}
}

// removed records a pod's removal.
func (tr *trace) removed(pod *corev1.Pod) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	st, ok := tr.seen[pod.UID]
	if !ok {
		st = &podSeen{}
		tr.seen[pod.UID] = st
		tr.add("created", pod)
	}
	if !st.gone {
		st.gone = true
		tr.add("gone", pod)
	}
}

// agrees reports whether the trace has caught up with the pods a list returned:
// each is known with the same readiness and termination, and every pod the trace
// still holds live is among them.
func (tr *trace) agrees(pods []corev1.Pod) (bool, string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	listed := map[types.UID]bool{}
	for i := range pods {
		p := &pods[i]
		listed[p.UID] = true
		st, ok := tr.seen[p.UID]
		switch {
		case !ok || st.gone:
			return false, "the trace has not seen " + p.Name + " (" + shortUID(p.UID) + ")"
		case st.ready != isReady(p) || st.terminating != (p.DeletionTimestamp != nil):
			return false, fmt.Sprintf("the trace has %s ready=%v terminating=%v", p.Name, st.ready, st.terminating)
		}
	}
	for uid, st := range tr.seen {
		if !st.gone && !listed[uid] {
			return false, "the trace has not seen pod " + shortUID(uid) + " gone"
		}
	}
	return true, ""
}

// updates is how many notifications the trace's watch has delivered.
func (tr *trace) updates() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.notified
}

func (tr *trace) watchFailed() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.watchRestarts++
}

// snapshot returns the events so far, optionally only of one owner kind.
func (tr *trace) snapshot(owner string) []podEvent {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []podEvent
	for _, e := range tr.events {
		if owner == "" || e.owner == owner {
			out = append(out, e)
		}
	}
	return out
}

// of returns "kind name" for events of the given kinds, in order.
func (tr *trace) of(owner string, kinds ...string) []string {
	want := map[string]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	var out []string
	for _, e := range tr.snapshot(owner) {
		if want[e.kind] {
			out = append(out, e.kind+" "+e.name)
		}
	}
	return out
}

func (tr *trace) String() string {
	var lines []string
	for _, e := range tr.snapshot("") {
		lines = append(lines, "  "+e.String())
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.watchRestarts > 0 {
		lines = append(lines, fmt.Sprintf("  (the watch failed and was restarted %d times)", tr.watchRestarts))
	}
	return strings.Join(lines, "\n")
}

// podHandlers turns informer notifications into trace records. An update that
// carries a new UID means the watch missed a removal and a creation (a re-list
// after a broken watch): both are recorded.
func (tr *trace) podHandlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				tr.observe(pod)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*corev1.Pod)
			pod, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			if old.UID != pod.UID {
				tr.removed(old)
			}
			tr.observe(pod)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				tr.removed(pod)
			}
		},
	}
}

// runInformer runs an informer until ctx ends: it lists, watches from the list's
// resourceVersion, and re-lists and watches again whenever the watch fails or the
// server closes it, so it never silently stops. onWatchError hears of each failure.
// It returns once the first list has been delivered to the handler.
func runInformer(ctx context.Context, inf cache.SharedIndexInformer, h cache.ResourceEventHandler, onWatchError func(error)) error {
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
	syncCtx, cancel := context.WithTimeout(ctx, shortWait)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), reg.HasSynced) {
		return fmt.Errorf("informer did not sync within %v", shortWait)
	}
	return nil
}

// tracePods starts a trace of a namespace's pods.
func tracePods(ctx context.Context, namespace string) (*trace, error) {
	tr := newTrace()
	inf := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(namespace)).Core().V1().Pods().Informer()
	if err := runInformer(ctx, inf, tr.podHandlers(), func(error) { tr.watchFailed() }); err != nil {
		return nil, err
	}
	return tr, nil
}
