//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ministatefulset/ministatefulset/pkg/compare"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// compareManifest is what a person would hand `kubectl msts compare`: a headless
// Service and a 3-replica StatefulSet with a claim template (bound to the cluster's
// static PVs).
const compareManifest = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        volumeMounts: [{name: data, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: ""
      resources: {requests: {storage: 1Gi}}
`

// TestPluginCompare runs every scenario of `kubectl msts compare` on the local
// cluster, under kube-controller-manager's StatefulSet controller and under the
// suite's MiniStatefulSet controller, and requires both to do the same in each.
func TestPluginCompare(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "pcmp")
	file := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(file, []byte(compareManifest), 0o644))
	start := time.Now()
	out, errOut, status := e.kubectlMsts("compare", "-f", file, "--scenario", "all", "--parallel", "3")
	t.Logf("compare of every scenario took %v", time.Since(start).Round(100*time.Millisecond))

	verdicts := summaryVerdicts(out)
	for _, s := range compare.Scenarios() {
		assert.Equal(t, "same", verdicts[s.Name], "the verdict of scenario %s", s.Name)
	}
	assert.Len(t, verdicts, len(compare.Scenarios()), "one summary row per scenario")
	assert.Equal(t, 0, status, "exit status; stderr: %s", errOut)
	// Both columns, and pod steps timed from each step's action on both sides.
	assert.Regexp(t, `(?m)^    StatefulSet\s+\| MiniStatefulSet$`, out)
	assert.Regexp(t, `(?m)^    \s+\+\d+ms\s+created\s+web-0\s+\|\s+\+\d+ms\s+created\s+web-0$`, out)
	assert.Regexp(t, `(?m)^    \s+\+\d+ms\s+terminating\s+web-2\s+\|\s+\+\d+ms\s+terminating\s+web-2$`, out)
	assert.NotRegexp(t, `(?m)^ ! `, out, "no line marked as differing")
	// MiniStatefulSet names revisions as apps/v1 does: the same name on both sides.
	assert.Regexp(t, `(?m)^    pod web-0 at (web-\w+)\s+\| pod web-0 at (web-\w+)$`, out)
	requireNamespacesDeleted(t, e.ctx, out)
}

// TestCompareReportsADifference drives the runner with a deliberately different
// pair: one step scales the StatefulSet to 2 and the MiniStatefulSet to 3. The
// verdict must be DIFFERENT, naming the first pod step only one side showed.
func TestCompareReportsADifference(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "pcmpd")
	m, err := compare.ParseManifest([]byte(compareManifest))
	require.NoError(t, err)
	*m.Set.Spec.Replicas = 1
	m.Set.Spec.VolumeClaimTemplates = nil
	m.Set.Spec.Template.Spec.Containers[0].VolumeMounts = nil
	uneven := compare.Scenario{Name: "uneven", Summary: "scale the StatefulSet to 2 and the MiniStatefulSet to 3",
		Steps: func(p compare.Plan) []compare.Step {
			return []compare.Step{
				{Name: "create", Until: allReady(), Action: compare.Action{What: "create the set",
					Do: func(ctx context.Context, s *compare.Side) error { return s.Create(ctx) }}},
				{Name: "scale", Until: allReady(), Action: compare.Action{What: "scale to 2 (StatefulSet) or 3 (MiniStatefulSet)",
					Do: func(ctx context.Context, s *compare.Side) error {
						if s.Kind == workload.StatefulSet {
							return s.Scale(ctx, 2)
						}
						return s.Scale(ctx, 3)
					}}},
			}
		}}
	r := &compare.Runner{Clients: workload.Clients{Kube: kube, Sets: msts}, Readiness: compare.Kwok{}, Manifest: m,
		Scenarios: []compare.Scenario{uneven}, Timeout: longWait}
	res, err := r.Run(e.ctx)
	require.NoError(t, err)
	require.Len(t, res.Scenarios, 1)
	sc := res.Scenarios[0]
	var text strings.Builder
	require.NoError(t, compare.WriteText(&text, res))
	t.Logf("compare output:\n%s", text.String())
	assert.False(t, res.Passed())
	assert.Equal(t, compare.Different, sc.Verdict, sc.VerdictLine())
	assert.Equal(t, `step 2 scale: pod step 3: the MiniStatefulSet showed "created web-2", the StatefulSet had no more (it showed 2)`, sc.Reason)
	assert.Regexp(t, `(?m)^ ! \s+\|\s+\+\d+ms\s+created\s+web-2$`, text.String(), "the line only the MiniStatefulSet has is marked")
	assert.Regexp(t, `(?m)^ !  \s+\| pod web-2 at web-\w+$`, text.String())
	requireNamespacesDeleted(t, e.ctx, text.String())
}

// allReady holds when the set has as many pods as its spec asks for, all Running
// and Ready, and a status that has caught up.
func allReady() compare.Condition {
	return compare.Condition{What: "every pod of spec.replicas Ready", Met: func(o compare.Observation) (bool, error) {
		s := o.Now
		if s.Set == nil || s.Set.Status.ObservedGeneration < s.Set.Generation || len(s.Pods) != s.Set.Replicas() {
			return false, nil
		}
		for i := range s.Pods {
			if !isReady(&s.Pods[i]) || s.Pods[i].DeletionTimestamp != nil {
				return false, nil
			}
		}
		return int(s.Set.Status.ReadyReplicas) == s.Set.Replicas(), nil
	}}
}

var summaryRow = regexp.MustCompile(`(?m)^(\S+)\s+\d[\d.]*(?:ms|s|m\S*)\s+(.+)$`)

// summaryVerdicts reads the summary table at the end of compare's text output.
func summaryVerdicts(out string) map[string]string {
	i := strings.LastIndex(out, "\nSCENARIO ")
	if i < 0 {
		return nil
	}
	verdicts := map[string]string{}
	for _, m := range summaryRow.FindAllStringSubmatch(out[i+1:], -1) {
		verdicts[m[1]] = strings.TrimSpace(m[2])
	}
	return verdicts
}

var namespacesLine = regexp.MustCompile(`(?m)^namespaces: (\S+) \(StatefulSet\), (\S+) \(MiniStatefulSet\)$`)

// requireNamespacesDeleted checks that every namespace compare printed is gone or
// being deleted.
func requireNamespacesDeleted(t *testing.T, ctx context.Context, out string) {
	t.Helper()
	lines := namespacesLine.FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, lines, "compare printed no namespaces")
	for _, m := range lines {
		for _, name := range m[1:] {
			ns, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			require.NoError(t, err)
			assert.NotNil(t, ns.DeletionTimestamp, "namespace %s was left behind", name)
		}
	}
}
