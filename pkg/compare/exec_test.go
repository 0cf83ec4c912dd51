package compare

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
)

func TestInjectProbeGivesTheFirstContainerTheRunnersProbe(t *testing.T) {
	pod := corev1.PodSpec{Containers: []corev1.Container{
		{Name: "app", ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}}},
		{Name: "sidecar"},
	}}
	InjectProbe(&pod)
	p := pod.Containers[0].ReadinessProbe
	require.NotNil(t, p)
	assert.Nil(t, p.HTTPGet, "the manifest's own probe is replaced: the runner must decide readiness")
	require.NotNil(t, p.Exec)
	assert.Equal(t, []string{"sh", "-c", "test ! -e /tmp/msts-unready"}, p.Exec.Command)
	assert.Equal(t, int32(1), p.PeriodSeconds)
	assert.Equal(t, int32(1), p.FailureThreshold, "one failed probe makes a held pod un-Ready")
	assert.Nil(t, pod.Containers[1].ReadinessProbe, "only the first container is probed")

	empty := corev1.PodSpec{}
	InjectProbe(&empty)
	assert.Empty(t, empty.Containers)
}

func TestExecPrepareInjectsTheProbeAndKwokChangesNothing(t *testing.T) {
	spec := appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}}
	before := *spec.DeepCopy()
	Kwok{}.Prepare(&spec)
	assert.Equal(t, before, spec)
	Exec{}.Prepare(&spec)
	assert.NotNil(t, spec.Template.Spec.Containers[0].ReadinessProbe)
}

// execCall is one command an Executor was asked to run.
type execCall struct {
	namespace, pod, container string
	command                   []string
}

func TestExecHoldsAndReleasesThroughTheFileInTheFirstContainer(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	kube := kubefake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "sidecar"}}}})
	var calls []execCall
	e := Exec{Run: func(_ context.Context, ns, pod, container string, command []string) error {
		calls = append(calls, execCall{ns, pod, container, command})
		return nil
	}}
	require.NoError(t, e.Hold(ctx, kube, "ns", "web-1"))
	require.NoError(t, e.Release(ctx, kube, "ns", "web-1"))
	assert.Equal(t, []execCall{
		{"ns", "web-1", "app", []string{"touch", "/tmp/msts-unready"}},
		{"ns", "web-1", "app", []string{"rm", "-f", "/tmp/msts-unready"}},
	}, calls)

	assert.ErrorContains(t, e.Hold(ctx, kube, "ns", "web-9"), "reading pod ns/web-9")
	failing := Exec{Run: func(context.Context, string, string, string, []string) error { return errors.New("no shell") }}
	assert.ErrorContains(t, failing.Hold(ctx, kube, "ns", "web-1"), "running [touch /tmp/msts-unready] in ns/web-1: no shell")
}

func TestExecCannotFailAPodAndSaysWhy(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	e := Exec{}
	assert.False(t, e.CanFail())
	assert.True(t, e.PullsImages())
	assert.ErrorContains(t, e.Fail(ctx, kubefake.NewClientset(), "ns", "web-0"), "needs the kwok stages")
	assert.True(t, Kwok{}.CanFail())
	assert.False(t, Kwok{}.PullsImages())
}

func TestKwokRefusesAClusterWithRealNodes(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	real := kubefake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"}})
	assert.ErrorContains(t, Kwok{}.Check(ctx, real), "use --readiness exec")
	fake := kubefake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0",
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}}})
	assert.NoError(t, Kwok{}.Check(ctx, fake))
}
