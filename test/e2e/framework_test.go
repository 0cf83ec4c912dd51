//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// Annotations the cluster's kwok stages read (test/cluster/stages.yaml).
const (
	holdUnready = "msts.test/hold-unready"
	failPod     = "msts.test/fail"
	deleteDelay = "msts.test/delete-delay"
)

// Bounds on every wait.
const (
	shortWait = 30 * time.Second
	longWait  = 90 * time.Second
	poll      = 100 * time.Millisecond
)

var (
	kube       kubernetes.Interface
	msts       versioned.Interface
	controller *controllerProcess
	dnsAddr    = os.Getenv("MSTS_DNS_ADDR")
	artifacts  = os.Getenv("MSTS_E2E_ARTIFACTS")
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	kubeconfig := os.Getenv("MSTS_KUBECONFIG")
	bin := os.Getenv("MSTS_CONTROLLER_BIN")
	if kubeconfig == "" || bin == "" {
		fmt.Fprintln(os.Stderr, "e2e: MSTS_KUBECONFIG and MSTS_CONTROLLER_BIN must be set; run `make e2e`, which brings up the cluster")
		return 1
	}
	if artifacts == "" {
		artifacts = os.TempDir()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	cfg.QPS, cfg.Burst = 100, 200
	kube = kubernetes.NewForConfigOrDie(cfg)
	msts = versioned.NewForConfigOrDie(cfg)
	if os.Getenv("MSTS_E2E_EXTERNAL_CONTROLLER") != "" {
		return m.Run()
	}
	controller = newControllerProcess("suite", "controller.log")
	if err := controller.start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the controller:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "e2e: controller log:", controller.logPath)
	code := m.Run()
	// A SIGTERM must drain the passes under way and end the process with status 0;
	// anything else fails the run. (A SIGTERM during start-up has its own test.)
	if !controller.running() {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: the suite's controller is not running at the end of the suite")
		return 1
	}
	if err := controller.waitSynced(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: the controller at the end of the suite:", err)
		_ = controller.stop(syscall.SIGKILL)
		return 1
	}
	if err := controller.stop(syscall.SIGTERM); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL: the controller did not exit cleanly on SIGTERM:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "e2e: the controller exited with status 0 on SIGTERM")
	return code
}

// env is one test's namespace with a watch of its pods running from the start.
type env struct {
	t     *testing.T
	ctx   context.Context
	ns    string
	trace podTrace
}

