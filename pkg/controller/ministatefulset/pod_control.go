package ministatefulset

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

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
}

type realPodControl struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
}

func newPodControl(client kubernetes.Interface, recorder record.EventRecorder) *realPodControl {
	return &realPodControl{client: client, recorder: recorder}
}

// CreatePod creates the pod's missing claims, then the pod. A pod that already exists
// is not an error: the cache was behind, and its watch event brings another pass.
func (pc *realPodControl) CreatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claims []*corev1.PersistentVolumeClaim) error {
	if err := pc.CreateClaims(ctx, set, pod, claims); err != nil {
		return err
	}
	_, err := pc.client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		klog.FromContext(ctx).V(2).Info("Pod already exists", "pod", klog.KObj(pod))
		return nil
	}
	pc.recordPodEvent("create", set, pod, err)
	return err
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

// UpdatePod writes a fixed copy of a pod.
func (pc *realPodControl) UpdatePod(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) error {
	_, err := pc.client.CoreV1().Pods(pod.Namespace).Update(ctx, pod, metav1.UpdateOptions{FieldManager: FieldManager})
	pc.recordPodEvent("update", set, pod, err)
	return err
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

func (pc *realPodControl) recordPodEvent(verb string, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, err error) {
	if err == nil {
		pc.recorder.Eventf(set, corev1.EventTypeNormal, successReason(verb), "%s Pod %s in MiniStatefulSet %s successful", verb, pod.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, corev1.EventTypeWarning, failedReason(verb), "%s Pod %s in MiniStatefulSet %s failed error: %s", verb, pod.Name, set.Name, err)
}

func (pc *realPodControl) recordClaimEvent(verb string, set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim, err error) {
	if err == nil {
		pc.recorder.Eventf(set, corev1.EventTypeNormal, successReason(verb), "%s Claim %s Pod %s in MiniStatefulSet %s success", verb, claim.Name, pod.Name, set.Name)
		return
	}
	pc.recorder.Eventf(set, corev1.EventTypeWarning, failedReason(verb), "%s Claim %s for Pod %s in MiniStatefulSet %s failed error: %s", verb, claim.Name, pod.Name, set.Name, err)
}

func successReason(verb string) string {
	return map[string]string{"create": ReasonSuccessfulCreate, "delete": ReasonSuccessfulDelete, "update": ReasonSuccessfulUpdate}[verb]
}

func failedReason(verb string) string {
	return map[string]string{"create": ReasonFailedCreate, "delete": ReasonFailedDelete, "update": ReasonFailedUpdate}[verb]
}
