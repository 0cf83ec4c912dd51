package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/compare"
	mstsfake "github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned/fake"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

const compareManifest = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
`

// runCompare runs `compare` with args against a fake cluster of the given nodes.
func runCompare(t *testing.T, nodes []corev1.Node, args ...string) (*kubefake.Clientset, string, error) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	file := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(file, []byte(compareManifest), 0o644))
	kube := kubefake.NewClientset()
	for i := range nodes {
		require.NoError(t, kube.Tracker().Add(&nodes[i]))
	}
	var out, errOut bytes.Buffer
	o := &Options{
		ConfigFlags: genericclioptions.NewConfigFlags(false),
		IOStreams:   genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut},
		NewClients: func() (workload.Clients, error) {
			return workload.Clients{Kube: kube, Sets: mstsfake.NewClientset()}, nil
		},
		Namespace: func() (string, error) { return "default", nil },
		Now:       time.Now,
	}
	cmd := NewCommand(o)
	cmd.SetArgs(append([]string{"compare", "-f", file}, args...))
	err := cmd.ExecuteContext(ctx)
	return kube, out.String() + errOut.String(), err
}

func TestCompareRefusesBadFlagsBeforeTouchingTheCluster(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		err  string
	}{
		"an unknown scenario":     {[]string{"--scenario", "create,nope"}, `no scenario "nope"`},
		"an unknown output":       {[]string{"-o", "wide"}, `unknown output format "wide"`},
		"no parallelism":          {[]string{"--parallel", "0"}, "--parallel 0: run at least 1"},
		"an unknown readiness":    {[]string{"--readiness", "magic"}, `unknown --readiness "magic"`},
		"exec without an image":   {[]string{"--readiness", "exec", "--scenario", "rolling-update"}, "give --update-image"},
		"kwok without kwok nodes": {[]string{"--scenario", "create"}, "use --readiness exec"},
	} {
		kube, _, err := runCompare(t, []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "kind-worker"}}}, tc.args...)
		assert.ErrorContains(t, err, tc.err, name)
		for _, a := range kube.Actions() {
			assert.Contains(t, []string{"get", "list"}, a.GetVerb(), "%s: wrote %v", name, a)
		}
	}
}

func TestCompareNeedsAFile(t *testing.T) {
	_, _, err := runCompare(t, nil, "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorContains(t, err, "missing.yaml")
}

func TestCompareHelpListsTheScenarios(t *testing.T) {
	help := newCompareCommand(NewOptions(genericiooptions.NewTestIOStreamsDiscard())).Long
	for _, s := range compare.Scenarios() {
		assert.Contains(t, help, s.Name+" ")
	}
}

func TestNotPassedNamesTheScenariosThatWereNotTheSame(t *testing.T) {
	assert.NoError(t, notPassed(&compare.Result{Scenarios: []compare.ScenarioResult{{Name: "create", Verdict: compare.Same}}}))
	err := notPassed(&compare.Result{Scenarios: []compare.ScenarioResult{
		{Name: "create", Verdict: compare.Same}, {Name: "rollback", Verdict: compare.Different}, {Name: "failed-pod", Verdict: compare.NotRun},
	}})
	assert.EqualError(t, err, "2 of 3 scenarios did not find the two controllers the same (rollback DIFFERENT, failed-pod not run): see the verdicts above")
}
