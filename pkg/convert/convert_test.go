package convert

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// webSTS is written the way people write manifests: comments everywhere, blank
// lines, quoted and plain strings, keys in no canonical order.
const webSTS = `# the redis set of the quickstart
apiVersion: apps/v1 # the built-in kind
kind: "StatefulSet"
metadata:
  name: web   # pods are web-0, web-1, ...
  labels: {app: web}

spec:
  serviceName: web
  # three, created one at a time
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: redis
        image: 'redis:7'
        args: ["--appendonly", "yes"]
  updateStrategy: {}
`

const service = `# the headless Service
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: web
`

func convertOK(t *testing.T, src string, opts Options) Result {
	t.Helper()
	res, err := Convert([]byte(src), opts)
	require.NoError(t, err)
	return res
}

func TestRoundTripIsByteIdentical(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	msts := convertOK(t, webSTS, Options{})
	want := strings.Replace(strings.Replace(webSTS, "apiVersion: apps/v1 #", "apiVersion: apps.ministatefulset.dev/v1alpha1 #", 1),
		`kind: "StatefulSet"`, `kind: "MiniStatefulSet"`, 1)
	assert.Equal(t, want, string(msts.Output), "only apiVersion and kind change, comments and quotes stay")
	assert.Empty(t, msts.Notes)

	back := convertOK(t, string(msts.Output), Options{})
	assert.Equal(t, webSTS, string(back.Output))
}

func TestMultipleDocumentsConvertOnlySets(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	src := service + "---\n" + webSTS + "---\n# an empty document\n"
	res := convertOK(t, src, Options{})
	out := string(res.Output)
	assert.True(t, strings.HasPrefix(out, service+"---\n"), "the Service passes through unchanged:\n%s", out)
	assert.Contains(t, out, "apiVersion: apps.ministatefulset.dev/v1alpha1 # the built-in kind\nkind: \"MiniStatefulSet\"\n")
	assert.True(t, strings.HasSuffix(out, "---\n# an empty document\n"))
}

func TestListItemsConvert(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	src := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web}
- apiVersion: apps/v1
  kind: StatefulSet  # the set
  metadata:
    name: web
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
  status:
    replicas: 3
    readyReplicas: 3
metadata:
  resourceVersion: ""
`
	res := convertOK(t, src, Options{})
	want := strings.Replace(strings.Replace(src, "  kind: StatefulSet  #", "  kind: MiniStatefulSet  #", 1),
		"- apiVersion: apps/v1\n", "- apiVersion: apps.ministatefulset.dev/v1alpha1\n", 1)
	want = strings.Replace(want, "  status:\n    replicas: 3\n    readyReplicas: 3\n", "", 1)
	assert.Equal(t, want, string(res.Output))
	assert.Equal(t, []string{"document 1, item 2 (StatefulSet web): dropped status, which the controller writes"}, res.Notes)
}

func TestStatusIsDroppedWithANote(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	src := webSTS + "status:\n  replicas: 3\n\n  currentRevision: web-7d4b9c\n# trailing words\n"
	res := convertOK(t, src, Options{})
	assert.NotContains(t, string(res.Output), "replicas: 3\n\n  currentRevision")
	assert.True(t, strings.HasSuffix(string(res.Output), "  updateStrategy: {}\n# trailing words\n"), "status goes, the comment after it stays:\n%s", res.Output)
	assert.Equal(t, []string{"document 1 (StatefulSet web): dropped status, which the controller writes"}, res.Notes)
}

func TestUnknownFieldIsAnErrorWithItsPath(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	msts := `apiVersion: apps.ministatefulset.dev/v1alpha1
kind: MiniStatefulSet
metadata:
  name: db
spec:
  selector: {matchLabels: {app: db}}
  updateStrategy:
    rollingUpdate:
      unhealthyPodReplacement: Automatic
  reserveOrdinals: [1]
  template:
    metadata: {labels: {app: db}}
`
	res, err := Convert([]byte(service+"---\n"+msts), Options{})
	require.Error(t, err)
	assert.Nil(t, res.Output, "nothing is written when a document does not convert")
	assert.Contains(t, err.Error(), "document 2 (MiniStatefulSet db): unknown field spec.updateStrategy.rollingUpdate.unhealthyPodReplacement")
	assert.Contains(t, err.Error(), "document 2 (MiniStatefulSet db): unknown field spec.reserveOrdinals: an apps/v1 StatefulSet has no such field")
}

func TestToForcesOneKindAndLeavesThatKindAlone(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	msts := `apiVersion: apps.ministatefulset.dev/v1alpha1
kind: MiniStatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}}
status:
  replicas: 1
