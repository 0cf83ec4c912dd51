//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Annotations the admission policies of TestEventReasons look for.
const (
	frozenPod      = "msts.test/frozen"      // no update may keep it
	undeletablePod = "msts.test/undeletable" // no delete while it is there
)

// Messages of those policies, to recognise their denials.
const (
	frozenMessage      = "the pod is frozen by the msts.test/frozen annotation"
	undeletableMessage = "the pod is kept by the msts.test/undeletable annotation"
)

// denyPodWrites installs ValidatingAdmissionPolicies, bound to the env's namespace
// only, that refuse an update of a pod that carries the frozen annotation before and
// after the update, and a delete of a pod that carries the undeletable annotation.
// Adding or removing the annotation is an update the policies let through. They are
// removed when the test ends, before its namespace.
func (e *env) denyPodWrites() {
	e.t.Helper()
	policies := kube.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	bindings := kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	rule := func(op admissionv1.OperationType) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{op},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}
	}
	has := func(obj, key string) string {
		return fmt.Sprintf("(has(%[1]s.metadata.annotations) && '%[2]s' in %[1]s.metadata.annotations)", obj, key)
	}
	for _, p := range []struct {
		name, expression, message string
		op                        admissionv1.OperationType
	}{
		{"frozen", fmt.Sprintf("!(%s && %s)", has("oldObject", frozenPod), has("object", frozenPod)), frozenMessage, admissionv1.Update},
		{"undeletable", "!" + has("oldObject", undeletablePod), undeletableMessage, admissionv1.Delete},
	} {
		name := fmt.Sprintf("e2e-%s-%s", p.name, e.ns)
		policy := &admissionv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				FailurePolicy:    ptr(admissionv1.Fail),
				MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{rule(p.op)}},
				Validations:      []admissionv1.Validation{{Expression: p.expression, Message: p.message}},
			},
		}
		if _, err := policies.Create(e.ctx, policy, metav1.CreateOptions{}); err != nil {
			e.t.Fatalf("creating ValidatingAdmissionPolicy %s: %v", name, err)
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
		if _, err := bindings.Create(e.ctx, binding, metav1.CreateOptions{}); err != nil {
			e.t.Fatalf("creating ValidatingAdmissionPolicyBinding %s: %v", name, err)
		}
		e.t.Cleanup(func() {
			_ = bindings.Delete(e.ctx, name, metav1.DeleteOptions{})
			_ = policies.Delete(e.ctx, name, metav1.DeleteOptions{})
		})
	}

	// The API server loads policies asynchronously: probe with dry runs on a pod that
	// carries both annotations until both writes are refused.
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "policy-probe", Namespace: e.ns, Annotations: map[string]string{frozenPod: "true", undeletablePod: "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/never-pulled:1"}}},
	}
	pods := kube.CoreV1().Pods(e.ns)
	if _, err := pods.Create(e.ctx, probe, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the policy probe: %v", err)
	}
	dry := []string{metav1.DryRunAll}
	e.waitSaw(shortWait, "both admission policies to refuse writes of the probe pod", func() (bool, string) {
		patch := []byte(`{"metadata":{"labels":{"probe":"x"}}}`)
		_, errU := pods.Patch(e.ctx, probe.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dry})
		errD := pods.Delete(e.ctx, probe.Name, metav1.DeleteOptions{DryRun: dry})
		okU := errU != nil && strings.Contains(errU.Error(), frozenMessage)
		okD := errD != nil && strings.Contains(errD.Error(), undeletableMessage)
		return okU && okD, fmt.Sprintf("update: %v; delete: %v", errU, errD)
	})
	e.removeAnnotations(probe.Name, frozenPod, undeletablePod)
	if err := pods.Delete(e.ctx, probe.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		e.t.Fatalf("deleting the policy probe: %v", err)
	}
	e.waitGone(probe.Name)
}

