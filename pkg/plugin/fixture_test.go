package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

const testNS = "demo"

// testNow is the fixed clock of the rollout tests.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// bothKinds runs a test for a MiniStatefulSet and for a StatefulSet.
var bothKinds = []workload.Kind{workload.MiniStatefulSet, workload.StatefulSet}

// pluginFixture is the plugin over fake clients of both kinds.
type pluginFixture struct {
	t           *testing.T
	kube        *kubefake.Clientset
	sets        *mstsfake.Clientset
	out, errOut *bytes.Buffer
	o           *Options
}

func newPluginFixture(t *testing.T, objs ...runtime.Object) *pluginFixture {
	var kubeObjs, setObjs []runtime.Object
	for _, obj := range objs {
		if _, ok := obj.(*appsv1alpha1.MiniStatefulSet); ok {
			setObjs = append(setObjs, obj)
		} else {
			kubeObjs = append(kubeObjs, obj)
		}
	}
	f := &pluginFixture{t: t, kube: kubefake.NewClientset(kubeObjs...), sets: mstsfake.NewClientset(setObjs...),
		out: &bytes.Buffer{}, errOut: &bytes.Buffer{}}
	f.o = &Options{
		ConfigFlags: genericclioptions.NewConfigFlags(false),
		IOStreams:   genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: f.out, ErrOut: f.errOut},
		NewClients:  func() (workload.Clients, error) { return workload.Clients{Kube: f.kube, Sets: f.sets}, nil },
		Namespace:   func() (string, error) { return testNS, nil },
		Now:         func() time.Time { return testNow },
	}
	return f
}

// run runs a command line of the plugin.
func (f *pluginFixture) run(ctx context.Context, args ...string) error {
	cmd := NewCommand(f.o)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(ctx)
}

// clearActions forgets the reads and writes made while setting up.
func (f *pluginFixture) clearActions() {
	f.kube.ClearActions()
	f.sets.ClearActions()
}

// writes are the write actions sent to either client.
func (f *pluginFixture) writes() []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range append(f.kube.Actions(), f.sets.Actions()...) {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a)
		}
	}
	return out
}

// template reads the set's live pod template.
func (f *pluginFixture) template(ctx context.Context, ref workload.Ref) corev1.PodTemplateSpec {
	f.t.Helper()
	set, err := workload.Clients{Kube: f.kube, Sets: f.sets}.Get(ctx, ref)
	require.NoError(f.t, err)
	return set.Spec.Template
}

// watchStarted makes the fake's watches of a resource signal once they are
// registered, so a test changes the set only when the watch will see it.
func watchStarted(fake interface {
	PrependWatchReactor(string, clienttesting.WatchReactionFunc)
	Tracker() clienttesting.ObjectTracker
}, gvr schema.GroupVersionResource) <-chan struct{} {
	started := make(chan struct{})
	var once sync.Once
	fake.PrependWatchReactor(gvr.Resource, func(action clienttesting.Action) (bool, watch.Interface, error) {
		w, err := fake.Tracker().Watch(gvr, action.GetNamespace())
		once.Do(func() { close(started) })
		return true, w, err
	})
	return started
}

// testSet builds either kind of set: newTestSet(kind, "web").Replicas(3).Obj().
type testSet struct {
	kind workload.Kind
	meta metav1.ObjectMeta
	spec appsv1.StatefulSetSpec
	st   appsv1.StatefulSetStatus
}

func newTestSet(kind workload.Kind, name string) *testSet {
	replicas := int32(3)
	return &testSet{kind: kind,
		meta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID(name + "-uid"), Generation: 1},
		spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: name,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: testTemplate(name, "redis:7"),
		},
		st: appsv1.StatefulSetStatus{ObservedGeneration: 1},
	}
}

func testTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: image}}},
	}
}

func (b *testSet) Replicas(n int32) *testSet { b.spec.Replicas = &n; return b }
func (b *testSet) Image(image string) *testSet {
	b.spec.Template = testTemplate(b.meta.Name, image)
	return b
}
func (b *testSet) OnDelete() *testSet {
	b.spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
	return b
}
func (b *testSet) Partition(p int32) *testSet {
	b.spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &p}}
	return b
}
func (b *testSet) Generation(generation, observed int64) *testSet {
	b.meta.Generation, b.st.ObservedGeneration = generation, observed
	return b
}
func (b *testSet) Annotate(key, value string) *testSet {
	metav1.SetMetaDataAnnotation(&b.meta, key, value)
	return b
}

// Pods sets the status counts: ready, updated and current replicas.
func (b *testSet) Pods(ready, updated, current int32) *testSet {
	b.st.Replicas, b.st.ReadyReplicas, b.st.AvailableReplicas = *b.spec.Replicas, ready, ready
	b.st.UpdatedReplicas, b.st.CurrentReplicas = updated, current
	return b
}

// Revisions sets status.currentRevision and status.updateRevision.
func (b *testSet) Revisions(current, update string) *testSet {
	b.st.CurrentRevision, b.st.UpdateRevision = current, update
	return b
}

func (b *testSet) Ref() workload.Ref {
	return workload.Ref{Kind: b.kind, Namespace: testNS, Name: b.meta.Name}
}

// Obj is the set as its kind's object.
func (b *testSet) Obj() runtime.Object {
	if b.kind == workload.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: *b.meta.DeepCopy(), Spec: *b.spec.DeepCopy(), Status: *b.st.DeepCopy()}
	}
	m := &appsv1alpha1.MiniStatefulSet{ObjectMeta: *b.meta.DeepCopy()}
	mustRecode(b.spec, &m.Spec)
	mustRecode(b.st, &m.Status)
	return m
}

// Set is the set as the plugin views it.
func (b *testSet) Set() *workload.Set {
	return &workload.Set{Kind: b.kind, ObjectMeta: *b.meta.DeepCopy(), Spec: *b.spec.DeepCopy(), Status: *b.st.DeepCopy()}
}

// Revision is a ControllerRevision the set controls, holding the template of an image.
func (b *testSet) Revision(number int64, image string) *appsv1.ControllerRevision {
	tmpl := testTemplate(b.meta.Name, image)
	data, err := ministatefulset.RevisionData(&tmpl)
	if err != nil {
		panic(err)
	}
	apiVersion := "apps/v1"
	if b.kind == workload.MiniStatefulSet {
		apiVersion = appsv1alpha1.SchemeGroupVersion.String()
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-rev%d", b.meta.Name, number), Namespace: testNS,
			Labels: map[string]string{"app": b.meta.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: apiVersion, Kind: string(b.kind), Name: b.meta.Name,
				UID: b.meta.UID, Controller: ptrTrue()}}},
		Data:     runtime.RawExtension{Raw: data},
		Revision: number,
	}
}

func ptrTrue() *bool { t := true; return &t }

func mustRecode(from, to any) {
	raw, err := json.Marshal(from)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(raw, to); err != nil {
		panic(err)
	}
}
