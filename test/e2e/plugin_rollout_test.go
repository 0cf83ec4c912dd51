//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

const restartedAt = "kubectl.kubernetes.io/restartedAt"

// TestPluginRollout drives `kubectl msts rollout status|history|undo|restart` through
// a whole rollout of a MiniStatefulSet and of a built-in StatefulSet of 3 replicas:
// the same commands, the same messages, the same outcome under each controller.
func TestPluginRollout(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	cases := []struct {
		ref, word string
		set       func(*env) paritySet
	}{
		{"msts/web", "ministatefulset", func(e *env) paritySet { return &miniSet{e, "web"} }},
		{"sts/web", "statefulset", func(e *env) paritySet { return &builtinSet{e, "web"} }},
	}
	for _, tc := range cases {
		t.Run(tc.word, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "rollout")
			s := &side{env: e, set: tc.set(e), deviation: new(string)}
			s.create(statefulSpec("web", 3, nil, false))
			first := s.waitSettled(3).Status.UpdateRevision

			s.setImage("redis:7.2")
			out := e.mustKubectlMsts("rollout", "status", tc.ref, "--timeout", "60s")
			second := s.waitSettled(3).Status.UpdateRevision
			require.NotEqual(t, first, second, "a new image is a new revision")
			assert.True(t, strings.HasSuffix(out, tc.word+" rolling update complete 3 pods at revision "+second+"...\n"),
				"status follows the rollout to its end:\n%s", out)

			out = e.mustKubectlMsts("rollout", "history", tc.ref)
			assert.Equal(t, []string{"REVISION  CHANGE-CAUSE", "1         <none>", "2         <none>"}, strings.Split(strings.TrimSpace(out), "\n")[1:])
			out = e.mustKubectlMsts("rollout", "history", tc.ref, "--revision", "1")
			assert.Contains(t, out, "image: redis:7\n")

			out = e.mustKubectlMsts("rollout", "undo", tc.ref)
			assert.True(t, strings.HasSuffix(out, "/web rolled back\n"), out)
			out = e.mustKubectlMsts("rollout", "status", tc.ref, "--timeout", "60s")
			assert.True(t, strings.HasSuffix(out, "complete 3 pods at revision "+first+"...\n"), "the pods roll back to the first revision:\n%s", out)
			back := s.waitSettled(3)
			assert.Equal(t, first, back.Status.UpdateRevision)
			assert.Equal(t, "redis:7", back.Spec.Template.Spec.Containers[0].Image)
			for _, p := range s.own() {
				assert.Equal(t, first, p.Labels[revisionLabel], "pod %s", p.Name)
			}
			out = e.mustKubectlMsts("rollout", "undo", tc.ref, "--to-revision", "3")
			assert.Contains(t, out, "skipped rollback (current template already matches revision 3)")

			before := uidsOf(s.own())
			out = e.mustKubectlMsts("rollout", "restart", tc.ref)
			assert.True(t, strings.HasSuffix(out, "/web restarted\n"), out)
			e.mustKubectlMsts("rollout", "status", tc.ref, "--timeout", "60s")
			restarted := s.waitSettled(3)
			stamp := restarted.Spec.Template.Annotations[restartedAt]
			_, err := time.Parse(time.RFC3339, stamp)
			require.NoError(t, err, "restartedAt is an RFC3339 time")
			pods := s.own()
			require.Len(t, pods, 3)
			for _, p := range pods {
				assert.NotEqual(t, before[p.Name], p.UID, "%s was replaced", p.Name)
				assert.Equal(t, stamp, p.Annotations[restartedAt], "%s carries the restart annotation", p.Name)
			}
		})
	}
}

func uidsOf(pods []corev1.Pod) map[string]types.UID {
	out := map[string]types.UID{}
	for _, p := range pods {
		out[p.Name] = p.UID
	}
	return out
}

// webManifest is a StatefulSet manifest as a person keeps it, with its Service.
const webManifest = `# the quickstart's redis, as a built-in StatefulSet
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: redis, port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet # converted to a MiniStatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: redis
        image: redis:7
`

// TestPluginConvertRunsOnTheCluster converts a StatefulSet manifest from a file with
// `kubectl msts convert -f`, creates what it prints, and the MiniStatefulSet comes
// up with its pods, under the MiniStatefulSet controller.
func TestPluginConvertRunsOnTheCluster(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	e := newEnv(t, "convert")
	path := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(path, []byte(webManifest), 0o644))
	out := e.mustKubectlMsts("convert", "-f", path)
	assert.Contains(t, out, "kind: MiniStatefulSet # converted to a MiniStatefulSet\n", "comments stay")

	var created []string
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader([]byte(out))))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var meta metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal(doc, &meta))
		switch meta.Kind {
		case "Service":
			var svc corev1.Service
			require.NoError(t, yaml.UnmarshalStrict(doc, &svc))
			_, err = kube.CoreV1().Services(e.ns).Create(e.ctx, &svc, metav1.CreateOptions{})
		case appsv1alpha1.Kind:
			var set appsv1alpha1.MiniStatefulSet
			require.NoError(t, yaml.UnmarshalStrict(doc, &set), "the converted set decodes strictly")
			_, err = msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, &set, metav1.CreateOptions{})
		default:
			t.Fatalf("convert wrote a %s: %s", meta.Kind, doc)
		}
		require.NoError(t, err, "creating the %s", meta.Kind)
		created = append(created, meta.Kind)
	}
	assert.Equal(t, []string{"Service", appsv1alpha1.Kind}, created)

	s := &side{env: e, set: &miniSet{e, "web"}, deviation: new(string)}
	s.waitSettled(3)
	sts, err := kube.AppsV1().StatefulSets(e.ns).List(e.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, sts.Items, "no built-in StatefulSet runs the converted manifest")
	assert.Len(t, s.own(), 3, "web-0..2 belong to the MiniStatefulSet")
}
