package ministatefulset

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"sigs.k8s.io/randfill"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// TestStatefulSetViewKeepsEveryField: a StatefulSet with every field filled at
// random comes back whole from its view, so the drop-in mode neither drops nor
// alters anything of apps/v1's (the status too, which it writes back).
func TestStatefulSetViewKeepsEveryField(t *testing.T) {
	fill := randfill.NewWithSeed(20261202).NilChance(0.1).NumElements(1, 2).Funcs(
		// Quantities and times survive JSON only in their canonical forms, which the
		// API server's round trip gives them anyway.
		func(q *metav1.Time, c randfill.Continue) { *q = metav1.Unix(c.Int63n(1<<31), 0).Rfc3339Copy() },
		func(m *metav1.ObjectMeta, c randfill.Continue) {
			m.Name, m.Namespace, m.UID = c.String(8), c.String(8), types.UID("uid-"+c.String(0))
			m.Labels = map[string]string{"a": c.String(4)}
			m.Generation = c.Int63()
		},
		func(p *corev1.PodSpec, c randfill.Continue) {
			p.Containers = []corev1.Container{{Name: c.String(5), Image: c.String(5), Args: []string{c.String(3)}}}
			p.Hostname = c.String(4)
		},
		func(pvc *corev1.PersistentVolumeClaim, c randfill.Continue) {
			pvc.Name = c.String(4)
			pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		},
	)
	for i := 0; i < 200; i++ {
		sts := &appsv1.StatefulSet{}
		fill.Fill(sts)
		sts.TypeMeta = metav1.TypeMeta{}
		sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
		view, err := ViewOfStatefulSet(sts)
		require.NoError(t, err)
		assert.True(t, isStatefulSet(view))
		back, err := statefulSetOf(view)
		require.NoError(t, err)
		back.TypeMeta = metav1.TypeMeta{}
		require.True(t, apiequality.Semantic.DeepEqual(sts, back), "round %d: the StatefulSet changed through its view:\n%#v\n%#v", i, sts.Spec, back.Spec)
		assert.Equal(t, "app=x", view.Status.Selector, "the status selector computeStatus writes, so an unchanged status compares equal")
	}
}

func TestKindOf(t *testing.T) {
	assert.Equal(t, miniStatefulSetKind, kindOf(newSet("web").Obj()), "the MiniStatefulSet informer's objects have no TypeMeta")
	view, err := ViewOfStatefulSet(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "u"}})
	require.NoError(t, err)
	assert.Equal(t, statefulSetKind, kindOf(view))
	ref := ownerRef(view)
	assert.Equal(t, "apps/v1", ref.APIVersion)
	assert.Equal(t, "StatefulSet", ref.Kind)
	assert.True(t, isSetRef(ref))
	assert.True(t, isSetRef(ownerRef(newSet("web").Obj())))
	assert.False(t, isSetRef(&metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet"}))
	assert.False(t, isSetRef(&metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "StatefulSet"}))
}

