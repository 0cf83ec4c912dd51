package ministatefulset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	mstslisters "github.com/ministatefulset/ministatefulset/pkg/generated/listers/apps/v1alpha1"
)

// The controller drives one of two kinds of set, with one algorithm: its own
// MiniStatefulSets, or apps/v1 StatefulSets in place of kube-controller-manager's
// StatefulSet controller (drop-in mode, --manage=statefulsets). The algorithm only
// ever sees a *MiniStatefulSet: a StatefulSet is read as a view of that type, made
// through the JSON field contract the two kinds share (every field of apps/v1's
// spec and status has the same name and meaning in MiniStatefulSet's), and marked
// with the StatefulSet's apiVersion and kind in its TypeMeta. What differs between
// the kinds is behind kindOf and setAPI: the owner references the set's pods, claims
// and revisions carry, the object events are recorded on (the TypeMeta), the read
// past the cache and the status write.
var (
	miniStatefulSetKind = appsv1alpha1.SchemeGroupVersion.WithKind(appsv1alpha1.Kind)
	statefulSetKind     = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
)

// kindOf is the kind a set stands for: StatefulSet for a view of one, else
// MiniStatefulSet (objects of the MiniStatefulSet informer have no TypeMeta).
func kindOf(set *appsv1alpha1.MiniStatefulSet) schema.GroupVersionKind {
	if set.Kind == statefulSetKind.Kind && set.APIVersion == statefulSetKind.GroupVersion().String() {
		return statefulSetKind
	}
	return miniStatefulSetKind
}

// isStatefulSet reports whether a set is a view of an apps/v1 StatefulSet, whose
// behaviour is exactly apps/v1's: none of MiniStatefulSet's conditions or features
// beyond apps/v1 apply to it.
func isStatefulSet(set *appsv1alpha1.MiniStatefulSet) bool { return kindOf(set) == statefulSetKind }

// isSetRef reports whether a reference points at a set of either kind; the caller
// compares the UID with the set it found.
func isSetRef(ref *metav1.OwnerReference) bool {
	if ref == nil {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false
	}
	return (ref.Kind == miniStatefulSetKind.Kind && gv.Group == miniStatefulSetKind.Group) ||
		(ref.Kind == statefulSetKind.Kind && gv.Group == statefulSetKind.Group)
}

// ownerRef is the controller reference the set's pods, claims and revisions carry.
func ownerRef(set *appsv1alpha1.MiniStatefulSet) *metav1.OwnerReference {
	return metav1.NewControllerRef(set, kindOf(set))
}

// ViewOfStatefulSet reads a StatefulSet as the MiniStatefulSet it is field for field.
func ViewOfStatefulSet(sts *appsv1.StatefulSet) (*appsv1alpha1.MiniStatefulSet, error) {
	view := &appsv1alpha1.MiniStatefulSet{}
	if err := appsv1alpha1.Recode(sts, view); err != nil {
		return nil, fmt.Errorf("reading StatefulSet %s/%s as a set: %w", sts.Namespace, sts.Name, err)
	}
	view.TypeMeta = metav1.TypeMeta{APIVersion: statefulSetKind.GroupVersion().String(), Kind: statefulSetKind.Kind}
	// apps/v1's status has no selector (its scale subresource reads spec.selector);
	// the view carries the one computeStatus writes, so that an unchanged status
	// compares equal and is not written again.
	if sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector); err == nil && sts.Spec.Selector != nil {
		view.Status.Selector = sel.String()
	}
	return view, nil
}

// statefulSetOf is the StatefulSet a view stands for; the fields apps/v1 has not
// (status.selector, status.claimStorage, none set for a StatefulSet) are dropped.
func statefulSetOf(view *appsv1alpha1.MiniStatefulSet) (*appsv1.StatefulSet, error) {
	sts := &appsv1.StatefulSet{}
	return sts, appsv1alpha1.Recode(view, sts)
}

// setView is the sets informer's transform, for either kind: a StatefulSet becomes a
// view, so the controller's lister reads it as it reads MiniStatefulSets, and either
// loses its managedFields.
func setView(obj any) (any, error) {
	sts, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return dropManagedFields(obj) // a MiniStatefulSet, a view already, or a tombstone
	}
	sts.ManagedFields = nil
	return ViewOfStatefulSet(sts)
}

// StatefulSetInformer serves apps/v1 StatefulSets as views, in the place of a
// MiniStatefulSet informer in Informers.Sets. Call it before the factory starts.
func StatefulSetInformer(inf appsinformers.StatefulSetInformer) (*StatefulSetViews, error) {
	i := inf.Informer()
	if err := i.SetTransform(setView); err != nil {
		return nil, err
	}
	return &StatefulSetViews{informer: i}, nil
}

// StatefulSetViews is a MiniStatefulSet informer over StatefulSets.
type StatefulSetViews struct{ informer cache.SharedIndexInformer }

func (v *StatefulSetViews) Informer() cache.SharedIndexInformer { return v.informer }

func (v *StatefulSetViews) Lister() mstslisters.MiniStatefulSetLister {
	return mstslisters.NewMiniStatefulSetLister(v.informer.GetIndexer())
}

// setAPI reads a set past the cache and writes its status, for either kind.
type setAPI struct {
	kube kubernetes.Interface
	msts versioned.Interface
}

func (a setAPI) get(ctx context.Context, like *appsv1alpha1.MiniStatefulSet) (*appsv1alpha1.MiniStatefulSet, error) {
	if !isStatefulSet(like) {
		return a.msts.AppsV1alpha1().MiniStatefulSets(like.Namespace).Get(ctx, like.Name, metav1.GetOptions{})
	}
	sts, err := a.kube.AppsV1().StatefulSets(like.Namespace).Get(ctx, like.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return ViewOfStatefulSet(sts)
}

func (a setAPI) updateStatus(ctx context.Context, set *appsv1alpha1.MiniStatefulSet) (*appsv1alpha1.MiniStatefulSet, error) {
	opts := metav1.UpdateOptions{FieldManager: FieldManager}
	if !isStatefulSet(set) {
		return a.msts.AppsV1alpha1().MiniStatefulSets(set.Namespace).UpdateStatus(ctx, set, opts)
	}
	sts, err := statefulSetOf(set)
	if err != nil {
		return nil, err
	}
	out, err := a.kube.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, sts, opts)
	if err != nil {
		return nil, err
	}
	return ViewOfStatefulSet(out)
}
