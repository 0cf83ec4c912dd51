//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// deployDir is deploy/ of the repository (the tests run in test/e2e).
var deployDir = filepath.Join("..", "..", "deploy")

// decodeManifests reads the objects of a multi-document YAML file of deploy/.
func decodeManifests(t *testing.T, rel string) []runtime.Object {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, rel))
	require.NoError(t, err)
	var objs []runtime.Object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		require.NoError(t, err, "decoding a document of %s", rel)
		objs = append(objs, obj)
	}
	return objs
}

// codeUses is every request the controller makes, by resource, with where it comes
// from: the RBAC rules of deploy/ must grant exactly these.
var codeUses = []rbacv1.PolicyRule{
	// informers list and watch; the status writer re-reads a set on a conflict
	{APIGroups: []string{"apps.ministatefulset.dev"}, Resources: []string{"ministatefulsets"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"apps.ministatefulset.dev"}, Resources: []string{"ministatefulsets/status"}, Verbs: []string{"update"}},
	// blockOwnerDeletion in the ownerReferences to a set (pods, revisions, claims)
	// and to a pod (a claim handed to its pod by whenScaled: Delete), where
	// OwnerReferencesPermissionEnforcement is on (it is on the local cluster)
	{APIGroups: []string{"apps.ministatefulset.dev"}, Resources: []string{"ministatefulsets/finalizers"}, Verbs: []string{"update"}},
	{APIGroups: []string{""}, Resources: []string{"pods/finalizers"}, Verbs: []string{"update"}},
	// create, delete, patch (adopt, release, identity labels), get (who holds a
	// name a create found taken); never update: the cache holds views of pods
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	// create from the templates, update ownerReferences for the retention policy;
	// never get or patch. Never delete either, but OwnerReferencesPermissionEnforcement
	// lets only who may delete an object change its ownerReferences (without it this
	// test's controller was refused: "cannot set an ownerRef on a resource you can't
	// delete")
	{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"list", "watch", "create", "update", "delete"}},
	// create, update (a collision's re-numbering), delete (history), patch (adopt,
	// release), get (a create that found its name taken)
	{APIGroups: []string{"apps"}, Resources: []string{"controllerrevisions"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	// client-go's event recorder creates, and patches or updates a repeated event
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
}

// clusterCodeUses are the requests only a controller of every namespace makes.
var clusterCodeUses = []rbacv1.PolicyRule{
	// the StorageClass informer: may a claim's volume grow (WatchStorageClasses)
	{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: []string{"list", "watch"}},
}

// dropInCodeUses are codeUses with StatefulSets in the place of MiniStatefulSets
// (--manage=statefulsets), and the probe StatefulSet's create and delete, in the
// controller's namespace only (probeUses).
func dropInCodeUses() []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range codeUses {
		r = *r.DeepCopy()
		if r.APIGroups[0] == "apps.ministatefulset.dev" {
			r.APIGroups = []string{"apps"}
			r.Resources = []string{strings.Replace(r.Resources[0], "ministatefulsets", "statefulsets", 1)}
		}
		out = append(out, r)
	}
	return out
}

var probeUses = []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: []string{"create", "delete"}}}

func rulesOf(t *testing.T, rel, kind string) []rbacv1.PolicyRule {
	return namedRulesOf(t, rel, kind, "ministatefulset-controller")
}

func namedRulesOf(t *testing.T, rel, kind, name string) []rbacv1.PolicyRule {
	t.Helper()
	for _, obj := range decodeManifests(t, rel) {
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			if kind == "ClusterRole" && o.Name == name {
				return o.Rules
			}
		case *rbacv1.Role:
			if kind == "Role" && o.Name == name {
				return o.Rules
			}
		}
	}
	t.Fatalf("no %s %s in %s", kind, name, rel)
	return nil
}

