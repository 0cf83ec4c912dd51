package workload

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// conflictBackoff retries a read-modify-write that lost to a controller's status
// writes, which are frequent while pods change.
var conflictBackoff = wait.Backoff{Steps: 10, Duration: 20 * time.Millisecond, Factor: 1.5, Jitter: 0.1}

// Create creates the set sts describes as a set of the given kind: the StatefulSet
// as it is, or the MiniStatefulSet with the same metadata and spec.
func (c Clients) Create(ctx context.Context, kind Kind, sts *appsv1.StatefulSet, fieldManager string) error {
	opts := metav1.CreateOptions{FieldManager: fieldManager}
	if kind == StatefulSet {
		_, err := c.Kube.AppsV1().StatefulSets(sts.Namespace).Create(ctx, sts, opts)
		return err
	}
	m := &appsv1alpha1.MiniStatefulSet{ObjectMeta: *sts.ObjectMeta.DeepCopy(),
		TypeMeta: metav1.TypeMeta{APIVersion: appsv1alpha1.SchemeGroupVersion.String(), Kind: appsv1alpha1.Kind}}
	if err := appsv1alpha1.Recode(sts.Spec, &m.Spec); err != nil {
		return fmt.Errorf("writing %s's spec as a MiniStatefulSet's: %w", sts.Name, err)
	}
	_, err := c.Sets.AppsV1alpha1().MiniStatefulSets(sts.Namespace).Create(ctx, m, opts)
	return err
}

// UpdateSpec changes a set's spec, in apps/v1 terms for either kind, again when it
// loses to the controller's status writes.
func (c Clients) UpdateSpec(ctx context.Context, ref Ref, fieldManager string, mutate func(*appsv1.StatefulSetSpec)) error {
	opts := metav1.UpdateOptions{FieldManager: fieldManager}
	return retry.RetryOnConflict(conflictBackoff, func() error {
		if ref.Kind == StatefulSet {
			sets := c.Kube.AppsV1().StatefulSets(ref.Namespace)
			sts, err := sets.Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			mutate(&sts.Spec)
			_, err = sets.Update(ctx, sts, opts)
			return err
		}
		sets := c.Sets.AppsV1alpha1().MiniStatefulSets(ref.Namespace)
		m, err := sets.Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		set, err := FromMiniStatefulSet(m)
		if err != nil {
			return err
		}
		mutate(&set.Spec)
		if m.Spec, err = set.MiniStatefulSetSpec(); err != nil {
			return err
		}
		_, err = sets.Update(ctx, m, opts)
		return err
	})
}

// Scale sets spec.replicas.
func (c Clients) Scale(ctx context.Context, ref Ref, replicas int, fieldManager string) error {
	n := int32(replicas)
	return c.UpdateSpec(ctx, ref, fieldManager, func(spec *appsv1.StatefulSetSpec) { spec.Replicas = &n })
}

// Delete deletes the set and leaves its pods (and, by the retention policy, its
// claims) to the garbage collector, as kubectl delete does.
func (c Clients) Delete(ctx context.Context, ref Ref) error {
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if ref.Kind == StatefulSet {
		return c.Kube.AppsV1().StatefulSets(ref.Namespace).Delete(ctx, ref.Name, opts)
	}
	return c.Sets.AppsV1alpha1().MiniStatefulSets(ref.Namespace).Delete(ctx, ref.Name, opts)
}
