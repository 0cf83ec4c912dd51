package compare

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// setUp makes the scenario's two namespaces, with the manifest's other documents
// and a pod trace in each, and the set each side will create.
func (r *Runner) setUp(ctx context.Context, run string, sc Scenario, res *ScenarioResult) ([2]*Side, error) {
	var sides [2]*Side
	var names [2]string
	for i, kind := range kinds {
		ns, err := r.createNamespace(ctx, run, sc.Name, kind)
		if err != nil {
			return sides, err
		}
		names[i] = ns
		res.Namespaces = append(res.Namespaces, ns)
	}
	r.progress("%s: running in namespaces %s (StatefulSet) and %s (MiniStatefulSet)", sc.Name, names[0], names[1])
	for _, ns := range names {
		if err := r.prepareNamespace(ctx, ns); err != nil {
			return sides, err
		}
	}
	set, err := r.scenarioSet(ctx, sc, names[0])
	if err != nil {
		return sides, err
	}
	for i, kind := range kinds {
		sides[i] = newSide(kind, names[i], r.Clients, r.Readiness, set)
		if err := trace.WatchPods(ctx, r.Clients.Kube, names[i], sides[i].trace); err != nil {
			return sides, fmt.Errorf("watching the pods of %s: %w", names[i], err)
		}
	}
	return sides, nil
}

func namespacePrefix(scenario, side string) string { return "cmp-" + scenario + "-" + side + "-" }

func (r *Runner) createNamespace(ctx context.Context, run, scenario string, kind workload.Kind) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   namespacePrefix(scenario, kind.Short()) + rand.String(randomSuffix),
		Labels: map[string]string{LabelRun: run, LabelScenario: scenario, LabelSide: kind.Short()},
	}}
	if _, err := r.Clients.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
		return "", fmt.Errorf("creating namespace %s: %w", ns.Name, err)
	}
	return ns.Name, nil
}

// prepareNamespace waits for the namespace's default ServiceAccount, without which
// the first pod creates are refused (and retried by one controller sooner than by
// the other), and creates the manifest's other documents.
func (r *Runner) prepareNamespace(ctx context.Context, ns string) error {
	deadline := time.Now().Add(setupWait)
	for {
		_, err := r.Clients.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s has no default ServiceAccount after %v: is the controller-manager's serviceaccount controller running? (%v)", ns, setupWait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, obj := range r.Manifest.Others {
		if err := createOther(ctx, r.Clients.Kube, ns, obj); err != nil {
			return err
		}
	}
	return nil
}

// scenarioSet is the set both sides create: the manifest's, changed by the
// scenario and the readiness, then defaulted by the API server through a dry-run
// create of the StatefulSet. The CRD does not default pod-template fields as the
// built-in API does, and a revision's name hashes the template as stored, so both
// sides get the defaulted template: the same template, the same revision names.
func (r *Runner) scenarioSet(ctx context.Context, sc Scenario, namespace string) (*appsv1.StatefulSet, error) {
	m := r.Manifest.Set
	sts := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: namespace, Labels: m.Labels, Annotations: m.Annotations},
		Spec:       *m.Spec.DeepCopy(),
	}
	if sc.Prepare != nil {
		sc.Prepare(&sts.Spec)
	}
	r.Readiness.Prepare(&sts.Spec)
	got, err := r.Clients.Kube.AppsV1().StatefulSets(namespace).Create(ctx, sts,
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("the API server refuses the set (dry-run create of the StatefulSet): %w", err)
	}
	sts.Spec = got.Spec
	return sts, nil
}

// cleanUp deletes the scenario's namespaces, unless they are to be kept.
func (r *Runner) cleanUp(sc Scenario, namespaces []string) {
	if len(namespaces) == 0 {
		return
	}
	if r.Keep {
		r.progress("%s: kept namespaces %v", sc.Name, namespaces)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupWait)
	defer cancel()
	for _, ns := range namespaces {
		if err := r.Clients.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			r.progress("%s: could not delete namespace %s: %v (kubectl delete ns %s)", sc.Name, ns, err, ns)
		}
	}
}
