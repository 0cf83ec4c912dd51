package compare

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// createOther creates one of the manifest's other documents in a namespace. What
// the server assigned in the file's cluster (uid, resourceVersion, a Service's
// cluster IPs) is dropped, so the same document can be created twice.
func createOther(ctx context.Context, kube kubernetes.Interface, namespace string, obj runtime.Object) error {
	create := metav1.CreateOptions{FieldManager: fieldManager}
	var err error
	switch o := obj.DeepCopyObject().(type) {
	case *corev1.Service:
		fresh(&o.ObjectMeta, namespace)
		if o.Spec.ClusterIP != corev1.ClusterIPNone {
			o.Spec.ClusterIP, o.Spec.ClusterIPs = "", nil
		}
		_, err = kube.CoreV1().Services(namespace).Create(ctx, o, create)
	case *corev1.ConfigMap:
		fresh(&o.ObjectMeta, namespace)
		_, err = kube.CoreV1().ConfigMaps(namespace).Create(ctx, o, create)
	case *corev1.Secret:
		fresh(&o.ObjectMeta, namespace)
		_, err = kube.CoreV1().Secrets(namespace).Create(ctx, o, create)
	case *corev1.ServiceAccount:
		fresh(&o.ObjectMeta, namespace)
		_, err = kube.CoreV1().ServiceAccounts(namespace).Create(ctx, o, create)
	default:
		return fmt.Errorf("cannot create a %T", obj)
	}
	if err != nil {
		return fmt.Errorf("creating %s in %s: %w", describeObject(obj), namespace, err)
	}
	return nil
}

// fresh makes metadata fit for a create in another namespace.
func fresh(m *metav1.ObjectMeta, namespace string) {
	m.Namespace = namespace
	m.UID, m.ResourceVersion, m.Generation = "", "", 0
	m.CreationTimestamp, m.DeletionTimestamp = metav1.Time{}, nil
	m.ManagedFields, m.OwnerReferences = nil, nil
}

func describeObject(obj runtime.Object) string {
	kind := fmt.Sprintf("%T", obj)
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk.Kind != "" {
		kind = gvk.Kind
	}
	if m, ok := obj.(metav1.Object); ok {
		return kind + " " + m.GetName()
	}
	return kind
}