// newEnv makes a fresh namespace and starts tracing its pods. When the test fails,
// its cleanup prints the trace, the pods and the tail of the controller's log.
func newEnv(t *testing.T, prefix string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	name := fmt.Sprintf("e2e-%s-%04d", prefix, rand.IntN(10000))
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	tr, err := tracePods(ctx, name)
	if err != nil {
		cancel()
		t.Fatalf("tracing the pods of %s: %v", name, err)
	}
	e := &env{t: t, ctx: ctx, ns: name, trace: tr}
	e.waitFor(shortWait, "the namespace's default ServiceAccount", func() (bool, error) {
		_, err := kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	t.Cleanup(func() {
		if t.Failed() {
			e.logTrace()
			t.Logf("pods now:\n%s", e.describePods())
			t.Logf("controller log tail:\n%s", logTail(40))
		}
		cancel()
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return e
}

// logTrace logs the pod trace, or writes it to the artifacts when it is long.
func (e *env) logTrace() {
	if n := len(e.trace.snapshot("")); n > 200 {
		path := filepath.Join(artifacts, "trace-"+e.ns+".txt")
		if err := os.WriteFile(path, []byte(e.trace.String()+"\n"), 0o644); err == nil {
			e.t.Logf("pod trace of %s (%d events) written to %s", e.ns, n, path)
			return
		}
	}
	e.t.Logf("pod trace of %s:\n%s", e.ns, e.trace)
}

// syncTrace waits until the pod trace has seen what a list of the namespace's pods
// shows, so reads of the trace right after a wait on the API miss nothing.
func (e *env) syncTrace() {
	e.t.Helper()
	e.waitSaw(shortWait, "the pod trace to catch up with the API server", func() (bool, string) {
		return e.trace.Agrees(e.pods())
	})
}

// traced is the trace's "step pod" list for one owner kind and the given steps,
// once the trace has caught up with the API server.
func (e *env) traced(owner string, steps ...trace.Step) []string {
	e.t.Helper()
	e.syncTrace()
	return e.trace.Of(owner, steps...)
}

// waitFor polls cond until it holds, failing the test with what when the bound passes.
func (e *env) waitFor(timeout time.Duration, what string, cond func() (bool, error)) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.ctx, poll, timeout, true, func(context.Context) (bool, error) { return cond() })
	if err != nil {
		e.t.Fatalf("waiting %v for %s: %v\npods: %s", timeout, what, err, e.describePods())
	}
}

// holdsFor checks that cond stays false for the whole window: an observation of
// absence over time, polled, not a sleep.
func (e *env) holdsFor(window time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		if cond() {
			e.t.Fatalf("%s happened within %v", what, window)
		}
		time.Sleep(poll)
	}
}

func (e *env) pods() []corev1.Pod {
	e.t.Helper()
	list, err := kube.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing pods: %v", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func (e *env) describePods() string {
	list, err := kube.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, p := range list.Items {
		state := string(p.Status.Phase)
		if isReady(&p) {
			state += ",Ready"
		}
		if p.DeletionTimestamp != nil {
			state += ",Terminating"
		}
		owner := "-"
		if ref := metav1.GetControllerOf(&p); ref != nil {
			owner = ref.Kind + "/" + ref.Name
		}
		lines = append(lines, fmt.Sprintf("  %s %s ip=%s owner=%s uid=%s", p.Name, state, p.Status.PodIP, owner, shortUID(p.UID)))
	}
	sort.Strings(lines)
	return "\n" + strings.Join(lines, "\n")
}

func (e *env) pod(name string) (*corev1.Pod, bool) {
	pod, err := kube.CoreV1().Pods(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		e.t.Fatalf("getting pod %s: %v", name, err)
	}
	return pod, true
}

func isReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitReady waits until the named pods exist, are Running and Ready, and not terminating.
func (e *env) waitReady(names ...string) {
	e.t.Helper()
	e.waitFor(longWait, fmt.Sprintf("%v Running and Ready", names), func() (bool, error) {
		for _, n := range names {
			p, ok := e.pod(n)
			if !ok || !isReady(p) || p.DeletionTimestamp != nil {
				return false, nil
			}
		}
		return true, nil
	})
}

func (e *env) waitGone(name string) {
	e.t.Helper()
	e.waitFor(longWait, name+" gone", func() (bool, error) {
		_, ok := e.pod(name)
		return !ok, nil
	})
}

// annotatePod sets one annotation on a live pod, to steer its kwok stage.
func (e *env) annotatePod(name, key, value string) {
	e.t.Helper()
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if _, err := kube.CoreV1().Pods(e.ns).Patch(e.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("annotating %s: %v", name, err)
	}
}

// release lets a pod held un-Ready become Ready.
func (e *env) release(name string) { e.annotatePod(name, holdUnready, "false") }

// statefulSpec is the redis workload as an apps/v1 StatefulSetSpec; a MiniStatefulSet
// gets the same spec through JSON, which is all a user's conversion does.
func statefulSpec(name string, replicas int32, annotations map[string]string, claims bool) appsv1.StatefulSetSpec {
	spec := appsv1.StatefulSetSpec{
		Replicas:    &replicas,
		ServiceName: name,
		Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}, Annotations: annotations},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "redis", Image: "redis:7", Ports: []corev1.ContainerPort{{Name: "redis", ContainerPort: 6379}},
			}}},
		},
	}
	if claims {
		spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: name + "-data", MountPath: "/data"}}
		spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr(""),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}}
	}
	return spec
}

