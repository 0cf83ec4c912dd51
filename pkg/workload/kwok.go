package workload

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Annotations the local cluster's kwok stages read (test/cluster/stages.yaml): they
// stand in for what a kubelet and a readiness probe would decide.
const (
	// AnnotationHoldUnready "true" keeps a pod Running but not Ready; any other
	// value, or none, lets it become Ready.
	AnnotationHoldUnready = "msts.test/hold-unready"
	// AnnotationFail "true" makes the pod's phase Failed (its container exited 1).
	AnnotationFail = "msts.test/fail"
	// AnnotationDeleteDelay is how long a deleted pod lingers before it is gone
	// ("3s"; default 1s).
	AnnotationDeleteDelay = "msts.test/delete-delay"
	// AnnotationReadyDelay is how long a new pod takes to become Ready ("2s"),
	// overriding the cluster's default.
	AnnotationReadyDelay = "msts.test/ready-delay"
)

// kwokNodeAnnotation marks a node kwok fakes.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// Hold keeps a pod un-Ready (a Ready pod turns un-Ready), as a failing readiness
// probe would.
func Hold(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return annotatePod(ctx, kube, namespace, pod, map[string]*string{AnnotationHoldUnready: ptrTo("true")})
}

// Release lets a held pod become Ready.
func Release(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return annotatePod(ctx, kube, namespace, pod, map[string]*string{AnnotationHoldUnready: nil})
}

// Fail makes a pod's phase Failed, as a container that exits under restartPolicy
// Never would, or a node that evicts it.
func Fail(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return annotatePod(ctx, kube, namespace, pod, map[string]*string{AnnotationFail: ptrTo("true")})
}

func ptrTo(s string) *string { return &s }

// annotatePod sets (or, for nil, removes) annotations with a merge patch.
func annotatePod(ctx context.Context, kube kubernetes.Interface, namespace, name string, annotations map[string]*string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().Pods(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-msts"})
	if err != nil {
		return fmt.Errorf("annotating pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

// OnKwokNode reports whether the pod runs (or will run) where kwok's stages read
// its annotations: a node kwok fakes. A pod not yet scheduled counts as one when
// every node is kwok's.
func OnKwokNode(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod) (bool, error) {
	if pod.Spec.NodeName != "" {
		node, err := kube.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("reading node %s: %w", pod.Spec.NodeName, err)
		}
		return node.Annotations[kwokNodeAnnotation] != "", nil
	}
	nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("listing nodes: %w", err)
	}
	for _, n := range nodes.Items {
		if n.Annotations[kwokNodeAnnotation] == "" {
			return false, nil
		}
	}
	return len(nodes.Items) > 0, nil
}
