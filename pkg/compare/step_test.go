package compare

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

const testNS = "cmp-test-sts-abcde"

func testSet() *appsv1.StatefulSet {
	two := int32(2)
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &two, ServiceName: "web",
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}},
	}}
}

func fakeSide(kind workload.Kind) (*Side, *kubefake.Clientset, *mstsfake.Clientset) {
	// The generated NewClientset tracks managed fields from an OpenAPI schema that has
	// no MiniStatefulSet, and refuses its creates; the simple tracker takes them.
	kube, sets := kubefake.NewClientset(), mstsfake.NewSimpleClientset()
	return newSide(kind, testNS, workload.Clients{Kube: kube, Sets: sets}, Kwok{}, testSet()), kube, sets
}

func TestSideCreatesAndUpdatesEitherKindThroughTheSameSpec(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			s, _, _ := fakeSide(kind)
			require.NoError(t, s.Create(ctx))
			require.NoError(t, s.Scale(ctx, 5))
			require.NoError(t, s.Update(ctx, func(spec *appsv1.StatefulSetSpec) { spec.Template.Spec.Containers[0].Image = "nginx:1.28" }))
			set, err := s.getSet(ctx)
			require.NoError(t, err)
			require.NotNil(t, set)
			assert.Equal(t, kind, set.Kind)
			assert.Equal(t, 5, set.Replicas())
			assert.Equal(t, "nginx:1.28", set.Spec.Template.Spec.Containers[0].Image)
			want := testSet().Spec
			want.Replicas, want.Template.Spec.Containers[0].Image = set.Spec.Replicas, "nginx:1.28"
			assert.Equal(t, want, set.Spec, "nothing else of the spec changed on the way")
			require.NoError(t, s.Delete(ctx))
			set, err = s.getSet(ctx)
			require.NoError(t, err)
			assert.Nil(t, set, "a deleted set reads as gone, not as an error")
		})
	}
}

func TestSideCreatesTheMiniStatefulSetByApiVersionAndKind(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	s, _, sets := fakeSide(workload.MiniStatefulSet)
	require.NoError(t, s.Create(ctx))
	m, err := sets.AppsV1alpha1().MiniStatefulSets(testNS).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, appsv1alpha1.Kind, m.Kind)
	assert.Equal(t, "web", m.Spec.ServiceName)
}

// podCreator is an action that creates pod web-0 as a controller would.
var podCreator = Action{What: "create web-0", Do: func(ctx context.Context, s *Side) error {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: s.Namespace, UID: "uid-web-0"}}
	_, err := s.clients.Kube.CoreV1().Pods(s.Namespace).Create(ctx, p, metav1.CreateOptions{})
	return err
}}

func podExists(name string) Condition {
	return Condition{What: name + " exists", Met: func(o Observation) (bool, error) {
		_, ok := o.Now.pod(name)
		return ok, nil
	}}
}

func TestRunStepRecordsWhatTheTraceSawFromTheAction(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, kube, _ := fakeSide(workload.StatefulSet)
	require.NoError(t, trace.WatchPods(ctx, kube, testNS, s.trace))
	obs := s.runStep(ctx, Step{Name: "one", Action: podCreator, Until: podExists("web-0")}, 10*time.Second, 10*time.Millisecond)
	require.Empty(t, obs.Error)
	require.Len(t, obs.Events, 1)
	assert.Equal(t, trace.Created, obs.Events[0].Step)
	assert.Equal(t, "web-0", obs.Events[0].Pod)
	assert.GreaterOrEqual(t, obs.Events[0].AfterMS, int64(0), "timed from the action")
	assert.Equal(t, map[string]string{"web-0": ""}, obs.Revisions)
	assert.Equal(t, workload.StatefulSet, obs.Kind)
	assert.Equal(t, testNS, obs.Namespace)
}

func TestRunStepTimesOutNamingTheConditionAndTheState(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	s, _, _ := fakeSide(workload.StatefulSet)
	noop := Action{What: "nothing", Do: func(context.Context, *Side) error { return nil }}
	obs := s.runStep(ctx, Step{Name: "wait", Action: noop, Until: podExists("web-9")}, 100*time.Millisecond, 10*time.Millisecond)
	assert.Contains(t, obs.Error, "timed out after 100ms waiting until web-9 exists; now set: gone; pods: none")
}

func TestRunStepFailsWhenAWindowIsBroken(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	s, _, _ := fakeSide(workload.StatefulSet)
	noop := Action{What: "nothing", Do: func(context.Context, *Side) error { return nil }}
	calls := 0
	flaky := Condition{What: "nothing happens", Window: time.Minute, Met: func(Observation) (bool, error) {
		calls++
		return calls < 3, nil
	}}
	obs := s.runStep(ctx, Step{Name: "hold", Action: noop, Until: flaky}, time.Minute, 10*time.Millisecond)
	assert.Contains(t, obs.Error, "nothing happens held, then stopped holding")
	assert.Equal(t, 3, calls, "it fails at the first read that breaks the window, not at the timeout")
}

func TestRunStepReportsAConditionThatRulesOutWhatHappened(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	s, _, _ := fakeSide(workload.StatefulSet)
	obs := s.runStep(ctx, Step{Name: "halt", Action: podCreator, Until: Condition{What: "no pods",
		Met: func(o Observation) (bool, error) {
			if len(o.Now.Pods) > 0 {
				return false, assert.AnError
			}
			return false, nil
		}}}, time.Minute, 10*time.Millisecond)
	assert.Contains(t, obs.Error, assert.AnError.Error()+" (waiting until no pods); now set: gone; pods: web-0")
}

func TestRunStepReportsAFailedAction(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	s, _, _ := fakeSide(workload.StatefulSet)
	obs := s.runStep(ctx, Step{Name: "scale", Until: podExists("web-0"),
		Action: Action{What: "scale to 3 replicas", Do: func(ctx context.Context, s *Side) error { return s.Scale(ctx, 3) }}}, time.Minute, 10*time.Millisecond)
	assert.Contains(t, obs.Error, "scale to 3 replicas: ")
	assert.Contains(t, obs.Error, "not found")
}