// convert turns a StatefulSet spec into a MiniStatefulSet through JSON.
func convert(t *testing.T, ns, name string, spec appsv1.StatefulSetSpec) *appsv1alpha1.MiniStatefulSet {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	set := &appsv1alpha1.MiniStatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if err := json.Unmarshal(raw, &set.Spec); err != nil {
		t.Fatalf("a StatefulSetSpec does not decode as a MiniStatefulSetSpec: %v", err)
	}
	return set
}

func ptr[T any](v T) *T { return &v }

// createSet creates a MiniStatefulSet from a StatefulSet spec, with a headless Service.
func (e *env) createSet(name string, spec appsv1.StatefulSetSpec) *appsv1alpha1.MiniStatefulSet {
	e.t.Helper()
	e.createService(name)
	set, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, convert(e.t, e.ns, name, spec), metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating MiniStatefulSet %s: %v", name, err)
	}
	return set
}

// createStatefulSet creates the built-in StatefulSet, for side-by-side runs.
func (e *env) createStatefulSet(name string, spec appsv1.StatefulSetSpec) {
	e.t.Helper()
	e.createService(name)
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}, Spec: spec}
	if _, err := kube.AppsV1().StatefulSets(e.ns).Create(e.ctx, sts, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating StatefulSet %s: %v", name, err)
	}
}

func (e *env) createService(name string) {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Labels: map[string]string{"app": name}},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "redis", Port: 6379}}},
	}
	if _, err := kube.CoreV1().Services(e.ns).Create(e.ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		e.t.Fatalf("creating Service %s: %v", name, err)
	}
}

// scale changes replicas through the scale subresource, as kubectl scale does.
func (e *env) scale(name string, replicas int32) {
	e.t.Helper()
	sets := msts.AppsV1alpha1().MiniStatefulSets(e.ns)
	e.scaleThrough("MiniStatefulSet "+name, replicas,
		func() (*autoscalingv1.Scale, error) { return sets.GetScale(e.ctx, name, metav1.GetOptions{}) },
		func(sc *autoscalingv1.Scale) error {
			_, err := sets.UpdateScale(e.ctx, name, sc, metav1.UpdateOptions{})
			return err
		})
}

func (e *env) scaleStatefulSet(name string, replicas int32) {
	e.t.Helper()
	sets := kube.AppsV1().StatefulSets(e.ns)
	e.scaleThrough("StatefulSet "+name, replicas,
		func() (*autoscalingv1.Scale, error) { return sets.GetScale(e.ctx, name, metav1.GetOptions{}) },
		func(sc *autoscalingv1.Scale) error {
			_, err := sets.UpdateScale(e.ctx, name, sc, metav1.UpdateOptions{})
			return err
		})
}

// scaleThrough writes a scale, re-reading it on a conflict with a status write.
func (e *env) scaleThrough(what string, replicas int32, get func() (*autoscalingv1.Scale, error), update func(*autoscalingv1.Scale) error) {
	e.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := get()
		if err != nil {
			return err
		}
		sc.Spec.Replicas = replicas
		return update(sc)
	})
	if err != nil {
		e.t.Fatalf("scaling %s to %d: %v", what, replicas, err)
	}
}

// resolver asks the cluster's CoreDNS, on its loopback port, and nothing else.
func resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, dnsAddr)
	}}
}

// onKind reports a run against kind (make kind-e2e): real kubelets, no kwok stages,
// no loopback CoreDNS, the controller deployed in the cluster.
func onKind() bool { return os.Getenv("MSTS_E2E_KIND") != "" }

// requireKwok skips a test that steers pods through the kwok stages of test/cluster
// (held readiness, delayed deletion) or needs its static PVs and loopback CoreDNS.
func requireKwok(t *testing.T) {
	t.Helper()
	if onKind() {
		t.Skip("skipped on kind: needs the local cluster's kwok stages, static PVs and loopback CoreDNS (run make e2e)")
	}
}
