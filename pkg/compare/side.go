package compare

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// fieldManager names the runner's writes.
const fieldManager = "kubectl-msts-compare"

// Side is one kind's half of a scenario: its namespace, its set and its pod trace.
type Side struct {
	Kind      workload.Kind
	Namespace string
	clients   workload.Clients
	readiness Readiness
	// set is what Create creates: the prepared StatefulSet, converted for a MiniStatefulSet.
	set     *appsv1.StatefulSet
	trace   *trace.Recorder
	claimed bool
}

func newSide(kind workload.Kind, namespace string, c workload.Clients, r Readiness, set *appsv1.StatefulSet) *Side {
	return &Side{Kind: kind, Namespace: namespace, clients: c, readiness: r, set: set,
		trace: trace.NewRecorder(nil), claimed: len(set.Spec.VolumeClaimTemplates) > 0}
}

func (s *Side) name() string { return s.set.Name }

// ref names the side's set.
func (s *Side) ref() workload.Ref {
	return workload.Ref{Kind: s.Kind, Namespace: s.Namespace, Name: s.name()}
}

// Create creates the set: the StatefulSet as it is, or the MiniStatefulSet made
// from it by changing apiVersion and kind.
func (s *Side) Create(ctx context.Context) error {
	sts := s.set.DeepCopy()
	sts.Namespace = s.Namespace
	return s.clients.Create(ctx, s.Kind, sts, fieldManager)
}

// Update changes the set's spec, in apps/v1 terms for either kind.
func (s *Side) Update(ctx context.Context, mutate func(*appsv1.StatefulSetSpec)) error {
	return s.clients.UpdateSpec(ctx, s.ref(), fieldManager, mutate)
}

// Scale sets spec.replicas.
func (s *Side) Scale(ctx context.Context, replicas int) error {
	return s.clients.Scale(ctx, s.ref(), replicas, fieldManager)
}

// Delete deletes the set and leaves its pods to the garbage collector.
func (s *Side) Delete(ctx context.Context) error { return s.clients.Delete(ctx, s.ref()) }

// DeletePod deletes one pod, as a person would.
func (s *Side) DeletePod(ctx context.Context, pod string) error {
	return s.clients.Kube.CoreV1().Pods(s.Namespace).Delete(ctx, pod, metav1.DeleteOptions{})
}

// Hold, Release and Fail steer a pod's readiness or phase.
func (s *Side) Hold(ctx context.Context, pod string) error {
	return s.readiness.Hold(ctx, s.clients.Kube, s.Namespace, pod)
}

func (s *Side) Release(ctx context.Context, pod string) error {
	return s.readiness.Release(ctx, s.clients.Kube, s.Namespace, pod)
}

func (s *Side) Fail(ctx context.Context, pod string) error {
	return s.readiness.Fail(ctx, s.clients.Kube, s.Namespace, pod)
}

// snapshot reads the set, the namespace's pods and its claims.
func (s *Side) snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	set, err := s.getSet(ctx)
	if err != nil {
		return snap, err
	}
	snap.Set = set
	pods, err := s.clients.Kube.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return snap, fmt.Errorf("listing pods: %w", err)
	}
	snap.Pods = pods.Items
	sortPods(s.name(), snap.Pods)
	if s.claimed {
		claims, err := s.clients.Kube.CoreV1().PersistentVolumeClaims(s.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return snap, fmt.Errorf("listing claims: %w", err)
		}
		snap.Claims = claims.Items
	}
	return snap, nil
}

// getSet reads the set, nil once it is gone.
func (s *Side) getSet(ctx context.Context) (*workload.Set, error) {
	if s.Kind == workload.StatefulSet {
		sts, err := s.clients.Kube.AppsV1().StatefulSets(s.Namespace).Get(ctx, s.name(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the StatefulSet: %w", err)
		}
		return workload.FromStatefulSet(sts), nil
	}
	m, err := s.clients.Sets.AppsV1alpha1().MiniStatefulSets(s.Namespace).Get(ctx, s.name(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the MiniStatefulSet: %w", err)
	}
	return workload.FromMiniStatefulSet(m)
}
