package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Env is what the runs share: the harness's own unthrottled clients, the audit log
// (nil: requests are not counted), and how to find each controller's process.
type Env struct {
	Clients    workload.Clients
	Audit      *auditLog
	BuiltInPID func() (int, error)
	MiniPID    func() (int, error)
	// ServerPIDs are kube-apiserver's and etcd's (nil: not measured).
	ServerPIDs func() ([]int, error)
	// Timeout bounds each wait; LongTimeout the setup of the steady state.
	Timeout, LongTimeout time.Duration
	Logf                 func(format string, args ...any)
	// Namespaces are those the runs made, for a cluster that can delete them.
	Namespaces []string
}

// NewAuditLog reads the audit log at path (empty: none).
func NewAuditLog(path string) *auditLog {
	if path == "" {
		return nil
	}
	return &auditLog{path: path}
}

// runCtx is one scenario run: the writer, its fresh namespace and the watch of it.
type runCtx struct {
	env  *Env
	kind Controller
	ns   string
	view *view
}

func (r *runCtx) workloadKind() workload.Kind {
	if r.kind == BuiltIn {
		return workload.StatefulSet
	}
	return workload.MiniStatefulSet
}

func (r *runCtx) ref(name string) workload.Ref {
	return workload.Ref{Kind: r.workloadKind(), Namespace: r.ns, Name: name}
}

func (r *runCtx) create(ctx context.Context, sts *appsv1.StatefulSet) error {
	return r.env.Clients.Create(ctx, r.workloadKind(), sts, fieldManager)
}

func (r *runCtx) scale(ctx context.Context, name string, n int) error {
	return r.env.Clients.Scale(ctx, r.ref(name), n, fieldManager)
}

func (r *runCtx) createPod(ctx context.Context, set string, ordinal int, image string) error {
	name := fmt.Sprintf("%s-%d", set, ordinal)
	tmpl := template(set, image)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.ns, Labels: tmpl.Labels, Annotations: tmpl.Annotations}, Spec: tmpl.Spec}
	_, err := r.env.Clients.Kube.CoreV1().Pods(r.ns).Create(ctx, pod, metav1.CreateOptions{FieldManager: fieldManager})
	return err
}

// probeCondition is the benchmark's own condition type, which neither controller
// writes or drops.
const probeCondition = "BenchProbe"

// probeStatus writes set name's status n times, each changing the message of the
// benchmark's condition, each from the object the one before returned (the first
// from the watch's): the writes of a controller without its reads.
func (r *runCtx) probeStatus(ctx context.Context, name string, n int) error {
	key := r.ns + "/" + name
	now := metav1.Now()
	msg := func(i int) string { return fmt.Sprintf("write %d", i+1) }
	if r.kind == BuiltIn {
		set, err := seenAs[*appsv1.StatefulSet](r.view.stss, key)
		if err != nil {
			return err
		}
		return writeEach(ctx, n, set, func(set *appsv1.StatefulSet, i int) {
			set.Status.Conditions = append(slices.DeleteFunc(set.Status.Conditions, func(c appsv1.StatefulSetCondition) bool { return c.Type == probeCondition }),
				appsv1.StatefulSetCondition{Type: probeCondition, Status: corev1.ConditionTrue, Reason: "Probe", Message: msg(i), LastTransitionTime: now})
		}, r.env.Clients.Kube.AppsV1().StatefulSets(r.ns).UpdateStatus)
	}
	set, err := seenAs[*appsv1alpha1.MiniStatefulSet](r.view.mstss, key)
	if err != nil {
		return err
	}
	return writeEach(ctx, n, set, func(set *appsv1alpha1.MiniStatefulSet, i int) {
		set.Status.Conditions = append(slices.DeleteFunc(set.Status.Conditions, func(c appsv1alpha1.MiniStatefulSetCondition) bool { return c.Type == probeCondition }),
			appsv1alpha1.MiniStatefulSetCondition{Type: probeCondition, Status: corev1.ConditionTrue, Reason: "Probe", Message: msg(i), LastTransitionTime: now})
	}, r.env.Clients.Sets.AppsV1alpha1().MiniStatefulSets(r.ns).UpdateStatus)
}

// seenAs is a copy of the object the watch shows under key.
func seenAs[T runtime.Object](idx cache.Indexer, key string) (T, error) {
	obj, _, _ := idx.GetByKey(key)
	if t, ok := obj.(T); ok {
		return t.DeepCopyObject().(T), nil
	}
	var none T
	return none, fmt.Errorf("%s not seen", key)
}

