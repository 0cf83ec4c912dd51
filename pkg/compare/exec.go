package compare

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// UnreadyFile is the file whose presence fails the readiness probe Exec adds.
const UnreadyFile = "/tmp/msts-unready"

// Executor runs a command in a container through the pods/exec subresource.
type Executor func(ctx context.Context, namespace, pod, container string, command []string) error

// Exec steers readiness on clusters with real kubelets: the first container gets a
// readiness probe that fails while UnreadyFile exists, and a pod is held or
// released by creating or removing that file. A kubelet cannot be made to report a
// pod Failed this way, so the failed-pod scenario does not run.
type Exec struct {
	Run Executor
}

func (Exec) Name() string { return "exec" }

func (Exec) Check(context.Context, kubernetes.Interface) error { return nil }

// Prepare replaces the first container's readiness probe with one the runner
// controls; probing every second, one failure or success flips it.
func (Exec) Prepare(spec *appsv1.StatefulSetSpec) { InjectProbe(&spec.Template.Spec) }

// InjectProbe gives the pod's first container the readiness probe Exec steers.
func InjectProbe(pod *corev1.PodSpec) {
	if len(pod.Containers) == 0 {
		return
	}
	pod.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"sh", "-c", "test ! -e " + UnreadyFile},
		}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
		SuccessThreshold: 1,
		TimeoutSeconds:   1,
	}
}

func (e Exec) Hold(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return e.inFirstContainer(ctx, kube, namespace, pod, []string{"touch", UnreadyFile})
}

func (e Exec) Release(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error {
	return e.inFirstContainer(ctx, kube, namespace, pod, []string{"rm", "-f", UnreadyFile})
}

func (Exec) CanFail() bool { return false }

func (Exec) PullsImages() bool { return true }

func (Exec) Fail(context.Context, kubernetes.Interface, string, string) error {
	return errors.New("with --readiness exec a pod cannot be made Failed: that needs the kwok stages of the local cluster")
}

// inFirstContainer runs a command in the container the probe was added to.
func (e Exec) inFirstContainer(ctx context.Context, kube kubernetes.Interface, namespace, pod string, command []string) error {
	p, err := kube.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading pod %s/%s: %w", namespace, pod, err)
	}
	if len(p.Spec.Containers) == 0 {
		return fmt.Errorf("pod %s/%s has no containers", namespace, pod)
	}
	if err := e.Run(ctx, namespace, pod, p.Spec.Containers[0].Name, command); err != nil {
		return fmt.Errorf("running %v in %s/%s: %w", command, namespace, pod, err)
	}
	return nil
}
