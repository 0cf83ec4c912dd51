// Package migrate moves a running set between the built-in StatefulSet controller
// and MiniStatefulSet without restarting a pod: it deletes the old owner with
// propagationPolicy Orphan, so its pods, claims and ControllerRevisions stay, and
// creates the other kind from the live, defaulted spec. The new controller adopts
// the orphans, finds among them the revision of its template (both controllers
// compute the same revision data and name), and has nothing to update.
package migrate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Options shape a migration.
type Options struct {
	// To is the kind to move to.
	To workload.Kind
	// Timeout bounds each wait: the old owner gone, the new one settled.
	Timeout time.Duration
	// AllowUnsettled moves a set in the middle of a rollout or with un-Ready pods.
	AllowUnsettled bool
	// AllowRollout moves a set even when the new owner's template would name another
	// revision than the pods carry, which replaces every pod.
	AllowRollout bool
	// BackupDir is where the old object is saved before it is deleted.
	BackupDir string
	// Progress hears each step in words.
	Progress func(format string, args ...any)
	// Poll is how often a wait looks again.
	Poll time.Duration
}

// Report is what a migration found and kept.
type Report struct {
	From, To workload.Ref
	Backup   string `json:"backup"`
	// Revision is the revision name the pods carry, before and after.
	Revision string `json:"revision"`
	Pods     []Kept `json:"pods"`
	Claims   []Kept `json:"claims"`
	// Restarted and Replaced count pods whose containers restarted or that were
	// replaced by a new pod of the same name: 0 and 0 for a migration that kept
	// everything.
	Restarted int `json:"restarted"`
	Replaced  int `json:"replaced"`
	// Took is how long the move took, old owner deleted to new one settled.
	Took time.Duration `json:"took"`
}

// Kept is one object before and after: same UID means it was kept.
type Kept struct {
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
	UIDAfter  types.UID `json:"uidAfter"`
	Restarts  int32     `json:"restarts"`
	Restarts2 int32     `json:"restartsAfter"`
}

// state is what the set owns at one moment.
type state struct {
	pods   map[string]corev1.Pod
	claims map[string]corev1.PersistentVolumeClaim
}

// Run moves the set ref names to opts.To.
func Run(ctx context.Context, c workload.Clients, ref workload.Ref, opts Options) (*Report, error) {
	if opts.To == ref.Kind {
		return nil, fmt.Errorf("%s is already a %s", ref, ref.Kind)
	}
	if opts.Poll == 0 {
		opts.Poll = 100 * time.Millisecond
	}
	say := opts.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	target := workload.Ref{Kind: opts.To, Namespace: ref.Namespace, Name: ref.Name}
	set, err := c.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, c, set, target, opts); err != nil {
		return nil, err
	}
	before, err := snapshot(ctx, c, set)
	if err != nil {
		return nil, err
	}
	obj, err := newObject(set, opts.To)
	if err != nil {
		return nil, err
	}
	created, err := createTarget(ctx, c, obj, true)
	if err != nil {
		return nil, fmt.Errorf("the API server refuses %s (dry run; nothing was changed): %w", target, err)
	}
	revision, err := checkRevision(ctx, c, set, created, before, opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{From: ref, To: target, Revision: revision}
	if rep.Backup, err = backup(set, opts.BackupDir); err != nil {
		return nil, err
	}
	say("saved %s to %s", ref, rep.Backup)

	start := time.Now()
	say("deleting %s with propagationPolicy Orphan: its pods, claims and revisions stay", ref)
	if err := orphanDelete(ctx, c, set); err != nil {
		return nil, err
	}
	if err := waitOrphaned(ctx, c, set, opts); err != nil {
		return nil, err
	}
	say("%s is gone; its %d pods run on without an owner", ref, len(before.pods))
	if _, err := createTarget(ctx, c, obj, false); err != nil {
		return nil, fmt.Errorf("creating %s failed after %s was deleted (its pods keep running; create it again from %s): %w",
			target, ref, rep.Backup, err)
	}
	say("created %s from the live spec of %s", target, ref)
	newSet, err := waitAdopted(ctx, c, target, before, opts)
	if err != nil {
		return nil, err
	}
	after, err := snapshot(ctx, c, newSet)
	if err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	rep.compare(before, after)
	say("%s adopted %d pods and %d claims; revision %s; %d restarted, %d replaced", target, len(rep.Pods), len(rep.Claims), rep.Revision, rep.Restarted, rep.Replaced)
	return rep, nil
}