// TestRBACGrantsWhatTheCodeUses: the ClusterRole of deploy/ and the Role of
// deploy/namespaced grant exactly the requests the controller makes, and no
// manifest of deploy/ has a wildcard. That they are enough is
// TestNamespacedControllerUnderItsRole's business.
func TestRBACGrantsWhatTheCodeUses(t *testing.T) {
	assert.Equal(t, append(slices.Clone(codeUses), clusterCodeUses...), rulesOf(t, "rbac.yaml", "ClusterRole"))
	assert.Equal(t, codeUses, rulesOf(t, "namespaced/role.yaml", "Role"))
	assert.Equal(t, dropInCodeUses(), namedRulesOf(t, "statefulsets/rbac.yaml", "ClusterRole", "ministatefulset-statefulsets"))
	assert.Equal(t, probeUses, namedRulesOf(t, "statefulsets/rbac.yaml", "Role", "ministatefulset-probe"))
	for _, rel := range []string{"rbac.yaml", "namespaced/role.yaml", "statefulsets/rbac.yaml", "aggregate.yaml", "controller/leader-election.yaml"} {
		for _, obj := range decodeManifests(t, rel) {
			var rules []rbacv1.PolicyRule
			switch o := obj.(type) {
			case *rbacv1.ClusterRole:
				rules = o.Rules
			case *rbacv1.Role:
				rules = o.Rules
			}
			for _, r := range rules {
				for _, v := range slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.ResourceNames) {
					assert.NotContains(t, v, "*", "%s: a wildcard in %v", rel, r)
				}
			}
		}
	}
}

// TestNamespacedControllerUnderItsRole runs the controller as deploy/namespaced
// installs it: as its ServiceAccount, with the Roles of the overlay applied for real in
// the test's namespace and no other right, --namespace and leader election there,
// JSON logs, metrics and probes. A set with claims and whenScaled: Delete scales up,
// down and rolls an image; nothing is forbidden; the metrics count the pods and
// claims that were created and deleted.
func TestNamespacedControllerUnderItsRole(t *testing.T) {
	e := newEnv(t, "scoped")
	kubeconfig := e.applyNamespacedRoles()
	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	p := newControllerProcess("scoped", "", append(leaderArgs(e.ns), "--namespace="+e.ns, "--logging-format=json",
		"--metrics-bind-address="+metricsAddr, "--health-probe-bind-address="+probeAddr)...)
	p.kubeconfig = kubeconfig
	e.standInForSuite(p)
	pods := watchPodUIDs(t, e)
	require.NoError(t, p.start())
	e.waitSaw(shortWait, "/readyz to pass", func() (bool, string) {
		code, body := get(fmt.Sprintf("http://%s/readyz", probeAddr))
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})

	spec := statefulSpec("web", 3, nil, true)
	spec.PersistentVolumeClaimRetentionPolicy = retentionPolicy(appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType)
	e.createSet("web", spec)
	e.waitReady("web-0", "web-1", "web-2")
	e.scale("web", 1)
	e.waitGone("web-2")
	e.waitGone("web-1")
	e.waitFor(longWait, "the claims of web-1 and web-2 deleted through their pods (whenScaled: Delete)", func() (bool, error) {
		list, err := kube.CoreV1().PersistentVolumeClaims(e.ns).List(e.ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 1, err
	})
	e.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "redis:8" })
	e.waitFor(longWait, "web-0 rolled to the new image and the status settled", func() (bool, error) {
		s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod, ok := e.pod("web-0")
		return ok && isReady(pod) && pod.Spec.Containers[0].Image == "redis:8" && s.Status.ObservedGeneration == s.Generation &&
			s.Status.UpdatedReplicas == 1 && s.Status.CurrentRevision == s.Status.UpdateRevision, nil
	})

	created, deleted := pods.counts()
	require.Equal(t, 4, created, "web-0, web-1, web-2, then web-0 again at the new revision")
	require.Equal(t, 3, deleted, "web-2, web-1 by the scale-down, web-0 by the rollout")
	e.waitSaw(shortWait, "the metrics to count what the API server saw", func() (bool, string) {
		code, body := get(fmt.Sprintf("http://%s/metrics", metricsAddr))
		if code != http.StatusOK {
			return false, fmt.Sprintf("%d %s", code, body)
		}
		m := parseMetrics(body)
		ok := m[`ministatefulset_pods_created_total`] == float64(created) &&
			m[`ministatefulset_pods_deleted_total`] == float64(deleted) &&
			m[`ministatefulset_claims_created_total`] == 3 &&
			m[`ministatefulset_passes_total{result="success"}`] > 0 &&
			m[`workqueue_adds_total{name="ministatefulset"}`] > 0 &&
			has(m, `workqueue_depth{name="ministatefulset"}`) &&
			has(m, `workqueue_work_duration_seconds_count{name="ministatefulset"}`) &&
			m[`leader_election_master_status{name="ministatefulset-controller"}`] == 1 &&
			sum(m, `rest_client_requests_total{`, `method="POST"`) >= float64(created+3)
		return ok, grepMetrics(body, "ministatefulset_", "workqueue_adds_total", "leader_election_master_status", "rest_client_requests_total")
	})
	code, body := get(fmt.Sprintf("http://%s/healthz", probeAddr))
	assert.Equal(t, http.StatusOK, code, body)

	log := p.runLog()
	assert.NotContains(t, strings.ToLower(log), "forbidden", "the Roles of deploy/namespaced are enough")
	var sawSet bool
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), "a JSON log line: %s", line)
		if entry["ministatefulset"] == e.ns+"/web" {
			sawSet = true
		}
	}
	assert.True(t, sawSet, "a JSON log line names the set under the key ministatefulset")
}

