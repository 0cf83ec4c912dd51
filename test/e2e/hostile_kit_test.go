//go:build e2e

package e2e

// Helpers of TestHostileSpecs (hostile_test.go): a row's namespace, the objects
// other users and controllers make, and checks of conditions, events and backoff.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// hostile is one row's namespace: an env with the helpers of this file.
type hostile struct{ *env }

func newHostile(t *testing.T, prefix string) *hostile { return &hostile{newEnv(t, prefix)} }

// dataSpec is statefulSpec with claims from a template named data, plus optional
// template annotations as key, value pairs.
func specWithData(name string, replicas int32, annotations ...string) appsv1.StatefulSetSpec {
	var ann map[string]string
	for i := 0; i+1 < len(annotations); i += 2 {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[annotations[i]] = annotations[i+1]
	}
	spec := statefulSpec(name, replicas, ann, true)
	spec.VolumeClaimTemplates[0].Name = "data"
	spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "data"
	return spec
}

func plainPodSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}
}

func userClaim(name, class, size string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr(class),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
}

// revisionName is the ControllerRevision name the controller gives a set of this
// name and spec, read from such a set in a scratch namespace (the name depends on
// the set's name and template, not on the namespace).
func revisionNameFor(t *testing.T, name string, spec appsv1.StatefulSetSpec) string {
	t.Helper()
	scratch := newHostile(t, "h-scratch")
	zero := *spec.DeepCopy()
	zero.Replicas = ptr(int32(0))
	scratch.createSet(name, zero)
	st := scratch.waitSetStatus(name, "an update revision", func(st appsv1alpha1.MiniStatefulSetStatus) bool { return st.UpdateRevision != "" })
	return st.UpdateRevision
}

func (e *hostile) getSet(name string) *appsv1alpha1.MiniStatefulSet {
	e.t.Helper()
	s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("getting MiniStatefulSet %s: %v", name, err)
	}
	return s
}

func (e *env) updateSet(name string, mutate func(*appsv1alpha1.MiniStatefulSet)) {
	e.t.Helper()
	e.onConflict("updating MiniStatefulSet "+name, func() error {
		s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(s)
		_, err = msts.AppsV1alpha1().MiniStatefulSets(e.ns).Update(e.ctx, s, metav1.UpdateOptions{})
		return err
	})
}

// waitSetStatus polls the set until its status, for its current generation, holds.
func (e *hostile) waitSetStatus(name, what string, cond func(appsv1alpha1.MiniStatefulSetStatus) bool) appsv1alpha1.MiniStatefulSetStatus {
	e.t.Helper()
	var st appsv1alpha1.MiniStatefulSetStatus
	e.waitSaw(longWait, name+": "+what, func() (bool, string) {
		s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		st = s.Status
		raw, _ := json.Marshal(st)
		return st.ObservedGeneration == s.Generation && cond(st), string(raw)
	})
	return st
}

func conditionOf(s *appsv1alpha1.MiniStatefulSet, ct appsv1alpha1.MiniStatefulSetConditionType) *appsv1alpha1.MiniStatefulSetCondition {
	for i := range s.Status.Conditions {
		if s.Status.Conditions[i].Type == ct {
			return &s.Status.Conditions[i]
		}
	}
	return nil
}

// msgCheck is a named test of a message.
type msgCheck struct {
	what string
	ok   func(string) bool
}

func msgAll(words ...string) msgCheck {
	return msgCheck{fmt.Sprintf("all of %q", words), func(s string) bool {
		for _, w := range words {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}}
}

func msgAny(words ...string) msgCheck {
	return msgCheck{fmt.Sprintf("one of %q", words), func(s string) bool {
		for _, w := range words {
			if strings.Contains(s, w) {
				return true
			}
		}
		return false
	}}
}

// waitCondition waits until the set's condition of type ct has the status and a
// message that passes every check.
func (e *hostile) waitCondition(name string, ct appsv1alpha1.MiniStatefulSetConditionType, status corev1.ConditionStatus, checks ...msgCheck) {
	e.t.Helper()
	var what []string
	for _, c := range checks {
		what = append(what, c.what)
	}
	e.waitSaw(shortWait, fmt.Sprintf("%s: condition %s=%s with a message containing %s", name, ct, status, strings.Join(what, " and ")), func() (bool, string) {
		s, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		c := conditionOf(s, ct)
		if c == nil {
			return false, fmt.Sprintf("no %s condition; conditions: %+v", ct, s.Status.Conditions)
		}
		ok := c.Status == status
		for _, check := range checks {
			ok = ok && check.ok(c.Message)
		}
		saw := fmt.Sprintf("%s=%s reason=%s %q", ct, c.Status, c.Reason, c.Message)
		if ok {
			e.t.Logf("condition of %s: %s", name, saw)
		}
		return ok, saw
	})
}

// setEvents lists the events recorded about the set.
func (e *hostile) eventsOf(name string) []corev1.Event {
	e.t.Helper()
	sel := fields.Set{"involvedObject.kind": appsv1alpha1.Kind, "involvedObject.name": name}.String()
	list, err := kube.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		e.t.Fatalf("listing events of %s: %v", name, err)
	}
	return list.Items
}

