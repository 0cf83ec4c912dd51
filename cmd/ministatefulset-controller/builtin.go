package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
)

// The --manage values.
const (
	manageMiniStatefulSets = "ministatefulsets"
	manageStatefulSets     = "statefulsets"
)

// probeLabel marks the probe StatefulSet and its selector.
const probeLabel = "ministatefulset.dev/builtin-probe"

// errBuiltinRunning is the refusal to drive StatefulSets beside another controller.
type errBuiltinRunning struct {
	namespace, name, manager string
	after                    time.Duration
}

func (e *errBuiltinRunning) Error() string {
	who := "another StatefulSet controller"
	if e.manager != "" {
		who = fmt.Sprintf("another StatefulSet controller (%q)", e.manager)
	}
	return fmt.Sprintf("--manage=statefulsets: %s is running: it wrote the status of the probe StatefulSet %s/%s %v after it was created. "+
		"Two controllers would fight over every StatefulSet's pods. Disable kube-controller-manager's own: "+
		"start it with --controllers=*,-statefulset-controller (on kind, add that flag to kube-controller-manager's "+
		"extraArgs in the cluster config), and stop any other drop-in controller, then start this again",
		who, e.namespace, e.name, e.after.Round(time.Millisecond))
}

// refuseBesideBuiltin creates a StatefulSet of 0 replicas in namespace and waits up
// to timeout for somebody to write its status: kube-controller-manager's
// StatefulSet controller writes observedGeneration within milliseconds of a
// create, and nobody else does, since this controller has not started yet. The
// probe is deleted either way. Its waker is the poll, bounded by timeout.
func refuseBesideBuiltin(ctx context.Context, kube kubernetes.Interface, namespace string, timeout time.Duration) error {
	logger := klog.FromContext(ctx)
	name := "ministatefulset-probe-" + rand.String(5)
	labels := map[string]string{probeLabel: name}
	var none int32
	probe := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &none,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	created, err := kube.AppsV1().StatefulSets(namespace).Create(ctx, probe, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return fmt.Errorf("--manage=statefulsets: creating the probe StatefulSet %s/%s, which tells whether kube-controller-manager's StatefulSet controller runs: %w (give --builtin-probe-namespace a namespace where this controller may create StatefulSets, or --builtin-probe-timeout=0 to skip the check)", namespace, name, err)
	}
	start := time.Now()
	defer func() {
		// Not the caller's context: the probe goes even when the start is aborted.
		delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := kube.AppsV1().StatefulSets(namespace).Delete(delCtx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &created.UID}}); err != nil {
			logger.Error(err, "Deleting the probe StatefulSet", "statefulset", klog.KObj(created))
		}
	}()
	logger.Info("Checking that no other StatefulSet controller runs", "probe", klog.KObj(created), "timeout", timeout)
	var written *appsv1.StatefulSet
	// Each read is made on the caller's context, not on the poll's: one made under
	// the poll's deadline can fail at it ("client rate limiter Wait returned an
	// error: rate: Wait(n=1) would exceed context deadline"), which is the end of
	// the wait, not a failure to read.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		got, err := kube.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if got.Status.ObservedGeneration > 0 {
			written = got
			return true, nil
		}
		return false, nil
	})
	if written != nil {
		return &errBuiltinRunning{namespace: namespace, name: name, manager: statusManager(written), after: time.Since(start)}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !wait.Interrupted(err) {
		return fmt.Errorf("--manage=statefulsets: reading the probe StatefulSet %s/%s: %w", namespace, name, err)
	}
	logger.Info("No other StatefulSet controller wrote the probe's status", "waited", time.Since(start).Round(time.Millisecond))
	return nil
}

// statusManager names the field manager that wrote an object's status.
func statusManager(obj metav1.Object) string {
	for _, f := range obj.GetManagedFields() {
		if f.Subresource == "status" {
			return f.Manager
		}
	}
	return ""
}
