package ministatefulset

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// podControl writes pods and claims and records an event for every write, in the
// words of the StatefulSet controller.
type podControl interface {
	CreatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error
	DeletePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) error
	UpdatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) error
	CreateClaims(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error
	UpdateClaim(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) error
	GrowClaim(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) error
}

type realPodControl struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
}

func newPodControl(client kubernetes.Interface, recorder record.EventRecorder) *realPodControl {
	return &realPodControl{client: client, recorder: recorder}
}

// CreatePod creates the pod's missing claims, then the pod. A name already taken is
// an error, retried with backoff: by this set's own pod when the cache was behind,
// or by another object (a pod of an earlier set of the same name, still
// terminating), which the set must wait for; that object's events wake the set too.
func (pc *realPodControl) CreatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error {
	if err := pc.CreateClaims(ctx, set, pod, claims); err != nil {
		return err
	}
	_, err := pc.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		taken := &nameTakenError{pod: pod.Name}
		if holder, getErr := pc.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}); getErr == nil {
			taken.describeHolder(set, holder)
		}
		if !taken.ours {
			pc.recordPodEvent("create", set, pod, taken)
		}
		return taken
	}
	pc.recordPodEvent("create", set, pod, err)
	return err
}

// nameTakenError is a pod create that found its name held.
type nameTakenError struct {
	pod string
	// holder says who holds the name, in words; empty when unknown.
	holder string
	// ours is set when the holder is the set's own pod: the cache was behind.
	ours bool
}

func (e *nameTakenError) describeHolder(set *appsv1alpha1.MiniStatefulSet, holder *corev1.Pod) {
	ref := controllerOf(holder)
	switch {
	case ref != nil && ref.UID == set.UID:
		e.ours = true
		e.holder = "this set's own pod, not yet in the cache"
	case ref != nil && isSetRef(ref) && ref.Kind == kindOf(set).Kind && ref.Name == set.Name:
		e.holder = "a pod of an earlier " + ref.Kind + " " + set.Name
	case ref != nil:
		e.holder = fmt.Sprintf("a pod controlled by %s %s", ref.Kind, ref.Name)
	default:
		e.holder = "a pod no controller owns"
	}
	if holder.DeletionTimestamp != nil {
		e.holder += ", terminating"
	}
}

func (e *nameTakenError) Error() string {
	if e.holder == "" {
		return fmt.Sprintf("pod %s already exists", e.pod)
	}
	return fmt.Sprintf("pod %s already exists (%s)", e.pod, e.holder)
}

// wait is the Waiting condition's message.
func (e *nameTakenError) wait() string {
	return fmt.Sprintf("waiting for the name %s: %s; retrying until it is gone", e.pod, e.Error())
}

// DeletePod deletes the pod it was shown, never a newer pod of the same name.
func (pc *realPodControl) DeletePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) error {
	err := pc.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	pc.recordPodEvent("delete", set, pod, err)
	return err
}

// UpdatePod writes the identity labels of a fixed copy of a pod, and nothing else: a
// merge patch of those two labels, guarded by the pod's UID. The cache holds views of
// pods (podView), so a cached pod is never written back whole.
func (pc *realPodControl) UpdatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) error {
	patch, err := identityPatch(pod)
	if err == nil {
		_, err = pc.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	pc.recordPodEvent("update", set, pod, err)
	return err
}

// identityPatch is a merge patch of the pod's identity labels, guarded by its UID.
func identityPatch(pod *corev1.Pod) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":    pod.UID,
		"labels": map[string]string{LabelPodName: pod.Labels[LabelPodName], LabelPodIndex: pod.Labels[LabelPodIndex]},
	}})
}

// CreateClaims creates claims; one that already exists is kept as it is, never
// updated: it holds the user's data.
func (pc *realPodControl) CreateClaims(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error {
	for _, claim := range claims {
		_, err := pc.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, claim, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		pc.recordClaimEvent("create", set, pod, claim, err)
		if err != nil {
			return fmt.Errorf("claim %s for pod %s: %w", claim.Name, pod.Name, err)
		}
	}
	return nil
}

// UpdateClaim writes a claim's ownerReferences (and nothing else) for the retention
// policy. A claim deleted meanwhile needs nothing.
func (pc *realPodControl) UpdateClaim(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) error {
	_, err := pc.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{FieldManager: FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	pc.recordClaimEvent("update", set, pod, claim, err)
	return err
}

// GrowClaim writes a claim's raised storage request (and nothing else), on the
// version of the claim decided on. A claim deleted meanwhile needs nothing.
func (pc *realPodControl) GrowClaim(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) error {
	want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	_, err := pc.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{FieldManager: FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		pc.recorder.Eventf(set, corev1.EventTypeWarning, ReasonFailedUpdate, "grow Claim %s for Pod %s in %s %s to %s failed error: %s", claim.Name, pod.Name, kindOf(set).Kind, set.Name, want.String(), err)
		return err
	}
	pc.recorder.Eventf(set, corev1.EventTypeNormal, ReasonSuccessfulUpdate, "grow Claim %s Pod %s in %s %s to %s success", claim.Name, pod.Name, kindOf(set).Kind, set.Name, want.String())
	return nil
}

// podWrites counts each pod write the API server accepted, by verb.
var podWritesTotal = map[string]interface{ Inc() }{"create": podsCreated, "delete": podsDeleted, "update": podsUpdated}

func (pc *realPodControl) recordPodEvent(verb string, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, err error) {
	if err == nil {
		podWritesTotal[verb].Inc()
		pc.recorder.Eventf(set, corev1.EventTypeNormal, successReason(verb), "%s Pod %s in %s %s successful", verb, pod.Name, kindOf(set).Kind, set.Name)
		return
	}
	pc.recorder.Eventf(set, corev1.EventTypeWarning, failedReason(verb), "%s Pod %s in %s %s failed error: %s", verb, pod.Name, kindOf(set).Kind, set.Name, err)
}

func (pc *realPodControl) recordClaimEvent(verb string, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim, err error) {
	if err == nil {
		if verb == "create" {
			claimsCreated.Inc()
		}
		pc.recorder.Eventf(set, corev1.EventTypeNormal, successReason(verb), "%s Claim %s Pod %s in %s %s success", verb, claim.Name, pod.Name, kindOf(set).Kind, set.Name)
		return
	}
	pc.recorder.Eventf(set, corev1.EventTypeWarning, failedReason(verb), "%s Claim %s for Pod %s in %s %s failed error: %s", verb, claim.Name, pod.Name, kindOf(set).Kind, set.Name, err)
}

func successReason(verb string) string {
	return map[string]string{"create": ReasonSuccessfulCreate, "delete": ReasonSuccessfulDelete, "update": ReasonSuccessfulUpdate}[verb]
}

func failedReason(verb string) string {
	return map[string]string{"create": ReasonFailedCreate, "delete": ReasonFailedDelete, "update": ReasonFailedUpdate}[verb]
}