`
	src := webSTS + "---\n" + msts + "---\n" + service
	res := convertOK(t, src, Options{To: workload.MiniStatefulSet})
	want := strings.Replace(strings.Replace(webSTS, "apiVersion: apps/v1", "apiVersion: apps.ministatefulset.dev/v1alpha1", 1),
		`"StatefulSet"`, `"MiniStatefulSet"`, 1) + "---\n" + msts + "---\n" + service
	assert.Equal(t, want, string(res.Output), "the MiniStatefulSet and its status stay as they were")

	res = convertOK(t, src, Options{To: workload.StatefulSet})
	assert.True(t, strings.HasPrefix(string(res.Output), webSTS+"---\napiVersion: apps/v1\nkind: StatefulSet\n"), "%s", res.Output)
	assert.NotContains(t, string(res.Output), "replicas: 1\n")
	assert.Equal(t, []string{"document 2 (MiniStatefulSet db): dropped status, which the controller writes"}, res.Notes)

	_, err := Convert([]byte(src), Options{To: "Deployment"})
	assert.ErrorContains(t, err, "use statefulset or ministatefulset")
}

func TestJSONOutputKeepsKeyOrder(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	res := convertOK(t, webSTS, Options{JSON: true})
	out := string(res.Output)
	assert.True(t, strings.HasPrefix(out, "{\n    \"apiVersion\": \"apps.ministatefulset.dev/v1alpha1\",\n    \"kind\": \"MiniStatefulSet\",\n    \"metadata\""), "%s", out)
	assert.Less(t, strings.Index(out, `"serviceName"`), strings.Index(out, `"replicas"`), "keys stay in the order written")
	assert.Contains(t, out, `"replicas": 3,`, "numbers stay numbers")

	res = convertOK(t, service+"---\n"+webSTS, Options{JSON: true})
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(res.Output, &list))
	assert.Equal(t, "List", list.Kind)
	require.Len(t, list.Items, 2)
	assert.Equal(t, "Service", list.Items[0].Kind)
	assert.Equal(t, "MiniStatefulSet", list.Items[1].Kind)
}

func TestJSONInputBecomesBlockYAML(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	src := `{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "labels": {"version": "2"}},
 "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}}},
 "status": {"replicas": 0}}`
	res := convertOK(t, src, Options{})
	assert.Equal(t, `apiVersion: apps.ministatefulset.dev/v1alpha1
kind: MiniStatefulSet
metadata:
  name: web
  labels:
    version: "2"
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
`, string(res.Output))
	assert.Len(t, res.Notes, 1)
}

func TestEncodedFallbackKeepsComments(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	// status as a list item's first key cannot be cut out line by line
	src := `kind: List
apiVersion: v1
items:
- status: {replicas: 1}
  # the set itself
  apiVersion: apps/v1
  kind: StatefulSet
  metadata: {name: web}
  spec:
    selector: {matchLabels: {app: web}}
    template: {metadata: {labels: {app: web}}}
`
	res := convertOK(t, src, Options{})
	out := string(res.Output)
	assert.Contains(t, out, "# the set itself")
	assert.Contains(t, out, "kind: MiniStatefulSet")
	assert.NotContains(t, out, "status")
	assert.Less(t, strings.Index(out, "kind: List"), strings.Index(out, "apiVersion: v1"), "key order stays")
}

func TestOtherVersionsAndBadYAML(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	old := "apiVersion: apps/v1beta2\nkind: StatefulSet\nmetadata: {name: old}\n"
	res := convertOK(t, old, Options{})
	assert.Equal(t, old, string(res.Output))
	assert.Equal(t, []string{"document 1 (StatefulSet old, apps/v1beta2) left unchanged: only apps/v1 StatefulSets and apps.ministatefulset.dev/v1alpha1 MiniStatefulSets convert"}, res.Notes)

	_, err := Convert([]byte(service+"---\nkind: [unclosed\n"), Options{})
	assert.ErrorContains(t, err, "document 2 is not valid YAML")

	_, err = Convert([]byte("apiVersion: apps/v1\nkind: StatefulSet\nspec: {replicas: three}\n"), Options{})
	assert.ErrorContains(t, err, "document 1 (StatefulSet <no name>) does not read as an apps.ministatefulset.dev/v1alpha1 MiniStatefulSet")
}
