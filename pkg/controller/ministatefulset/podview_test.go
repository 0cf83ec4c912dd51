package ministatefulset

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestPodViewKeepsWhatTheControllerReads(t *testing.T) {
	now := metav1.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns", UID: "u", ResourceVersion: "7",
			Labels:            map[string]string{LabelPodName: "web-0", LabelRevision: "web-1"},
			OwnerReferences:   []metav1.OwnerReference{{Kind: "MiniStatefulSet", Name: "web", UID: "s"}},
			DeletionTimestamp: &now, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
		Spec: corev1.PodSpec{Hostname: "web-0", Subdomain: "web", NodeName: "n1",
			Containers: []corev1.Container{{Name: "app", Image: "nginx"}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-0"}}},
				{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
			}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true}}},
	}
	obj, err := podView(pod.DeepCopy())
	require.NoError(t, err)
	view := obj.(*corev1.Pod)

	want := pod.DeepCopy()
	want.ManagedFields = nil
	want.Spec = corev1.PodSpec{Hostname: "web-0", Subdomain: "web", NodeName: "n1", Volumes: pod.Spec.Volumes[:1]}
	want.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: pod.Status.Conditions[1:]}
	assert.Equal(t, want, view)
	assert.True(t, isRunningAndReady(view))
	assert.True(t, identityMatches(newSet("web").Obj(), view) == identityMatches(newSet("web").Obj(), pod))

	again, err := podView(view)
	require.NoError(t, err)
	assert.Equal(t, view, again, "a view of a view is the same view")

	tomb := cache.DeletedFinalStateUnknown{Key: "ns/web-0", Obj: pod}
	kept, err := podView(tomb)
	require.NoError(t, err)
	assert.Equal(t, tomb, kept, "what is not a pod passes through")
}

func TestPodViewsShareRepeatedStrings(t *testing.T) {
	decoded := func(name string) *corev1.Pod {
		// Strings built at run time, each its own copy, as a decoder makes them.
		ns, set := string([]byte("ns")), string([]byte("web"))
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:          map[string]string{string([]byte("app")): set, string([]byte(LabelPodName)): string([]byte(name))},
			OwnerReferences: []metav1.OwnerReference{{Kind: string([]byte("MiniStatefulSet")), Name: set}}}}
	}
	a, err := podView(decoded("web-0"))
	require.NoError(t, err)
	b, err := podView(decoded("web-1"))
	require.NoError(t, err)
	pa, pb := a.(*corev1.Pod), b.(*corev1.Pod)
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	assert.True(t, same(pa.Namespace, pb.Namespace), "namespace")
	assert.True(t, same(pa.Labels["app"], pb.Labels["app"]), "a label value")
	assert.True(t, same(pa.OwnerReferences[0].Name, pb.OwnerReferences[0].Name), "an owner's name")
	assert.True(t, same(pa.Labels[LabelPodName], pa.Name), "the pod-name label is the pod's name")
	assert.Equal(t, map[string]string{"app": "web", LabelPodName: "web-1"}, pb.Labels)
}
