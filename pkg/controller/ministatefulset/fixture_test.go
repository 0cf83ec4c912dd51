package ministatefulset

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
)

const ns = "default"

// setBuilder reads like the object it builds: newSet("web").Replicas(3).Parallel().Obj().
type setBuilder struct{ set *appsv1alpha1.MiniStatefulSet }

func newSet(name string) *setBuilder {
	lbls := map[string]string{"app": name}
	return &setBuilder{set: &appsv1alpha1.MiniStatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Generation: 1},
		Spec: appsv1alpha1.MiniStatefulSetSpec{
			Replicas:    ptr(int32(1)),
			Selector:    &metav1.LabelSelector{MatchLabels: lbls},
			ServiceName: name,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyMap(lbls)},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
			PodManagementPolicy: appsv1alpha1.OrderedReadyPodManagement,
			UpdateStrategy:      appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.RollingUpdateStatefulSetStrategyType},
		},
	}}
}

func (b *setBuilder) Replicas(n int32) *setBuilder { b.set.Spec.Replicas = ptr(n); return b }
func (b *setBuilder) Parallel() *setBuilder {
	b.set.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement
	return b
}
func (b *setBuilder) Start(n int32) *setBuilder {
	b.set.Spec.Ordinals = &appsv1alpha1.StatefulSetOrdinals{Start: n}
	return b
}
func (b *setBuilder) MinReady(s int32) *setBuilder { b.set.Spec.MinReadySeconds = s; return b }

// Claims adds a claim template per name.
func (b *setBuilder) Claims(names ...string) *setBuilder {
	for _, n := range names {
		b.set.Spec.VolumeClaimTemplates = append(b.set.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: n},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		})
	}
	return b
}

// Volume adds a template volume of another kind (emptyDir).
func (b *setBuilder) Volume(name string) *setBuilder {
	b.set.Spec.Template.Spec.Volumes = append(b.set.Spec.Template.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	return b
}
func (b *setBuilder) Selector(lbls map[string]string) *setBuilder {
	b.set.Spec.Selector = &metav1.LabelSelector{MatchLabels: lbls}
	return b
}
func (b *setBuilder) Obj() *appsv1alpha1.MiniStatefulSet { return b.set }

func ptr[T any](v T) *T { return &v }

// fixture is a controller over fake clientsets. Its listers are refilled from the
// clientsets before every pass, so each pass sees exactly what the API holds (the
// deterministic equivalent of a caught-up informer), unless lagBy makes them lag
// (fixture_api_test.go). Deletes honour their preconditions and updates the stored
// UID and the status subresource, as the API server's do.
type fixture struct {
	t        testing.TB
	ctx      context.Context
	kube     *k8sfake.Clientset
	msts     *mstsfake.Clientset
	recorder *record.FakeRecorder
	clock    *testingclock.FakeClock
	c        *Controller
	stores   map[string]cache.Indexer
	// graceful makes pod deletes set deletionTimestamp, as a kubelet would need time
	// to stop containers; finishTerminations removes them.
	graceful bool
	// lagging, once lagBy is called, feeds the listers from watches, lag events behind.
	lagging map[string]*laggingStore
	lag     int
}

func newFixture(t testing.TB, set *appsv1alpha1.MiniStatefulSet, objs ...runtime.Object) *fixture {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, kube: k8sfake.NewClientset(objs...), recorder: record.NewFakeRecorder(10000),
		clock: testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	if set != nil {
		f.msts = mstsfake.NewClientset(set)
	} else {
		f.msts = mstsfake.NewClientset()
	}
	kubeInf := informers.NewSharedInformerFactory(f.kube, 0)
	setInf := mstsinformers.NewSharedInformerFactory(f.msts, 0)
	c, err := NewController(ctx, f.kube, f.msts, setInf.Apps().V1alpha1().MiniStatefulSets(),
		kubeInf.Core().V1().Pods(), kubeInf.Core().V1().PersistentVolumeClaims(), kubeInf.Apps().V1().ControllerRevisions(), f.recorder)
	require.NoError(t, err)
	c.control.clock = f.clock
	t.Cleanup(c.queue.ShutDown)
	f.c = c
	f.stores = map[string]cache.Indexer{
		"sets":      setInf.Apps().V1alpha1().MiniStatefulSets().Informer().GetIndexer(),
		"pods":      kubeInf.Core().V1().Pods().Informer().GetIndexer(),
		"claims":    kubeInf.Core().V1().PersistentVolumeClaims().Informer().GetIndexer(),
		"revisions": kubeInf.Apps().V1().ControllerRevisions().Informer().GetIndexer(),
	}
	f.kube.PrependReactor("delete", "pods", f.gracefulDelete)
	f.honourDeletePreconditions()
	f.honourUpdates()
	f.kube.PrependReactor("create", "*", assignUID)
	return f
}

// assignUID gives created objects a UID, as the API server does; the fake does not.
func assignUID(action clienttesting.Action) (bool, runtime.Object, error) {
	if o, ok := action.(clienttesting.CreateAction).GetObject().(metav1.Object); ok && o.GetUID() == "" {
		o.SetUID(types.UID(fmt.Sprintf("uid-%s-%d", o.GetName(), uidCounter.Add(1))))
	}
	return false, nil, nil
}

var uidCounter atomic.Int64

func (f *fixture) gracefulDelete(action clienttesting.Action) (bool, runtime.Object, error) {
	if !f.graceful {
		return false, nil, nil
	}
	name := action.(clienttesting.DeleteAction).GetName()
	pod, err := f.kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), ns, name)
	if err != nil {
		return false, nil, nil
	}
	p := pod.(*corev1.Pod).DeepCopy()
	if p.DeletionTimestamp == nil {
		p.DeletionTimestamp = &metav1.Time{Time: f.clock.Now()}
		require.NoError(f.t, f.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), p, ns))
	}
	return true, nil, nil
}