// preflight refuses what would not move cleanly, before anything is changed.
func preflight(ctx context.Context, c workload.Clients, set *workload.Set, target workload.Ref, opts Options) error {
	if set.DeletionTimestamp != nil {
		return fmt.Errorf("%s is being deleted", set.Ref())
	}
	switch _, err := c.Get(ctx, target); {
	case err == nil:
		return fmt.Errorf("%s already exists: two controllers would fight over the pods", target)
	case !isNotFound(err):
		return err
	}
	if fields := set.Beyond.Fields(); target.Kind == workload.StatefulSet && len(fields) > 0 {
		// --allow-unsettled does not lift this: the StatefulSet would silently act
		// otherwise (run pods at reserved ordinals, wait for a broken pod).
		return fmt.Errorf("%s uses %s, which an apps/v1 StatefulSet has no field for: remove it from the spec first, or keep the set a MiniStatefulSet",
			set.Ref(), strings.Join(fields, " and "))
	}
	if opts.AllowUnsettled {
		return nil
	}
	st := set.Status
	switch {
	case st.ObservedGeneration < set.Generation:
		return fmt.Errorf("%s's controller has not yet acted on its latest spec (generation %d, observed %d); wait, or pass --allow-unsettled", set.Ref(), set.Generation, st.ObservedGeneration)
	case st.CurrentRevision != st.UpdateRevision || int(st.UpdatedReplicas) != set.Replicas():
		return fmt.Errorf("%s is in the middle of a rollout (%d of %d pods updated, current %s, update %s): wait for 'kubectl msts rollout status %s', or pass --allow-unsettled",
			set.Ref(), st.UpdatedReplicas, set.Replicas(), st.CurrentRevision, st.UpdateRevision, set.Ref())
	case int(st.ReadyReplicas) != set.Replicas() || int(st.Replicas) != set.Replicas():
		return fmt.Errorf("%s is not settled (%d of %d pods Ready, %d exist): wait, or pass --allow-unsettled", set.Ref(), st.ReadyReplicas, set.Replicas(), st.Replicas)
	}
	return nil
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// newObject builds the other kind from the live spec: the same metadata a user
// gave (not the server's bookkeeping) and the spec as the API server defaulted it.
func newObject(set *workload.Set, to workload.Kind) (any, error) {
	meta := metav1.ObjectMeta{Name: set.Name, Namespace: set.Namespace, Labels: set.Labels, Annotations: map[string]string{}}
	for k, v := range set.Annotations {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			meta.Annotations[k] = v
		}
	}
	if to == workload.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: meta, Spec: *set.Spec.DeepCopy()}, nil
	}
	spec, err := set.MiniStatefulSetSpec()
	if err != nil {
		return nil, err
	}
	return &appsv1alpha1.MiniStatefulSet{ObjectMeta: meta, Spec: spec}, nil
}

// createTarget creates the new object (a server dry run when dryRun) and returns it
// as the API server stored it.
func createTarget(ctx context.Context, c workload.Clients, obj any, dryRun bool) (*workload.Set, error) {
	opts := metav1.CreateOptions{FieldManager: "kubectl-msts"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	switch o := obj.(type) {
	case *appsv1.StatefulSet:
		got, err := c.Kube.AppsV1().StatefulSets(o.Namespace).Create(ctx, o.DeepCopy(), opts)
		if err != nil {
			return nil, err
		}
		return workload.FromStatefulSet(got), nil
	case *appsv1alpha1.MiniStatefulSet:
		got, err := c.Sets.AppsV1alpha1().MiniStatefulSets(o.Namespace).Create(ctx, o.DeepCopy(), opts)
		if err != nil {
			return nil, err
		}
		return workload.FromMiniStatefulSet(got)
	}
	return nil, fmt.Errorf("cannot create %T", obj)
}

// orphanDelete deletes the set, leaving what it owns, and only this very object.
func orphanDelete(ctx context.Context, c workload.Clients, set *workload.Set) error {
	orphan := metav1.DeletePropagationOrphan
	opts := metav1.DeleteOptions{PropagationPolicy: &orphan, Preconditions: &metav1.Preconditions{UID: &set.UID}}
	var err error
	if set.Kind == workload.StatefulSet {
		err = c.Kube.AppsV1().StatefulSets(set.Namespace).Delete(ctx, set.Name, opts)
	} else {
		err = c.Sets.AppsV1alpha1().MiniStatefulSets(set.Namespace).Delete(ctx, set.Name, opts)
	}
	if err != nil {
		return fmt.Errorf("deleting %s with propagationPolicy Orphan: %w", set.Ref(), err)
	}
	return nil
}

// waitOrphaned waits until the old object is gone; the garbage collector removes
// its ownerReferences from pods, claims and revisions before it lets it go.
func waitOrphaned(ctx context.Context, c workload.Clients, set *workload.Set, opts Options) error {
	err := wait.PollUntilContextTimeout(ctx, opts.Poll, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		got, err := c.Get(ctx, set.Ref())
		if err != nil {
			return isNotFound(err), nil
		}
		return got.UID != set.UID, nil
	})
	if err != nil {
		return fmt.Errorf("%s was not gone within %v (the garbage collector orphans its pods first: is kube-controller-manager running?): %w", set.Ref(), opts.Timeout, err)
	}
	return nil
}