// writeEach changes obj and writes it n times, each write from what the one before
// returned.
func writeEach[T any](ctx context.Context, n int, obj T, change func(T, int), update func(context.Context, T, metav1.UpdateOptions) (T, error)) error {
	for i := range n {
		change(obj, i)
		var err error
		if obj, err = update(ctx, obj, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
			return err
		}
	}
	return nil
}

func (r *runCtx) deletePod(ctx context.Context, name string) error {
	err := r.env.Clients.Kube.CoreV1().Pods(r.ns).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// podIs says when pod <set>-<ordinal> is Ready (ready) or gone (!ready).
func (r *runCtx) podIs(set string, ordinal int, ready bool) func(*runCtx) (bool, string) {
	name := fmt.Sprintf("%s-%d", set, ordinal)
	return func(r *runCtx) (bool, string) {
		obj, exists, _ := r.view.pods.GetByKey(r.ns + "/" + name)
		if !ready {
			return !exists, name + " still there"
		}
		p, ok := obj.(*corev1.Pod)
		return exists && ok && trace.IsReady(p) && p.DeletionTimestamp == nil, name + " not Ready yet"
	}
}

// settled says when the namespace has n Ready pods and no other, and for a
// controller, when its set's status says so.
func (r *runCtx) settled(n int) (bool, string) { return r.settledSets(n, n) }

// settledSets is settled for a namespace of sets of perSet replicas: pods Ready pods
// and no other, and each set's status caught up.
func (r *runCtx) settledSets(pods, perSet int) (bool, string) {
	all, ready := r.view.podCount(nil)
	if all != pods || ready != pods {
		return false, fmt.Sprintf("%d pods, %d Ready, want %d", all, ready, pods)
	}
	if r.kind == Floor {
		return true, ""
	}
	return r.view.setsSettled(r.kind, perSet)
}

func (r *runCtx) wait(ctx context.Context, what string, cond func(*runCtx) (bool, string)) error {
	_, err := r.view.until(ctx, r.env.Timeout, what, func() (bool, string) { return cond(r) })
	return err
}

func (r *runCtx) waitLong(ctx context.Context, what string, cond func(*runCtx) (bool, string)) error {
	_, err := r.view.until(ctx, r.env.LongTimeout, what, func() (bool, string) { return cond(r) })
	return err
}

// RunScenario runs one scenario under one writer in a fresh namespace and returns
// a Run per step.
func (e *Env) RunScenario(ctx context.Context, sc Scenario, kind Controller, mode string, round int) ([]Run, error) {
	ns := fmt.Sprintf("bench-%s-%s-%d-%04d", sc.Name, map[Controller]string{BuiltIn: "sts", Mini: "msts", Floor: "floor"}[kind], round, rand.IntN(10000))
	if err := e.prepare(ctx, ns); err != nil {
		return nil, err
	}
	e.Namespaces = append(e.Namespaces, ns)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	v, err := watchNamespace(ctx, e.Clients, ns)
	if err != nil {
		return nil, err
	}
	r := &runCtx{env: e, kind: kind, ns: ns, view: v}
	setup := sc.setup
	if kind == Floor && sc.floorSetup != nil {
		setup = sc.floorSetup
	}
	if kind != Floor || sc.floorSetup != nil {
		if err := setup(ctx, r); err != nil {
			return nil, fmt.Errorf("%s under %s, setting up: %w", sc.Name, kind, err)
		}
	}
	var runs []Run
	for _, st := range sc.steps {
		f, err := e.measure(ctx, r, st)
		if err != nil {
			return runs, fmt.Errorf("%s/%s under %s: %w", sc.Name, st.name, kind, err)
		}
		runs = append(runs, Run{Scenario: sc.Name + "/" + st.name, Mode: mode, Controller: kind, Round: round, Figures: f})
		e.Logf("%s/%s under %s (%s, round %d): %v, %d requests (%d writes), %d events, CPU %v, peak RSS %d MiB",
			sc.Name, st.name, kind, mode, round, f.Wall.Round(time.Millisecond), f.TotalRequests(), f.Writes(), f.Events,
			f.CPU, f.PeakRSS>>20)
	}
	e.cleanUp(ctx, r)
	return runs, nil
}

// prepare makes the namespace and its default ServiceAccount: the benchmark's
// kube-controller-manager runs no ServiceAccount controller, and pods need one.
func (e *Env) prepare(ctx context.Context, ns string) error {
	if _, err := e.Clients.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := e.Clients.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// cleanUp deletes what a run left: its sets, then its pods. The namespace stays:
// the benchmark's kube-controller-manager runs no namespace controller.
func (e *Env) cleanUp(ctx context.Context, r *runCtx) {
	ctx, cancel := context.WithTimeout(ctx, e.LongTimeout)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	_ = e.Clients.Kube.AppsV1().StatefulSets(r.ns).DeleteCollection(ctx, opts, metav1.ListOptions{})
	_ = e.Clients.Sets.AppsV1alpha1().MiniStatefulSets(r.ns).DeleteCollection(ctx, opts, metav1.ListOptions{})
	_ = e.Clients.Kube.CoreV1().Pods(r.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	if err := r.waitLong(ctx, "the run's pods gone", func(r *runCtx) (bool, string) {
		all, _ := r.view.podCount(nil)
		return all == 0, fmt.Sprintf("%d pods left", all)
	}); err != nil {
		e.Logf("cleaning up %s: %v", r.ns, err)
	}
}

// measure runs one step and takes its figures.
func (e *Env) measure(ctx context.Context, r *runCtx, st step) (Figures, error) {
	f := Figures{PodWrites: st.podWrites}
	pid := 0
	var err error
	switch {
	case r.kind == BuiltIn && e.BuiltInPID != nil:
		pid, err = e.BuiltInPID()
	case r.kind == Mini && e.MiniPID != nil:
		pid, err = e.MiniPID()
	}
	if err != nil {
		return f, err
	}
	if e.Audit != nil {
		if err := e.Audit.skip(); err != nil {
			return f, err
		}
	}
	u, err := startUsage(pid)
	if err != nil {
		return f, err
	}
	server, err := e.startServerCPU()
	if err != nil {
		return f, err
	}
	mark := len(r.view.rec.Records(""))
	start := time.Now()
	act := st.act
	if r.kind == Floor {
		act = st.floor
	}
	if err := act(ctx, r); err != nil {
		return f, err
	}
	var end time.Time
	if st.observe > 0 {
		select {
		case <-time.After(st.observe):
		case <-ctx.Done():
			return f, ctx.Err()
		}
		end = time.Now()
	} else if end, err = r.view.until(ctx, e.Timeout, "converging", func() (bool, string) { return st.done(r) }); err != nil {
		return f, err
	}
	f.Wall = end.Sub(start)
	if err := u.stop(&f); err != nil {
		return f, err
	}
	if f.ServerCPU, err = server(); err != nil {
		return f, err
	}
	if st.latency {
		f.Latencies = reactions(r.view.rec.Records("")[mark:], seenCreated)
	}
	if e.Audit != nil {
		// The audit log is written as each request completes; the last of them are
		// on disk a moment after the state they made is seen.
		time.Sleep(300 * time.Millisecond)
		if err := e.Audit.count(r.kind, start, end, &f); err != nil {
			return f, err
		}
		if st.latency {
			f.SendLatencies = reactions(r.view.rec.Records("")[mark:], createReceived(f.createSent))
		}
	}
	return f, nil
}

// reactions are, for each pod created after a lower ordinal became Ready, the time
// from that Ready (as the watch saw it) to what end says of the created pod's record
// (seenCreated: its creation, as the watch saw it); a pod end knows nothing of is
// left out.
func reactions(recs []trace.Record, end func(trace.Record) (time.Time, bool)) []time.Duration {
	readyAt := map[int]time.Time{}
	var out []time.Duration
	for _, rec := range recs {
		_, ord, ok := splitName(rec.Pod)
		if !ok {
			continue
		}
		switch rec.Step {
		case trace.Ready:
			readyAt[ord] = rec.At
		case trace.Created:
			t, ready := readyAt[ord-1]
			at, ok := end(rec)
			if ready && ok {
				out = append(out, at.Sub(t))
			}
		}
	}
	return out
}

func seenCreated(rec trace.Record) (time.Time, bool) { return rec.At, true }

// createReceived ends a reaction when the API server received the pod's create. It
// can end one below zero: the writer's watch may deliver the Ready before the
// benchmark's does.
func createReceived(sent map[string]time.Time) func(trace.Record) (time.Time, bool) {
	return func(rec trace.Record) (time.Time, bool) {
		t, ok := sent[rec.Pod]
		return t, ok
	}
}

func splitName(pod string) (string, int, bool) {
	i := strings.LastIndexByte(pod, '-')
	if i <= 0 {
		return "", 0, false
	}
	ord, ok := workload.OrdinalOf(pod[:i], pod)
	return pod[:i], ord, ok
}