// refresh brings the listers up to date with the clientsets, or, once lagBy was
// called, to lag events behind them.
func (f *fixture) refresh() {
	f.t.Helper()
	if f.lagging != nil {
		f.catchUp()
		return
	}
	f.refreshAll()
}

// refreshAll refills the listers from the clientsets.
func (f *fixture) refreshAll() {
	f.t.Helper()
	replace := func(store cache.Indexer, objs []any) {
		require.NoError(f.t, store.Replace(objs, ""))
	}
	sets, err := f.msts.AppsV1alpha1().MiniStatefulSets(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.stores["sets"], itemsOf(sets.Items))
	pods := f.pods()
	// What the pod informer's handlers do for each pod they deliver, and for each
	// pod they see go or start terminating.
	listed := map[types.UID]bool{}
	for _, p := range pods {
		f.c.control.created.seen(p.Namespace, p.Name)
		listed[p.UID] = true
		if p.DeletionTimestamp != nil {
			f.c.control.created.gone(p.UID)
		}
	}
	for _, obj := range f.stores["pods"].List() {
		if p := obj.(*corev1.Pod); !listed[p.UID] {
			f.c.control.created.gone(p.UID)
		}
	}
	// The pod informer's cache holds views of pods (podView), so does this one.
	views := itemsOf(pods)
	for i := range views {
		var err error
		views[i], err = podView(views[i])
		require.NoError(f.t, err)
	}
	replace(f.stores["pods"], views)
	claims, err := f.kube.CoreV1().PersistentVolumeClaims(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.stores["claims"], itemsOf(claims.Items))
	revs, err := f.kube.AppsV1().ControllerRevisions(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	replace(f.stores["revisions"], itemsOf(revs.Items))
}

func itemsOf[T any](items []T) []any {
	out := make([]any, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func objectKey(name string) cache.ObjectName { return cache.ObjectName{Namespace: ns, Name: name} }

// sync runs one pass for the set after a refresh, and returns its error.
func (f *fixture) sync(name string) error {
	f.t.Helper()
	f.refresh()
	_, err := f.c.sync(f.ctx, objectKey(name))
	return err
}

// mustSync runs one pass that must succeed.
func (f *fixture) mustSync(name string) {
	f.t.Helper()
	require.NoError(f.t, f.sync(name))
}

func (f *fixture) set(name string) *appsv1alpha1.MiniStatefulSet {
	f.t.Helper()
	set, err := f.msts.AppsV1alpha1().MiniStatefulSets(ns).Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return set
}

func (f *fixture) updateSet(name string, mutate func(*appsv1alpha1.MiniStatefulSet)) {
	f.t.Helper()
	set := f.set(name)
	mutate(set)
	set.Generation++
	require.NoError(f.t, f.msts.Tracker().Update(appsv1alpha1.SchemeGroupVersion.WithResource("ministatefulsets"), set, ns))
}

func (f *fixture) scale(name string, n int32) {
	f.updateSet(name, func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Replicas = &n })
}

// pods lists the pods in the namespace, sorted by name.
func (f *fixture) pods() []corev1.Pod {
	f.t.Helper()
	list, err := f.kube.CoreV1().Pods(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func (f *fixture) podNames() []string {
	var names []string
	for _, p := range f.pods() {
		names = append(names, p.Name)
	}
	return names
}

func (f *fixture) pod(name string) *corev1.Pod {
	f.t.Helper()
	pod, err := f.kube.CoreV1().Pods(ns).Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return pod
}

func (f *fixture) claimNames() []string {
	f.t.Helper()
	list, err := f.kube.CoreV1().PersistentVolumeClaims(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	var names []string
	for _, c := range list.Items {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

// setPodStatus plays the kubelet.
func (f *fixture) setPodStatus(name string, phase corev1.PodPhase, ready bool) {
	f.t.Helper()
	pod := f.pod(name)
	pod.Status.Phase = phase
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(f.clock.Now())}}
	f.userUpdatePod(pod)
}

// userUpdatePod and userDeletePod are what a user or kubelet does: they go to the
// tracker directly, so writes() shows only the controller's own writes.
func (f *fixture) userUpdatePod(pod *corev1.Pod) {
	f.t.Helper()
	require.NoError(f.t, f.kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, ns))
}

func (f *fixture) userDeletePod(name string) {
	f.t.Helper()
	if f.graceful {
		pod := f.pod(name)
		if pod.DeletionTimestamp == nil {
			pod.DeletionTimestamp = &metav1.Time{Time: f.clock.Now()}
			f.userUpdatePod(pod)
		}
		return
	}
	require.NoError(f.t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, name))
}

func (f *fixture) ready(names ...string) {
	for _, n := range names {
		f.setPodStatus(n, corev1.PodRunning, true)
	}
}

func (f *fixture) unready(names ...string) {
	for _, n := range names {
		f.setPodStatus(n, corev1.PodRunning, false)
	}
}

// finishTerminations removes the pods a graceful delete left terminating.
func (f *fixture) finishTerminations() {
	f.t.Helper()
	for _, p := range f.pods() {
		if p.DeletionTimestamp != nil {
			require.NoError(f.t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, p.Name))
		}
	}
}

// writes returns the API writes the controller made since the last call, as
// "verb resource name", and forgets them. Reads are left out.
func (f *fixture) writes() []string {
	var out []string
	for _, clients := range []interface {
		Actions() []clienttesting.Action
		ClearActions()
	}{f.kube, f.msts} {
		for _, a := range clients.Actions() {
			verb := a.GetVerb()
			if verb == "get" || verb == "list" || verb == "watch" {
				continue
			}
			res := a.GetResource().Resource
			if a.GetSubresource() != "" {
				res += "/" + a.GetSubresource()
			}
			out = append(out, fmt.Sprintf("%s %s %s", verb, res, objectName(a)))
		}
		clients.ClearActions()
	}
	return out
}

func objectName(a clienttesting.Action) string {
	switch a := a.(type) {
	case clienttesting.CreateAction:
		if o, err := metaName(a.GetObject()); err == nil {
			return o
		}
	case clienttesting.UpdateAction:
		if o, err := metaName(a.GetObject()); err == nil {
			return o
		}
	case clienttesting.DeleteAction:
		return a.GetName()
	case clienttesting.PatchAction:
		return a.GetName()
	}
	return ""
}

func metaName(obj runtime.Object) (string, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return "", fmt.Errorf("not an object")
	}
	return o.GetName(), nil
}

// podWrites keeps only pod and claim creates and deletes: the order that matters.
func podWrites(writes []string) []string {
	var out []string
	for _, w := range writes {
		if strings.HasPrefix(w, "create pods") || strings.HasPrefix(w, "delete pods") ||
			strings.HasPrefix(w, "create persistentvolumeclaims") || strings.HasPrefix(w, "delete persistentvolumeclaims") {
			out = append(out, w)
		}
	}
	return out
}

// events drains the recorded events.
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) condition(name string, t appsv1alpha1.MiniStatefulSetConditionType) *appsv1alpha1.MiniStatefulSetCondition {
	return findCondition(&f.set(name).Status, t)
}

func (f *fixture) revisions() []appsv1.ControllerRevision {
	f.t.Helper()
	revs, err := f.kube.AppsV1().ControllerRevisions(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	return revs.Items
}

// orphanPod is a pod a user made by hand with the set's labels and name pattern.
func orphanPod(set *appsv1alpha1.MiniStatefulSet, ordinal int) *corev1.Pod {
	pod := newPod(set, &set.Spec.Template, "", ordinal)
	pod.OwnerReferences = nil
	pod.UID = types.UID("orphan-" + pod.Name)
	return pod
}
