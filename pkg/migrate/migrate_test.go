package migrate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/ordinals"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func template(image string, defaulted bool) corev1.PodTemplateSpec {
	c := corev1.Container{Name: "app", Image: image}
	if defaulted {
		c.ImagePullPolicy, c.TerminationMessagePath = corev1.PullIfNotPresent, "/dev/termination-log"
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
	}
}

// settledSts is a StatefulSet of 2 Ready pods at revision web-1, which holds tmpl.
func settledSts(tmpl corev1.PodTemplateSpec) (*appsv1.StatefulSet, []runtime.Object) {
	two := int32(2)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "sts-uid", Generation: 3},
		Spec:       appsv1.StatefulSetSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2,
			CurrentRevision: "web-1", UpdateRevision: "web-1"},
	}
	data, err := controller.RevisionData(&tmpl)
	if err != nil {
		panic(err)
	}
	ref := metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{*ref}},
		Data:       runtime.RawExtension{Raw: data}, Revision: 1,
	}
	objs := []runtime.Object{sts, rev}
	for _, name := range []string{"web-0", "web-1"} {
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			Labels: map[string]string{"app": "web", appsv1.ControllerRevisionHashLabelKey: "web-1"}, OwnerReferences: []metav1.OwnerReference{*ref}}})
	}
	return sts, objs
}

func clientsWith(objs ...runtime.Object) workload.Clients {
	return workload.Clients{Kube: kubefake.NewClientset(objs...), Sets: mstsfake.NewClientset()}
}

func TestPreflightRefusesWhatWouldNotMoveCleanly(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	target := workload.Ref{Kind: workload.MiniStatefulSet, Namespace: "ns", Name: "web"}
	sts, objs := settledSts(template("nginx:1", true))
	c := clientsWith(objs...)
	require.NoError(t, preflight(ctx, c, workload.FromStatefulSet(sts), target, Options{}))

	rolling := sts.DeepCopy()
	rolling.Status.UpdateRevision, rolling.Status.UpdatedReplicas = "web-2", 1
	err := preflight(ctx, c, workload.FromStatefulSet(rolling), target, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in the middle of a rollout (1 of 2 pods updated")
	assert.NoError(t, preflight(ctx, c, workload.FromStatefulSet(rolling), target, Options{AllowUnsettled: true}))

	unready := sts.DeepCopy()
	unready.Status.ReadyReplicas = 1
	err = preflight(ctx, c, workload.FromStatefulSet(unready), target, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 2 pods Ready")

	stale := sts.DeepCopy()
	stale.Generation = 4
	err = preflight(ctx, c, workload.FromStatefulSet(stale), target, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "generation 4, observed 3")

	back := workload.Ref{Kind: workload.StatefulSet, Namespace: "ns", Name: "web"}
	err = preflight(ctx, c, workload.FromStatefulSet(sts), back, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sts/web already exists: two controllers would fight over the pods")
}

func TestCheckRevisionNeedsTheSameRevisionData(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	sts, objs := settledSts(template("nginx:1", false))
	c := clientsWith(objs...)
	set := workload.FromStatefulSet(sts)
	st, err := snapshot(ctx, c, set)
	require.NoError(t, err)
	require.Len(t, st.pods, 2)

	same := workload.FromStatefulSet(sts.DeepCopy())
	name, err := checkRevision(ctx, c, set, same, st, Options{})
	require.NoError(t, err)
	assert.Equal(t, "web-1", name)

	defaulted := sts.DeepCopy()
	defaulted.Spec.Template = template("nginx:1", true)
	_, err = checkRevision(ctx, c, set, workload.FromStatefulSet(defaulted), st, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "would replace every pod")
	assert.Contains(t, err.Error(), "spec.containers[0].imagePullPolicy")
	assert.Contains(t, err.Error(), "spec.containers[0].terminationMessagePath")
	name, err = checkRevision(ctx, c, set, workload.FromStatefulSet(defaulted), st, Options{AllowRollout: true})
	require.NoError(t, err)
	assert.Equal(t, "web-1", name)
}

func TestTemplateDiffNamesEachPath(t *testing.T) {
	a, err := controller.RevisionData(&corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "x"}}}})
	require.NoError(t, err)
	b, err := controller.RevisionData(&corev1.PodTemplateSpec{Spec: corev1.PodSpec{DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{Name: "a", Image: "y"}}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"spec.containers[0].image", "spec.dnsPolicy"}, templateDiff(a, b))
	assert.Empty(t, templateDiff(a, a))
}

func TestPreflightRefusesFieldsAStatefulSetHasNot(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	target := workload.Ref{Kind: workload.StatefulSet, Namespace: "ns", Name: "web"}
	c := clientsWith()
	sts, _ := settledSts(template("nginx:1", true))
	set := workload.FromStatefulSet(sts)
	set.Kind = workload.MiniStatefulSet
	require.NoError(t, preflight(ctx, c, set, target, Options{}), "a set with nothing beyond apps/v1 moves")

	reserved, err := ordinals.Parse([]intstr.IntOrString{intstr.FromInt32(1)})
	require.NoError(t, err)
	set.Beyond = workload.Beyond{Reserved: reserved, UnhealthyPodReplacement: "Automatic"}
	err = preflight(ctx, c, set, target, Options{AllowUnsettled: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "msts/web uses spec.reserveOrdinals and spec.updateStrategy.rollingUpdate.unhealthyPodReplacement, which an apps/v1 StatefulSet has no field for")

	set.Beyond = workload.Beyond{UnhealthyPodReplacement: "Never"}
	assert.NoError(t, preflight(ctx, c, set, target, Options{}), "Never is apps/v1's behaviour")
}