// removeAnnotations drops annotations from a pod with a merge patch.
func (e *env) removeAnnotations(pod string, keys ...string) {
	e.t.Helper()
	drop := map[string]any{}
	for _, k := range keys {
		drop[k] = nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": drop}})
	if _, err := kube.CoreV1().Pods(e.ns).Patch(e.ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("removing annotations %v from %s: %v", keys, pod, err)
	}
}

// setQuota creates or updates the namespace's ResourceQuota and waits until the
// quota controller has taken it in, so admission enforces exactly these limits.
func (e *env) setQuota(pods, claims int) {
	e.t.Helper()
	hard := corev1.ResourceList{
		corev1.ResourcePods:                   resource.MustParse(fmt.Sprint(pods)),
		corev1.ResourcePersistentVolumeClaims: resource.MustParse(fmt.Sprint(claims)),
	}
	quotas := kube.CoreV1().ResourceQuotas(e.ns)
	e.onConflict("writing the ResourceQuota", func() error {
		q, err := quotas.Get(e.ctx, "limits", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = quotas.Create(e.ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		q.Spec.Hard = hard
		_, err = quotas.Update(e.ctx, q, metav1.UpdateOptions{})
		return err
	})
	e.waitSaw(shortWait, "the quota controller to take in the ResourceQuota", func() (bool, string) {
		q, err := quotas.Get(e.ctx, "limits", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		st := q.Status.Hard
		return st.Pods().Value() == int64(pods) && st.Name(corev1.ResourcePersistentVolumeClaims, resource.DecimalSI).Value() == int64(claims) &&
			q.Status.Used != nil, fmt.Sprintf("status %+v", q.Status)
	})
}

// setEvents lists the events recorded for a MiniStatefulSet as "Type Reason message",
// each once whatever its count.
func (e *env) setEvents(name string) []string {
	e.t.Helper()
	return e.eventsOf("MiniStatefulSet", name)
}

// eventsOf is setEvents for an object of any kind.
func (e *env) eventsOf(kind, name string) []string {
	e.t.Helper()
	list, err := kube.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name})
	if err != nil {
		e.t.Fatalf("listing events: %v", err)
	}
	var out []string
	for _, ev := range list.Items {
		out = append(out, ev.Type+" "+ev.Reason+" "+ev.Message)
	}
	return out
}

// waitEvent waits for an event of the set whose "Type Reason message" has every one
// of the parts, and returns it.
func (e *env) waitEvent(set string, parts ...string) string {
	e.t.Helper()
	var found string
	e.waitSaw(longWait, fmt.Sprintf("an event of %s with %q", set, parts), func() (bool, string) {
		evs := e.setEvents(set)
		for _, ev := range evs {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(ev, p)
			}
			if all {
				found = ev
				return true, ""
			}
		}
		return false, strings.Join(evs, "\n")
	})
	return found
}

// TestEventReasons makes the API server refuse each kind of write the controller
// makes, and checks that every event reason docs/parity.md lists is recorded, for pods
// and claims, success and failure: a ResourceQuota refuses a claim and then a pod
// (FailedCreate); identity labels removed by hand are restored (SuccessfulUpdate),
// and refused by an admission policy while the pod is frozen (FailedUpdate); the
// retention policy's owner change of a claim (SuccessfulUpdate); a scale-down delete
// refused by another policy (FailedDelete), then let through (SuccessfulDelete). After
// each refusal the controller retries by itself once the cause is gone.
func TestEventReasons(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "events")
	e.denyPodWrites()
	e.setQuota(1, 1)
	spec := statefulSpec("web", 2, nil, true)
	spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
	e.createSet("web", spec)
	e.waitReady("web-0")
	var seen []string
	seen = append(seen,
		e.waitEvent("web", "Normal SuccessfulCreate", "create Claim web-data-web-0 Pod web-0"),
		e.waitEvent("web", "Normal SuccessfulCreate", "create Pod web-0"),
		e.waitEvent("web", "Warning FailedCreate", "create Claim web-data-web-1 for Pod web-1", "exceeded quota"))
	assert.False(t, e.exists("web-1"), "web-1 was created although its claim was refused")

	e.setQuota(1, 10)
	seen = append(seen, e.waitEvent("web", "Warning FailedCreate", "create Pod web-1", "exceeded quota"))
	e.setQuota(10, 10)
	e.waitReady("web-0", "web-1")

	// Identity labels removed by hand come back through an update.
	e.patchPod("web-0", `{"metadata":{"labels":{"apps.kubernetes.io/pod-index":null,"statefulset.kubernetes.io/pod-name":null}}}`)
	e.waitIdentity("web-0", "0")
	seen = append(seen, e.waitEvent("web", "Normal SuccessfulUpdate", "update Pod web-0"))

	// The same on a frozen pod is refused until the pod thaws.
	e.patchPod("web-1", `{"metadata":{"annotations":{"`+frozenPod+`":"true"},"labels":{"apps.kubernetes.io/pod-index":null}}}`)
	seen = append(seen, e.waitEvent("web", "Warning FailedUpdate", "update Pod web-1", frozenMessage))
	if p, ok := e.pod("web-1"); !ok || p.Labels["apps.kubernetes.io/pod-index"] != "" {
		t.Fatalf("web-1's pod-index label came back while the pod was frozen: %v", p)
	}
	e.removeAnnotations("web-1", frozenPod)
	e.waitIdentity("web-1", "1")
	seen = append(seen, e.waitEvent("web", "Normal SuccessfulUpdate", "update Pod web-1"))

	// A scale-down hands web-1's claim to web-1 (whenScaled: Delete), then its delete is
	// refused while web-1 is undeletable.
	e.annotatePod("web-1", undeletablePod, "true")
	e.scale("web", 1)
	seen = append(seen,
		e.waitEvent("web", "Normal SuccessfulUpdate", "update Claim web-data-web-1"),
		e.waitEvent("web", "Warning FailedDelete", "delete Pod web-1", undeletableMessage))
	if p, ok := e.pod("web-1"); !ok || p.DeletionTimestamp != nil {
		t.Fatalf("web-1 is terminating although its delete was refused")
	}
	e.removeAnnotations("web-1", undeletablePod)
	e.waitGone("web-1")
	seen = append(seen, e.waitEvent("web", "Normal SuccessfulDelete", "delete Pod web-1"))
	t.Logf("events seen:\n  %s", strings.Join(seen, "\n  "))
}

func (e *env) exists(pod string) bool {
	_, ok := e.pod(pod)
	return ok
}

func (e *env) patchPod(name, mergePatch string) {
	e.t.Helper()
	if _, err := kube.CoreV1().Pods(e.ns).Patch(e.ctx, name, types.MergePatchType, []byte(mergePatch), metav1.PatchOptions{}); err != nil {
		e.t.Fatalf("patching %s with %s: %v", name, mergePatch, err)
	}
}

// waitIdentity waits for a pod to carry its identity labels again.
func (e *env) waitIdentity(name, index string) {
	e.t.Helper()
	e.waitSaw(longWait, name+"'s identity labels restored", func() (bool, string) {
		p, ok := e.pod(name)
		if !ok {
			return false, name + " absent"
		}
		return p.Labels["apps.kubernetes.io/pod-index"] == index && p.Labels["statefulset.kubernetes.io/pod-name"] == name, fmt.Sprint(p.Labels)
	})
}