// applyNamespacedRoles applies deploy/namespaced's Role and the leader-election Role
// in the env's namespace, bound to a ServiceAccount the controller runs as, and
// returns that ServiceAccount's kubeconfig.
func (e *env) applyNamespacedRoles() string {
	e.t.Helper()
	kubeconfig, _ := e.serviceAccountKubeconfig("ministatefulset-controller")
	for _, rel := range []string{"namespaced/role.yaml", "controller/leader-election.yaml"} {
		for _, obj := range decodeManifests(e.t, rel) {
			var err error
			switch o := obj.(type) {
			case *rbacv1.Role:
				o.Namespace = e.ns
				_, err = kube.RbacV1().Roles(e.ns).Create(e.ctx, o, metav1.CreateOptions{})
			case *rbacv1.RoleBinding:
				o.Namespace = e.ns
				for i := range o.Subjects {
					o.Subjects[i].Namespace = e.ns
				}
				_, err = kube.RbacV1().RoleBindings(e.ns).Create(e.ctx, o, metav1.CreateOptions{})
			default:
				e.t.Fatalf("%s: unexpected %T", rel, obj)
			}
			require.NoError(e.t, err, "applying %s", rel)
		}
	}
	return kubeconfig
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url) //nolint:noctx // a local probe, bounded by the poll
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// parseMetrics reads Prometheus text: "name{labels} value" lines by series.
func parseMetrics(body string) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

func has(m map[string]float64, series string) bool { _, ok := m[series]; return ok }

// sum adds the series whose name starts with prefix and that have the label.
func sum(m map[string]float64, prefix, label string) float64 {
	var total float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) && strings.Contains(k, label) {
			total += v
		}
	}
	return total
}

func grepMetrics(body string, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// podUIDs counts the pods of a namespace that were created and deleted, by UID, from
// a watch started before anything was created.
type podUIDs struct {
	mu      sync.Mutex
	added   map[types.UID]bool
	deleted map[types.UID]bool
}

func watchPodUIDs(t *testing.T, e *env) *podUIDs {
	t.Helper()
	w, err := kube.CoreV1().Pods(e.ns).Watch(e.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(e.ctx)
	t.Cleanup(func() {
		cancel()
		w.Stop()
	})
	p := &podUIDs{added: map[types.UID]bool{}, deleted: map[types.UID]bool{}}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				pod, isPod := ev.Object.(*corev1.Pod)
				if !isPod {
					continue
				}
				p.mu.Lock()
				switch ev.Type {
				case watch.Added:
					p.added[pod.UID] = true
				case watch.Deleted:
					p.deleted[pod.UID] = true
				case watch.Modified:
					if pod.DeletionTimestamp != nil {
						p.deleted[pod.UID] = true
					}
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *podUIDs) counts() (created, deleted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.added), len(p.deleted)
}
