package ministatefulset

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// controllerOf returns the object's controller reference, if any.
func controllerOf(obj metav1.Object) *metav1.OwnerReference {
	return metav1.GetControllerOf(obj)
}

// ownerPatch is a strategic merge patch of an object's ownerReferences, guarded by
// the object's UID so it never lands on a newer object of the same name.
func ownerPatch(uid types.UID, refs []map[string]any) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": refs, "uid": uid}})
}

func adoptPatch(set *appsv1alpha1.MiniStatefulSet, uid types.UID) ([]byte, error) {
	ref := ownerRef(set)
	return ownerPatch(uid, []map[string]any{{
		"apiVersion": ref.APIVersion, "kind": ref.Kind, "name": ref.Name, "uid": ref.UID,
		"controller": true, "blockOwnerDeletion": true,
	}})
}

func releasePatch(set *appsv1alpha1.MiniStatefulSet, uid types.UID) ([]byte, error) {
	return ownerPatch(uid, []map[string]any{{"$patch": "delete", "uid": set.UID}})
}

// adopter checks, once per pass and only when there is something to adopt, that the
// set still exists with the same UID and is not being deleted: the cache may be
// behind, and adopting into a deleted set would hand the pod to the garbage collector.
type adopter struct {
	api  setAPI
	set  *appsv1alpha1.MiniStatefulSet
	once sync.Once
	err  error
}

func (a *adopter) canAdopt(ctx context.Context) error {
	a.once.Do(func() {
		fresh, err := a.api.get(ctx, a.set)
		switch {
		case err != nil:
			a.err = fmt.Errorf("re-reading %s/%s before adoption: %w", a.set.Namespace, a.set.Name, err)
		case fresh.UID != a.set.UID:
			a.err = fmt.Errorf("%s/%s was replaced (UID %s, not %s): not adopting", a.set.Namespace, a.set.Name, fresh.UID, a.set.UID)
		case fresh.DeletionTimestamp != nil:
			a.err = fmt.Errorf("%s/%s is being deleted: not adopting", a.set.Namespace, a.set.Name)
		}
	})
	return a.err
}

// refWriter patches ownerReferences of pods and revisions.
type refWriter struct{ client kubernetes.Interface }

func (w refWriter) patchPod(ctx context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
	return w.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
}

func (w refWriter) patchRevision(ctx context.Context, rev *appsv1.ControllerRevision, patch []byte) (*appsv1.ControllerRevision, error) {
	return w.client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
}

// ignoreGone treats an object that vanished or changed identity under a patch as
// released: it is not ours either way.
func ignoreGone(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