// TestDropInThroughInformers drives an apps/v1 StatefulSet as main does with
// --manage=statefulsets: informers over the fake API, workers, the same algorithm.
// The pods, their claims and the revision are owned by the StatefulSet, web-1 waits
// for web-0 to be Ready, the status is written through apps/v1's status subresource
// with apps/v1's fields only (a condition somebody else wrote is kept, none of
// MiniStatefulSet's is added), and events are recorded on the StatefulSet in its
// words.
func TestDropInThroughInformers(t *testing.T) {
	f := newFixture(t, nil)
	base := newSet("web").Replicas(2).Claims("data").Obj()
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Generation: 1}}
	require.NoError(t, appsv1alpha1.Recode(base.Spec, &sts.Spec))
	sts.Status.Conditions = []appsv1.StatefulSetCondition{{Type: "StatusUpdate", Status: corev1.ConditionTrue, Reason: "E2E"}}
	created, err := f.kube.AppsV1().StatefulSets(ns).Create(f.ctx, sts, metav1.CreateOptions{})
	require.NoError(t, err)

	kubeInf := informers.NewSharedInformerFactory(f.kube, 0)
	views, err := StatefulSetInformer(kubeInf.Apps().V1().StatefulSets())
	require.NoError(t, err)
	c, err := NewScopedController(f.ctx, f.kube, f.msts, []Informers{{Sets: views, Pods: kubeInf.Core().V1().Pods(),
		Claims: kubeInf.Core().V1().PersistentVolumeClaims(), Revisions: kubeInf.Apps().V1().ControllerRevisions()}}, f.recorder)
	require.NoError(t, err)
	waitFor := f.runThroughInformers(c, kubeInf)
	statefulSet := func() *appsv1.StatefulSet {
		got, err := f.kube.AppsV1().StatefulSets(ns).Get(f.ctx, "web", metav1.GetOptions{})
		require.NoError(t, err)
		return got
	}
	waitFor("web-0", func() bool { return len(f.podNames()) == 1 })
	waitFor("the status of web-0", func() bool { return statefulSet().Status.Replicas == 1 })
	assert.Equal(t, []string{"web-0"}, f.podNames(), "web-1 waits for web-0")
	owner := metav1.GetControllerOf(f.pod("web-0"))
	require.NotNil(t, owner)
	assert.Equal(t, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: created.UID,
		Controller: ptr(true), BlockOwnerDeletion: ptr(true)}, *owner)
	revs, err := f.kube.AppsV1().ControllerRevisions(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, revs.Items, 1)
	assert.Equal(t, "StatefulSet", metav1.GetControllerOf(&revs.Items[0]).Kind)
	assert.Equal(t, []string{"data-web-0"}, f.claimNames())

	pod := f.pod("web-0")
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	_, err = f.kube.CoreV1().Pods(ns).UpdateStatus(f.ctx, pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	waitFor("web-1 after web-0 is Ready", func() bool { return len(f.podNames()) == 2 })
	waitFor("the status to count web-0 Ready", func() bool { return statefulSet().Status.ReadyReplicas == 1 })

	st := statefulSet().Status
	assert.Equal(t, int64(1), st.ObservedGeneration)
	assert.Equal(t, revs.Items[0].Name, st.UpdateRevision)
	assert.Equal(t, revs.Items[0].Name, st.CurrentRevision)
	assert.Equal(t, []appsv1.StatefulSetCondition{{Type: "StatusUpdate", Status: corev1.ConditionTrue, Reason: "E2E"}}, st.Conditions,
		"kube-controller-manager writes no condition; one written by somebody else stays")
	var events []string
	for len(f.recorder.Events) > 0 {
		events = append(events, <-f.recorder.Events)
	}
	assert.Contains(t, events, "Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful")
	assert.Contains(t, events, "Normal SuccessfulCreate create Claim data-web-0 Pod web-0 in StatefulSet web success")
	for _, e := range events {
		assert.NotContains(t, e, "MiniStatefulSet", "an event in the words of a StatefulSet")
	}
	_, err = f.msts.AppsV1alpha1().MiniStatefulSets(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, a := range f.msts.Actions() {
		assert.False(t, strings.Contains(a.GetResource().Resource, "ministatefulsets") && a.GetVerb() != "list",
			"nothing is asked of MiniStatefulSets in drop-in mode: %v", a)
	}
}

// TestNameTakenSaysWhoHoldsIt: a pod of the same name held by a set of the other kind
// is that kind's, not "an earlier" set of this one's.
func TestNameTakenSaysWhoHoldsIt(t *testing.T) {
	mini := newSet("web").Obj()
	view, err := ViewOfStatefulSet(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, UID: "uid-sts"}})
	require.NoError(t, err)
	earlier := newSet("web").Obj()
	earlier.UID = "uid-earlier"
	for _, c := range []struct {
		set, owner *appsv1alpha1.MiniStatefulSet
		want       string
	}{
		{mini, view, "a pod controlled by StatefulSet web"},
		{view, mini, "a pod controlled by MiniStatefulSet web"},
		{mini, earlier, "a pod of an earlier MiniStatefulSet web"},
		{view, view, "this set's own pod, not yet in the cache"},
	} {
		holder := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", OwnerReferences: []metav1.OwnerReference{*ownerRef(c.owner)}}}
		e := &nameTakenError{pod: "web-0"}
		e.describeHolder(c.set, holder)
		assert.Equal(t, c.want, e.holder)
	}
}
