package compare

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func kwokCluster() *kubefake.Clientset {
	return kubefake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-node-0",
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}}})
}

func scenariosNamed(t *testing.T, names ...string) []Scenario {
	t.Helper()
	s, err := Select(names)
	require.NoError(t, err)
	return s
}

func TestRunRefusesWhatCannotRunBeforeCreatingAnything(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	zero := testSet()
	*zero.Spec.Replicas = 0
	for name, tc := range map[string]struct {
		r   Runner
		err string
	}{
		"no replicas": {Runner{Readiness: Kwok{}, Manifest: &Manifest{Set: zero}, Scenarios: scenariosNamed(t, "create")},
			"web has 0 replicas: compare needs at least 1"},
		"an image change on real kubelets without an image": {
			Runner{Readiness: Exec{}, Manifest: &Manifest{Set: testSet()}, Scenarios: scenariosNamed(t, "create", "rollback")},
			"scenario rollback changes the image, and with --readiness exec the nodes pull it: give --update-image"},
		"kwok stages on real nodes": {
			Runner{Readiness: Kwok{}, Manifest: &Manifest{Set: testSet()}, Scenarios: scenariosNamed(t, "create")},
			"use --readiness exec"},
		"no scenarios": {Runner{Readiness: Kwok{}, Manifest: &Manifest{Set: testSet()}}, "nothing to compare"},
	} {
		kube := kubefake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"}})
		tc.r.Clients = workload.Clients{Kube: kube}
		_, err := tc.r.Run(ctx)
		assert.ErrorContains(t, err, tc.err, name)
		for _, a := range kube.Actions() {
			assert.Contains(t, []string{"get", "list"}, a.GetVerb(), "%s: wrote %v", name, a)
		}
	}
}

func TestAnImageChangeOnRealKubeletsRunsWithAnUpdateImage(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	r := Runner{Clients: workload.Clients{Kube: kwokCluster()}, Readiness: Exec{}, Manifest: &Manifest{Set: testSet()},
		Scenarios: scenariosNamed(t, "rollback"), UpdateImage: "nginx:1.28"}
	require.NoError(t, r.check(ctx))
	assert.Equal(t, "nginx:1.28", r.image())
	r.UpdateImage = ""
	assert.Equal(t, "nginx:1.27-compare", r.image())
}

func TestFailedPodIsNotRunWithoutTheKwokStages(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	kube := kwokCluster()
	r := Runner{Clients: workload.Clients{Kube: kube}, Readiness: Exec{}, Manifest: &Manifest{Set: testSet()}}
	res := r.runScenario(ctx, "run01", scenariosNamed(t, "failed-pod")[0])
	assert.Equal(t, NotRun, res.Verdict)
	assert.Equal(t, "not run: needs the kwok stages (a pod cannot be made Failed with --readiness exec)", res.VerdictLine())
	assert.Empty(t, res.Namespaces)
	assert.Empty(t, kube.Actions(), "nothing is created for a scenario that cannot run")
}

func TestFailureNamesTheSideTheStepAndWhetherTheOtherPassed(t *testing.T) {
	st := stepOf("scale-to-4", InSequence, observed(nil, nil, nil), observed(nil, nil, nil))
	assert.Empty(t, failure(3, Step{Name: "scale-to-4"}, st))
	st.Sides[0].Error = "timed out"
	assert.Equal(t, "StatefulSet (namespace cmp-x-sts-aaaaa), step 3 scale-to-4: timed out (the MiniStatefulSet passed this step)",
		failure(3, Step{Name: "scale-to-4"}, st))
	st.Sides[1].Error = "refused"
	assert.Equal(t, "StatefulSet (namespace cmp-x-sts-aaaaa), step 3 scale-to-4: timed out; and "+
		"MiniStatefulSet (namespace cmp-x-msts-bbbbb), step 3 scale-to-4: refused", failure(3, Step{Name: "scale-to-4"}, st))
}

func TestCreateOtherGivesEachNamespaceItsOwnCopy(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	kube := kubefake.NewClientset()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "from-file", UID: "u1", ResourceVersion: "7"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.9", ClusterIPs: []string{"10.0.0.9"}}}
	headless := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}}
	for _, ns := range []string{"a", "b"} {
		require.NoError(t, createOther(ctx, kube, ns, svc))
		require.NoError(t, createOther(ctx, kube, ns, headless))
		got, err := kube.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Empty(t, got.Spec.ClusterIP, "the file's cluster IP is left for the server to assign")
		assert.Empty(t, got.UID)
		db, err := kube.CoreV1().Services(ns).Get(ctx, "db", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, corev1.ClusterIPNone, db.Spec.ClusterIP, "a headless Service stays headless")
	}
	assert.Equal(t, "from-file", svc.Namespace, "the manifest's object is not changed")
	assert.ErrorContains(t, createOther(ctx, kube, "a", &corev1.Pod{}), "cannot create a *v1.Pod")
}
