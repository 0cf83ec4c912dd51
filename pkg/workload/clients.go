package workload

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
)

// Clients reach both kinds of set and what they own.
type Clients struct {
	Kube kubernetes.Interface
	Sets versioned.Interface
}

// Get reads one set.
func (c Clients) Get(ctx context.Context, ref Ref) (*Set, error) {
	switch ref.Kind {
	case StatefulSet:
		sts, err := c.Kube.AppsV1().StatefulSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, explain(err, ref)
		}
		return FromStatefulSet(sts), nil
	default:
		m, err := c.Sets.AppsV1alpha1().MiniStatefulSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, explain(err, ref)
		}
		return FromMiniStatefulSet(m)
	}
}

// explain turns the API's errors into ones that say what to do.
func explain(err error, ref Ref) error {
	switch {
	case apierrors.IsNotFound(err) && ref.Kind == MiniStatefulSet && isMissingResource(err):
		return fmt.Errorf("the cluster has no MiniStatefulSet resource: install the CRD first (make install-crd): %w", err)
	case apierrors.IsNotFound(err):
		return &NotFoundError{Ref: ref, Err: err}
	}
	return fmt.Errorf("reading %s: %w", ref, err)
}

// NotFoundError says a set does not exist; apierrors.IsNotFound sees through it.
type NotFoundError struct {
	Ref Ref
	Err error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s not found in namespace %s", e.Ref, e.Ref.Namespace)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// isMissingResource reports a 404 for the resource type rather than for the object.
func isMissingResource(err error) bool {
	st, ok := err.(apierrors.APIStatus)
	if !ok {
		return false
	}
	d := st.Status().Details
	return d == nil || d.Name == ""
}

// List reads every set of both kinds in a namespace ("" for all), sorted by
// namespace, name and kind. A cluster without the CRD lists only StatefulSets.
func (c Clients) List(ctx context.Context, namespace string) ([]*Set, error) {
	var out []*Set
	stss, err := c.Kube.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing StatefulSets: %w", err)
	}
	for i := range stss.Items {
		out = append(out, FromStatefulSet(&stss.Items[i]))
	}
	ms, err := c.Sets.AppsV1alpha1().MiniStatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("listing MiniStatefulSets: %w", err)
	}
	if err == nil {
		for i := range ms.Items {
			s, err := FromMiniStatefulSet(&ms.Items[i])
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Kind < b.Kind
	})
	return out, nil
}

// Pods lists the set's pods: those it controls and those named like its members
// (an orphan it may adopt, or a pod another owner holds a member's name with), by
// ordinal.
func (c Clients) Pods(ctx context.Context, set *Set) ([]corev1.Pod, error) {
	list, err := c.Kube.CoreV1().Pods(set.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of %s: %w", set.Ref(), err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		_, member := set.Ordinal(p.Name)
		if ref := metav1.GetControllerOf(&p); (ref != nil && ref.UID == set.UID) || member {
			out = append(out, p)
		}
	}
	SortPods(set, out)
	return out, nil
}

// SortPods orders a set's pods by ordinal, others last by name.
func SortPods(set *Set, pods []corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, aok := set.Ordinal(pods[i].Name)
		b, bok := set.Ordinal(pods[j].Name)
		if aok != bok {
			return aok
		}
		if aok && a != b {
			return a < b
		}
		return pods[i].Name < pods[j].Name
	})
}

// Claims reads the set's claims by name: every claim template at every ordinal
// that a pod has or the spec asks for.
func (c Clients) Claims(ctx context.Context, set *Set) (map[string]*corev1.PersistentVolumeClaim, error) {
	out := map[string]*corev1.PersistentVolumeClaim{}
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return out, nil
	}
	list, err := c.Kube.CoreV1().PersistentVolumeClaims(set.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the claims of %s: %w", set.Ref(), err)
	}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// Revisions lists the ControllerRevisions the set controls, oldest number first.
func (c Clients) Revisions(ctx context.Context, set *Set) ([]appsv1.ControllerRevision, error) {
	list, err := c.Kube.AppsV1().ControllerRevisions(set.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the revisions of %s: %w", set.Ref(), err)
	}
	var out []appsv1.ControllerRevision
	for _, r := range list.Items {
		if ref := metav1.GetControllerOf(&r); ref != nil && ref.UID == set.UID {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Revision != out[j].Revision {
			return out[i].Revision < out[j].Revision
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Events lists the events about the set, oldest first.
func (c Clients) Events(ctx context.Context, set *Set) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.name": set.Name, "involvedObject.kind": string(set.Kind)}.AsSelector().String()
	list, err := c.Kube.CoreV1().Events(set.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing the events of %s: %w", set.Ref(), err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		io := e.InvolvedObject
		if io.Name == set.Name && io.Kind == string(set.Kind) && (io.UID == "" || io.UID == set.UID) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { a, b := EventTime(&out[i]), EventTime(&out[j]); return a.Before(&b) })
	return out, nil
}

// EventTime is when an event last happened, whichever of its times is set.
func EventTime(e *corev1.Event) metav1.Time {
	switch {
	case !e.EventTime.IsZero():
		return metav1.NewTime(e.EventTime.Time)
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp
	}
	return e.CreationTimestamp
}
