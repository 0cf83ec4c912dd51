package compare

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Readiness is how the runner decides whether a pod is Ready, or Failed, on the
// cluster it runs against: a kubelet does not let a client set either directly.
type Readiness interface {
	Name() string
	// Check says, before anything is created, whether this way works on the cluster.
	Check(ctx context.Context, kube kubernetes.Interface) error
	// Prepare changes the pod template so the runner can steer its pods.
	Prepare(spec *appsv1.StatefulSetSpec)
	Hold(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error
	Release(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error
	// CanFail reports whether Fail works here.
	CanFail() bool
	// PullsImages reports nodes that pull the images pods name (real kubelets), so
	// an image change must name an image that exists.
	PullsImages() bool
	Fail(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error
}

// Kwok steers pods through the local cluster's kwok stages (test/cluster/stages.yaml),
// which read annotations where a kubelet would run probes.
type Kwok struct{}

func (Kwok) Name() string { return "kwok" }

// Check refuses a cluster whose nodes are not kwok's: there the stage annotations
// would do nothing and every hold would time out.
func (Kwok) Check(ctx context.Context, kube kubernetes.Interface) error {
	ok, err := workload.OnKwokNode(ctx, kube, &corev1.Pod{})
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the cluster's nodes are not all kwok nodes, so the kwok stage annotations would not hold or fail a pod: " +
			"on a cluster with real kubelets (kind, ...) use --readiness exec")
	}
	return nil
}

func (Kwok) Prepare(*appsv1.StatefulSetSpec) {}

func (Kwok) Hold(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return workload.Hold(ctx, kube, namespace, pod)
}

func (Kwok) Release(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return workload.Release(ctx, kube, namespace, pod)
}

func (Kwok) CanFail() bool { return true }

func (Kwok) PullsImages() bool { return false }

func (Kwok) Fail(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return workload.Fail(ctx, kube, namespace, pod)
}