// waitWarning waits for a Warning event about the set, of the reason (any when
// empty), whose message contains every one of want.
func (e *hostile) waitWarning(name, reason string, want ...string) corev1.Event {
	e.t.Helper()
	var found corev1.Event
	e.waitSaw(shortWait, fmt.Sprintf("a Warning %s event on %s mentioning %q", reason, name, want), func() (bool, string) {
		var seen []string
		for _, ev := range e.eventsOf(name) {
			seen = append(seen, fmt.Sprintf("%s %s x%d: %s", ev.Type, ev.Reason, ev.Count, ev.Message))
			if ev.Type == corev1.EventTypeWarning && (reason == "" || ev.Reason == reason) && msgAll(want...).ok(ev.Message) {
				found = ev
				e.t.Logf("event on %s: Warning %s: %s", name, ev.Reason, ev.Message)
				return true, ""
			}
		}
		return false, strings.Join(seen, "; ")
	})
	return found
}

// assertBackoff watches a set whose writes keep failing for window and fails when it
// retries like a hot loop or floods the log: the count of its Warning events of the
// reason and the controller's log lines about its namespace must stay small. With the
// workqueue's exponential backoff (5ms, doubling) a window of seconds holds about a
// dozen failed passes, each a couple of log lines.
func (e *hostile) assertBackoff(name, reason string, window time.Duration) {
	e.t.Helper()
	count := func() int32 {
		var n int32
		for _, ev := range e.eventsOf(name) {
			if ev.Type == corev1.EventTypeWarning && ev.Reason == reason {
				n += max(ev.Count, 1)
			}
		}
		return n
	}
	events0, lines0, failed0 := count(), controllerLogLines(e.ns), controllerLogLines(e.ns, "err=")
	start := time.Now()
	e.holdsFor(window, "more than 1000 controller log lines about "+e.ns+" (a hot loop or a log flood)", func() bool {
		return controllerLogLines(e.ns)-lines0 > 1000
	})
	events, lines, failed := count()-events0, controllerLogLines(e.ns)-lines0, controllerLogLines(e.ns, "err=")-failed0
	e.t.Logf("backoff of %s over %v: %d more %s events, %d more controller log lines about %s, %d of them errors",
		name, time.Since(start).Round(100*time.Millisecond), events, reason, lines, e.ns, failed)
	if events > 20 {
		e.t.Errorf("%d %s events in %v: retried like a hot loop, not with backoff", events, reason, window)
	}
	if failed > 20 {
		e.t.Errorf("%d failed passes logged in %v: retried like a hot loop, not with backoff", failed, window)
	}
	if lines > 200 {
		e.t.Errorf("%d controller log lines about %s in %v for a set that is only retrying: the log floods", lines, e.ns, window)
	}
}

// controllerLogLines counts the controller log's lines that mention the namespace
// and every one of also; 0 when the controller runs outside the test.
func controllerLogLines(ns string, also ...string) int {
	if controller == nil {
		return 0
	}
	f, err := os.Open(controller.logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, ns) && msgAll(also...).ok(line) {
			n++
		}
	}
	return n
}

// requireControllerAlive fails when the suite's controller process has exited or its
// log shows a panic.
func requireControllerAlive(t *testing.T) {
	t.Helper()
	if controller == nil {
		return
	}
	if !controller.running() {
		t.Fatalf("the controller process is gone:\n%s", logTail(60))
	}
	// A set of 2147483647 replicas must cost what exists, not what it asks for.
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", controller.pid())); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			var kb int64
			if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
				t.Logf("controller peak resident memory: %d MiB", kb>>10)
				if kb > 1<<20 {
					t.Errorf("the controller's peak resident memory is %d MiB: something is allocated per replica", kb>>10)
				}
			}
		}
	}
	for _, line := range strings.Split(controller.runLog(), "\n") {
		if strings.Contains(line, "panic: ") || strings.Contains(line, "Observed a panic") {
			t.Errorf("the controller log shows a panic: %s", line)
		}
	}
}

// probe proves that the controller serves other sets: a plain one-pod set in this
// namespace comes up Running and Ready.
func (e *hostile) probe() {
	e.t.Helper()
	e.createSet("probe", statefulSpec("probe", 1, nil, false))
	e.waitReady("probe-0")
}

// exists and existsNow report whether a pod of that name exists, for waitFor and
// holdsFor.
func (e *hostile) podExists(name string) func() (bool, error) {
	return func() (bool, error) { _, ok := e.pod(name); return ok, nil }
}

func (e *hostile) podExistsNow(name string) func() bool {
	return func() bool { _, ok := e.pod(name); return ok }
}

// uids maps the namespace's pods to their UIDs.
func (e *hostile) uids() map[string]types.UID {
	out := map[string]types.UID{}
	for _, p := range e.pods() {
		out[p.Name] = p.UID
	}
	return out
}