// waitAdopted waits until the new owner controls every pod that was there and its
// status says every replica is Ready at one revision.
func waitAdopted(ctx context.Context, c workload.Clients, ref workload.Ref, before state, opts Options) (*workload.Set, error) {
	var last string
	var set *workload.Set
	err := wait.PollUntilContextTimeout(ctx, opts.Poll, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		s, err := c.Get(ctx, ref)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		set = s
		pods, err := c.Pods(ctx, s)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		owned := 0
		for _, p := range pods {
			if r := metav1.GetControllerOf(&p); r != nil && r.UID == s.UID {
				owned++
			}
		}
		st := s.Status
		last = fmt.Sprintf("%d of %d pods adopted; status: observedGeneration %d of %d, %d Ready, %d updated, current %q, update %q",
			owned, len(before.pods), st.ObservedGeneration, s.Generation, st.ReadyReplicas, st.UpdatedReplicas, st.CurrentRevision, st.UpdateRevision)
		return owned >= len(before.pods) && st.ObservedGeneration >= s.Generation && int(st.ReadyReplicas) == s.Replicas() &&
			int(st.UpdatedReplicas) == s.Replicas() && st.CurrentRevision == st.UpdateRevision && st.UpdateRevision != "", nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s did not settle within %v (is its controller running?): %s", ref, opts.Timeout, last)
	}
	return set, nil
}

func snapshot(ctx context.Context, c workload.Clients, set *workload.Set) (state, error) {
	s := state{pods: map[string]corev1.Pod{}, claims: map[string]corev1.PersistentVolumeClaim{}}
	pods, err := c.Pods(ctx, set)
	if err != nil {
		return s, err
	}
	for _, p := range pods {
		if r := metav1.GetControllerOf(&p); r != nil && r.UID == set.UID {
			s.pods[p.Name] = p
		}
	}
	claims, err := c.Claims(ctx, set)
	if err != nil {
		return s, err
	}
	for name := range s.pods {
		ord, _ := set.Ordinal(name)
		for _, t := range set.Spec.VolumeClaimTemplates {
			if cl := claims[set.ClaimName(t.Name, ord)]; cl != nil {
				s.claims[cl.Name] = *cl
			}
		}
	}
	return s, nil
}

func (r *Report) compare(before, after state) {
	for _, name := range sortedKeys(before.pods) {
		b, a := before.pods[name], after.pods[name]
		k := Kept{Name: name, UID: b.UID, UIDAfter: a.UID, Restarts: restarts(&b), Restarts2: restarts(&a)}
		if a.UID != b.UID {
			r.Replaced++
		} else if k.Restarts2 > k.Restarts {
			r.Restarted++
		}
		r.Pods = append(r.Pods, k)
	}
	for _, name := range sortedKeys(before.claims) {
		b, a := before.claims[name], after.claims[name]
		r.Claims = append(r.Claims, Kept{Name: name, UID: b.UID, UIDAfter: a.UID})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// backup saves the old object as YAML before it is deleted.
func backup(set *workload.Set, dir string) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	obj, err := newObject(set, set.Kind)
	if err != nil {
		return "", err
	}
	var doc any = obj
	switch o := obj.(type) {
	case *appsv1.StatefulSet:
		o.APIVersion, o.Kind = "apps/v1", "StatefulSet"
	case *appsv1alpha1.MiniStatefulSet:
		o.APIVersion, o.Kind = appsv1alpha1.SchemeGroupVersion.String(), appsv1alpha1.Kind
	}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.yaml", set.Namespace, set.Kind.Short(), set.Name))
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", fmt.Errorf("saving %s before deleting it: %w", set.Ref(), err)
	}
	return path, nil
}
