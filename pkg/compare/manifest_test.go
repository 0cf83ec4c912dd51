package compare

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

const webManifest = `# a headless Service and its set
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  labels: {tier: demo}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: ""
      resources: {requests: {storage: 1Gi}}
---
`

func TestParseManifestReadsTheSetAndTheDocumentsBesideIt(t *testing.T) {
	m, err := ParseManifest([]byte(webManifest))
	require.NoError(t, err)
	assert.Equal(t, workload.StatefulSet, m.Kind)
	assert.Equal(t, "web", m.Set.Name)
	assert.Equal(t, int32(3), *m.Set.Spec.Replicas)
	assert.Equal(t, "nginx:1.27", m.Set.Spec.Template.Spec.Containers[0].Image)
	require.Len(t, m.Others, 1)
	svc, ok := m.Others[0].(*corev1.Service)
	require.True(t, ok, "the Service is read as a typed Service, got %T", m.Others[0])
	assert.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP)
}

func TestParseManifestReadsAMiniStatefulSetAsTheSameSpec(t *testing.T) {
	sts, err := ParseManifest([]byte(webManifest))
	require.NoError(t, err)
	msts, err := ParseManifest([]byte(`apiVersion: apps.ministatefulset.dev/v1alpha1
kind: MiniStatefulSet
metadata: {name: web, labels: {tier: demo}}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: ""
      resources: {requests: {storage: 1Gi}}
status: {replicas: 3, selector: app=web}
`))
	require.NoError(t, err)
	assert.Equal(t, workload.MiniStatefulSet, msts.Kind)
	assert.Equal(t, sts.Set.Spec, msts.Set.Spec)
	assert.Equal(t, "StatefulSet", msts.Set.Kind)
	assert.Empty(t, msts.Others)
}

func TestParseManifestRefusesWhatItCannotRun(t *testing.T) {
	for name, tc := range map[string]struct{ doc, err string }{
		"no set": {`apiVersion: v1
kind: ConfigMap
metadata: {name: c}`, "holds no StatefulSet"},
		"two sets":     {webManifest + webManifest, "holds two sets"},
		"another kind": {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n" + webManifest, "compare creates only Service, ConfigMap, Secret, ServiceAccount beside the set, not a Deployment"},
		"a field apps/v1 does not have": {`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec: {replicas: 1, reserveOrdinals: [1]}`, `unknown field "reserveOrdinals"`},
		"no name":  {"apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: 1}\n", "has no metadata.name"},
		"not YAML": {"apiVersion: [\n", "document 1 is not YAML or JSON"},
	} {
		_, err := ParseManifest([]byte(tc.doc))
		assert.ErrorContains(t, err, tc.err, name)
	}
}

func TestToMiniStatefulSetChangesOnlyApiVersionAndKind(t *testing.T) {
	m, err := ParseManifest([]byte(webManifest))
	require.NoError(t, err)
	m.Set.Status.Replicas = 3
	msts, err := ToMiniStatefulSet(m.Set)
	require.NoError(t, err)
	assert.Equal(t, appsv1alpha1.SchemeGroupVersion.String(), msts.APIVersion)
	assert.Equal(t, appsv1alpha1.Kind, msts.Kind)
	assert.Equal(t, m.Set.ObjectMeta, msts.ObjectMeta)
	assert.Zero(t, msts.Status.Replicas, "the status is the controller's and is left behind")
	// The spec reads back as the same apps/v1 spec.
	set, err := workload.FromMiniStatefulSet(msts)
	require.NoError(t, err)
	assert.Equal(t, m.Set.Spec, set.Spec)
	a, _ := json.Marshal(m.Set.Spec)
	b, _ := json.Marshal(msts.Spec)
	assert.JSONEq(t, string(a), string(b))
}

func TestTheRedisExampleReadsAsACompareManifest(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/examples/redis.yaml")
	require.NoError(t, err)
	m, err := ParseManifest(raw)
	require.NoError(t, err)
	assert.Equal(t, workload.MiniStatefulSet, m.Kind)
	assert.Equal(t, "redis", m.Set.Name)
	require.Len(t, m.Others, 1)
	assert.IsType(t, &corev1.Service{}, m.Others[0])
}