// changed reports whether a pod of before is gone, replaced or terminating.
func (e *hostile) changed(before map[string]types.UID) bool {
	for name, uid := range before {
		p, ok := e.pod(name)
		if !ok || p.UID != uid || p.DeletionTimestamp != nil {
			return true
		}
	}
	return false
}

// controllerKindOf is the Kind of the pod's controller, "" for none or no pod.
func (e *hostile) controllerKindOf(name string) string {
	p, ok := e.pod(name)
	if !ok {
		return ""
	}
	if ref := metav1.GetControllerOf(p); ref != nil {
		return ref.Kind
	}
	return ""
}

// createPod makes a bare pod, as a user or another controller would.
func (e *hostile) createPod(name string, labels map[string]string) *corev1.Pod {
	e.t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: plainPodSpec()}
	out, err := kube.CoreV1().Pods(e.ns).Create(e.ctx, pod, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating pod %s: %v", name, err)
	}
	return out
}

func (e *hostile) patch(name string, patch map[string]any) {
	e.t.Helper()
	raw, _ := json.Marshal(patch)
	if _, err := kube.CoreV1().Pods(e.ns).Patch(e.ctx, name, types.MergePatchType, raw, metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("patching pod %s: %v", name, err)
	}
}

// dropFinalizers deletes the set, then strips finalizers from the namespace's pods
// until none has one, so that the namespace can go.
func (e *hostile) dropFinalizers(set string) {
	ctx := context.Background()
	_ = msts.AppsV1alpha1().MiniStatefulSets(e.ns).Delete(ctx, set, metav1.DeleteOptions{})
	for deadline := time.Now().Add(shortWait); time.Now().Before(deadline); time.Sleep(poll) {
		list, err := kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		held := 0
		for _, p := range list.Items {
			if len(p.Finalizers) > 0 {
				held++
				_, _ = kube.CoreV1().Pods(e.ns).Patch(ctx, p.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			}
		}
		if held == 0 {
			return
		}
	}
}

// createClaim creates a claim as a user would, ahead of the set.
func (e *hostile) createClaim(claim *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	e.t.Helper()
	out, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Create(e.ctx, claim, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("creating claim %s: %v", claim.Name, err)
	}
	return out
}

// claimChanged reports whether the claim is gone, replaced, or its spec, labels or
// ownerReferences differ from before (the PV controller's status and binding
// annotations may change).
func (e *hostile) claimChanged(before *corev1.PersistentVolumeClaim) bool {
	now, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, before.Name, metav1.GetOptions{})
	if err != nil || now.UID != before.UID || now.DeletionTimestamp != nil {
		return true
	}
	want, got := before.Spec.DeepCopy(), now.Spec.DeepCopy()
	want.VolumeName, got.VolumeName = "", ""
	a, _ := json.Marshal([]any{want, before.Labels, before.OwnerReferences})
	b, _ := json.Marshal([]any{got, now.Labels, now.OwnerReferences})
	return string(a) != string(b)
}

func (e *hostile) claimUID(name string) types.UID {
	e.t.Helper()
	var uid types.UID
	e.waitFor(shortWait, "claim "+name, func() (bool, error) {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err == nil {
			uid = c.UID
		}
		return err == nil, nil
	})
	return uid
}

func (e *hostile) claimCount() int {
	list, err := kube.CoreV1().PersistentVolumeClaims(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatalf("listing claims: %v", err)
	}
	return len(list.Items)
}

// claimOfPod is the claim behind the pod's volume of that name.
func (e *hostile) claimOfPod(pod, volume string) string {
	e.t.Helper()
	p, ok := e.pod(pod)
	if !ok {
		e.t.Fatalf("pod %s does not exist", pod)
	}
	for _, v := range p.Spec.Volumes {
		if v.Name == volume && v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

// createQuota limits the namespace to n pods and waits until the quota is enforced
// (the quota controller has computed its usage).
func (e *hostile) createQuota(n int64) string {
	e.t.Helper()
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "pods"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}},
	}
	if _, err := kube.CoreV1().ResourceQuotas(e.ns).Create(e.ctx, q, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating quota: %v", err)
	}
	e.waitFor(shortWait, "the quota's usage computed", func() (bool, error) {
		got, err := kube.CoreV1().ResourceQuotas(e.ns).Get(e.ctx, q.Name, metav1.GetOptions{})
		_, ok := got.Status.Used[corev1.ResourcePods]
		return err == nil && ok, nil
	})
	return q.Name
}

// denyPods installs a ValidatingAdmissionPolicy and binding that refuse every pod
// created in this namespace, and waits until a dry-run pod is refused.
func (e *hostile) denyPods(message string) {
	e.t.Helper()
	name := "msts-e2e-" + e.ns
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "false", Message: message}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": e.ns}}},
		},
	}
	api := kube.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(e.ctx, policy, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the policy: %v", err)
	}
	e.t.Cleanup(func() {
		_ = api.ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = api.ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(e.ctx, binding, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the policy binding: %v", err)
	}
	e.waitFor(shortWait, "the policy to refuse pods", func() (bool, error) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "dry-run"}, Spec: plainPodSpec()}
		_, err := kube.CoreV1().Pods(e.ns).Create(e.ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), message), nil
	})
}
