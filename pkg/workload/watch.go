package workload

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// ListWatch lists and watches the one set ref names, through its kind's client; the
// object is an empty one of that kind, for informers. Read what it delivers with View.
func (c Clients) ListWatch(ref Ref) (cache.ListerWatcher, runtime.Object) {
	only := fields.OneTermEqualSelector("metadata.name", ref.Name).String()
	var list func(context.Context, metav1.ListOptions) (runtime.Object, error)
	var watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)
	var obj runtime.Object
	var client any
	if ref.Kind == StatefulSet {
		sets := c.Kube.AppsV1().StatefulSets(ref.Namespace)
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return sets.List(ctx, o) }
		watchFn, obj, client = sets.Watch, &appsv1.StatefulSet{}, c.Kube
	} else {
		sets := c.Sets.AppsV1alpha1().MiniStatefulSets(ref.Namespace)
		list = func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return sets.List(ctx, o) }
		watchFn, obj, client = sets.Watch, &appsv1alpha1.MiniStatefulSet{}, c.Sets
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = only
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = only
			return watchFn(ctx, o)
		},
	}
	return cache.ToListWatcherWithWatchListSemantics(lw, client), obj
}

// View reads a set that a watch or an informer delivered.
func View(obj any) (*Set, error) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	switch s := obj.(type) {
	case *appsv1.StatefulSet:
		return FromStatefulSet(s), nil
	case *appsv1alpha1.MiniStatefulSet:
		return FromMiniStatefulSet(s)
	}
	return nil, fmt.Errorf("the watch delivered a %T, not a set", obj)
}
