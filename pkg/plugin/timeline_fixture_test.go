package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// timelineStart is when the timeline tests' sets were created.
var timelineStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func tlAt(sec int) metav1.Time {
	return metav1.NewTime(timelineStart.Add(time.Duration(sec) * time.Second))
}

// timelineKinds runs a test for a MiniStatefulSet and a StatefulSet.
var timelineKinds = []workload.Kind{workload.MiniStatefulSet, workload.StatefulSet}

// lockedBuffer is an output a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// timelineFixture is the plugin over fake clients holding one set named web.
type timelineFixture struct {
	t           *testing.T
	kind        workload.Kind
	kube        *kubefake.Clientset
	sets        *mstsfake.Clientset
	out, errOut *lockedBuffer
	o           *Options
}

// newTimelineFixture holds web (replicas, Ready and updated as settled says) and objs.
func newTimelineFixture(t *testing.T, kind workload.Kind, replicas int32, settled bool, objs ...runtime.Object) *timelineFixture {
	meta := metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "web-uid", Generation: 1, CreationTimestamp: tlAt(0)}
	spec := appsv1.StatefulSetSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis:7"}}}},
	}
	status := appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: replicas}
	if settled {
		status.ReadyReplicas, status.UpdatedReplicas, status.CurrentReplicas = replicas, replicas, replicas
	}
	var kubeObjs, setObjs []runtime.Object
	kubeObjs = append(kubeObjs, objs...)
	if kind == workload.StatefulSet {
		kubeObjs = append(kubeObjs, &appsv1.StatefulSet{ObjectMeta: meta, Spec: spec, Status: status})
	} else {
		m := &appsv1alpha1.MiniStatefulSet{ObjectMeta: meta}
		timelineRecode(t, spec, &m.Spec)
		timelineRecode(t, status, &m.Status)
		setObjs = append(setObjs, m)
	}
	f := &timelineFixture{t: t, kind: kind, kube: kubefake.NewClientset(kubeObjs...), sets: mstsfake.NewClientset(setObjs...),
		out: &lockedBuffer{}, errOut: &lockedBuffer{}}
	f.o = &Options{
		ConfigFlags: genericclioptions.NewConfigFlags(false),
		IOStreams:   genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: f.out, ErrOut: f.errOut},
		NewClients:  func() (workload.Clients, error) { return workload.Clients{Kube: f.kube, Sets: f.sets}, nil },
		Namespace:   func() (string, error) { return "ns", nil },
		Now:         func() time.Time { return timelineStart.Add(10 * time.Second) },
	}
	return f
}

func timelineRecode(t *testing.T, from, to any) {
	raw, err := json.Marshal(from)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, to))
}

// ref is how a command line names the fixture's set.
func (f *timelineFixture) ref() string { return f.kind.Short() + "/web" }

func (f *timelineFixture) run(ctx context.Context, args ...string) error {
	cmd := NewCommand(f.o)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// start runs a command line in the background; the channel yields its error.
func (f *timelineFixture) start(ctx context.Context, args ...string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f.run(ctx, args...) }()
	return done
}

// waitOutput waits, bounded, until the output holds every piece.
func (f *timelineFixture) waitOutput(out *lockedBuffer, pieces ...string) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		s := out.String()
		for _, p := range pieces {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "waiting for %q in:\n%s", pieces, out.String())
}

// waitDone waits, bounded, for a background command to end and returns its error.
func waitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not end")
		return nil
	}
}

// tlPod builds a pod of web: tlPod(kind, 0).created(1).ready(2).obj().
type tlPodBuilder struct{ pod *corev1.Pod }

func tlPod(kind workload.Kind, ordinal int) *tlPodBuilder {
	name := "web-" + string(rune('0'+ordinal))
	return &tlPodBuilder{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "ns", UID: types.UID(name + "-uid"),
		OwnerReferences: []metav1.OwnerReference{{Kind: string(kind), Name: "web", UID: "web-uid", Controller: ptrTo(true)}},
	}, Status: corev1.PodStatus{Phase: corev1.PodPending}}}
}

func ptrTo[T any](v T) *T { return &v }

func (b *tlPodBuilder) created(sec int) *tlPodBuilder { b.pod.CreationTimestamp = tlAt(sec); return b }

func (b *tlPodBuilder) ready(sec int) *tlPodBuilder {
	b.pod.Spec.NodeName, b.pod.Status.Phase = "node-1", corev1.PodRunning
	b.pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: tlAt(sec)},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: tlAt(sec)},
	}
	return b
}

func (b *tlPodBuilder) obj() *corev1.Pod { return b.pod.DeepCopy() }

// tlEvent is an Event about web as its controller writes them.
func tlEvent(kind workload.Kind, reason, message string, sec int) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web." + reason + "." + message, Namespace: "ns", UID: types.UID(reason + message)},
		InvolvedObject: corev1.ObjectReference{Kind: string(kind), Name: "web", Namespace: "ns", UID: "web-uid"},
		Reason:         reason, Message: message, Count: 1, FirstTimestamp: tlAt(sec), LastTimestamp: tlAt(sec),
	}
}

// settle writes a status with every one of n replicas Ready and updated.
func (f *timelineFixture) settle(ctx context.Context, n int32) {
	f.t.Helper()
	if f.kind == workload.StatefulSet {
		sts, err := f.kube.AppsV1().StatefulSets("ns").Get(ctx, "web", metav1.GetOptions{})
		require.NoError(f.t, err)
		sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.UpdatedReplicas = n, n, n
		_, err = f.kube.AppsV1().StatefulSets("ns").UpdateStatus(ctx, sts, metav1.UpdateOptions{})
		require.NoError(f.t, err)
		return
	}
	m, err := f.sets.AppsV1alpha1().MiniStatefulSets("ns").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(f.t, err)
	m.Status.Replicas, m.Status.ReadyReplicas, m.Status.UpdatedReplicas = n, n, n
	_, err = f.sets.AppsV1alpha1().MiniStatefulSets("ns").UpdateStatus(ctx, m, metav1.UpdateOptions{})
	require.NoError(f.t, err)
}
