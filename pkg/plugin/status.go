package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newStatusCommand)

// maxMissingRows bounds the rows of ordinals without a pod: a set of 2^31 replicas
// prints a handful and a count, not two billion lines.
const maxMissingRows = 5

func newStatusCommand(o *Options) *cobra.Command {
	var output string
	var all, settle bool
	timeout := time.Minute
	cmd := &cobra.Command{
		Use:   "status [NAME | msts/NAME | sts/NAME]",
		Short: "One line per ordinal, then what the controller is waiting for and how far the rollout is",
		Long: `status shows a set one ordinal at a time: the pod, its phase, whether it is Ready and
available, its revision, its claims and the volumes they are bound to, its age and
restarts. Then it says in words what the controller waits for, and how far a rollout is.

With --wait it first waits until the set is settled: a Ready pod for every ordinal,
none terminating, none outside the ordinals, a status that has caught up with the
spec, and every pod the update strategy would replace at the update revision.

Without NAME it lists every set of both kinds in the namespace (-A: in all namespaces).`,
		Example: `  kubectl msts status web
  kubectl msts status sts/web -o yaml
  kubectl msts status web --wait --timeout 2m
  kubectl msts status -A`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return o.listSets(cmd.Context(), all, output)
			}
			c, ref, err := o.target(args[0])
			if err != nil {
				return err
			}
			rep, err := buildStatus(cmd.Context(), c, ref, o.Now())
			if err == nil && settle {
				rep, err = o.waitSettled(cmd.Context(), c, ref, timeout)
			}
			if err != nil {
				return err
			}
			if output != "" {
				return printStructured(o.Out, output, rep)
			}
			return rep.print(o.Out)
		},
	}
	addOutputFlag(cmd, &output)
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Without NAME: list the sets of every namespace")
	cmd.Flags().BoolVar(&settle, "wait", false, "Wait until the set is settled, then show it")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "How long --wait waits before it gives up with an error")
	return cmd
}

// StatusReport is what `status NAME` shows; -o json|yaml prints it as it is.
type StatusReport struct {
	Kind      workload.Kind `json:"kind"`
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	// Policy, Strategy and Partition are how the set manages and updates its pods.
	Policy    string `json:"podManagementPolicy"`
	Strategy  string `json:"updateStrategy"`
	Partition int    `json:"partition"`
	Replicas  int    `json:"replicas"`
	Start     int    `json:"start"`
	// MinReadySeconds is how long a pod must be Ready to count as available.
	MinReadySeconds int32        `json:"minReadySeconds,omitempty"`
	Ordinals        []OrdinalRow `json:"ordinals"`
	// MissingOmitted counts the ordinals without a pod that are not listed.
	MissingOmitted int `json:"missingOmitted,omitempty"`
	// Waiting says in words what the controller waits for; WaitingSource says whose
	// words they are (the MiniStatefulSet's Waiting condition, or MiniStatefulSet's
	// rules applied to a StatefulSet's state).
	Waiting       string  `json:"waiting"`
	WaitingSource string  `json:"waitingSource"`
	Rollout       Rollout `json:"rollout"`
	// Beyond apps/v1 (MiniStatefulSet only): the reserved ordinals ("1, 3-5"), the
	// unhealthy pod replacement policy when set, and claims growing to a raised
	// template request.
	Reserved                string                           `json:"reservedOrdinals,omitempty"`
	UnhealthyPodReplacement string                           `json:"unhealthyPodReplacement,omitempty"`
	ClaimStorage            *appsv1alpha1.ClaimStorageStatus `json:"claimStorage,omitempty"`
	// observed is true once the status has caught up with the spec and the pods.
	observed bool
}

// OrdinalRow is one ordinal: its pod, or none.
type OrdinalRow struct {
	Ordinal   int    `json:"ordinal"`
	Pod       string `json:"pod"`
	Exists    bool   `json:"exists"`
	Phase     string `json:"phase,omitempty"`
	Ready     bool   `json:"ready"`
	Available bool   `json:"available"`
	// Revision is the pod's controller-revision-hash; Which says whether that is the
	// current or the update revision, or another.
	Revision string      `json:"revision,omitempty"`
	Which    string      `json:"which,omitempty"`
	Claims   []ClaimInfo `json:"claims,omitempty"`
	Age      string      `json:"age,omitempty"`
	Restarts int32       `json:"restarts"`
	// Note marks what is odd: condemned (outside the ordinals), another owner.
	Note string `json:"note,omitempty"`
}

// ClaimInfo is one claim of an ordinal and where it is bound.
type ClaimInfo struct {
	Name   string `json:"name"`
	Phase  string `json:"phase"`
	Volume string `json:"volume,omitempty"`
}

// Rollout is how far the set is between its current and update revisions.
type Rollout struct {
	Updated         int    `json:"updated"`
	Total           int    `json:"total"`
	Partition       int    `json:"partition"`
	CurrentRevision string `json:"currentRevision"`
	UpdateRevision  string `json:"updateRevision"`
	Summary         string `json:"summary"`
}

func buildStatus(ctx context.Context, c workload.Clients, ref workload.Ref, now time.Time) (*StatusReport, error) {
	set, err := c.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	pods, err := c.Pods(ctx, set)
	if err != nil {
		return nil, err
	}
	claims, err := c.Claims(ctx, set)
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{
		Kind: set.Kind, Namespace: set.Namespace, Name: set.Name,
		Policy: string(set.Spec.PodManagementPolicy), Strategy: string(set.Spec.UpdateStrategy.Type),
		Partition: set.Partition(), Replicas: set.Replicas(), Start: set.Start(), MinReadySeconds: set.Spec.MinReadySeconds,
	}
	if rep.Policy == "" {
		rep.Policy = string(appsv1.OrderedReadyPodManagement)
	}
	if rep.Strategy == "" {
		rep.Strategy = string(appsv1.RollingUpdateStatefulSetStrategyType)
	}
	rep.Ordinals, rep.MissingOmitted = ordinalRows(set, pods, claims, now)
	rep.Waiting, rep.WaitingSource, err = waitingFor(ctx, c, set, pods, claims, now)
	if err != nil {
		return nil, err
	}
	rep.Rollout = rolloutOf(set, pods)
	rep.Reserved, rep.UnhealthyPodReplacement, rep.ClaimStorage = set.Beyond.Reserved.String(), set.Beyond.UnhealthyPodReplacement, set.Beyond.ClaimStorage
	rep.observed = statusCaughtUp(set)
	return rep, nil
}

// waitingFor says what the controller waits for: a MiniStatefulSet's own Waiting
// condition, or for a StatefulSet (which has none) what MiniStatefulSet's rules make
// of its state.
func waitingFor(ctx context.Context, c workload.Clients, set *workload.Set, pods []corev1.Pod,
	claims map[string]*corev1.PersistentVolumeClaim, now time.Time) (string, string, error) {
	if set.Kind == workload.MiniStatefulSet {
		switch {
		case set.Status.ObservedGeneration < set.Generation:
			return fmt.Sprintf("the controller has not yet seen generation %d of the spec (it has seen %d): is it running?",
				set.Generation, set.Status.ObservedGeneration), "status", nil
		case set.Waiting == nil:
			return "the controller has not reported yet: is it running?", "status", nil
		}
		return set.Waiting.Message, "the MiniStatefulSet's Waiting condition", nil
	}
	spec, err := set.MiniStatefulSetSpec()
	if err != nil {
		return "", "", err
	}
	as := &appsv1alpha1.MiniStatefulSet{ObjectMeta: set.ObjectMeta, Spec: spec}
	as.Status.CurrentRevision, as.Status.UpdateRevision = set.Status.CurrentRevision, set.Status.UpdateRevision
	as.Status.CollisionCount = set.Status.CollisionCount
	revs, err := c.Revisions(ctx, set)
	if err != nil {
		return "", "", err
	}
	var own []*corev1.Pod
	for i := range pods {
		if ref := metav1.GetControllerOf(&pods[i]); ref != nil && ref.UID == set.UID {
			own = append(own, &pods[i])
		}
	}
	revPtrs := make([]*appsv1.ControllerRevision, len(revs))
	for i := range revs {
		revPtrs[i] = &revs[i]
	}
	ex := controller.Explain(as, own, claims, revPtrs, now)
	return ex.Message, "MiniStatefulSet's rules applied to this StatefulSet's pods: a StatefulSet reports no such condition", nil
}

func rolloutOf(set *workload.Set, pods []corev1.Pod) Rollout {
	r := Rollout{Total: set.Replicas(), Partition: set.Partition(), CurrentRevision: set.Status.CurrentRevision, UpdateRevision: set.Status.UpdateRevision}
	for i := range pods {
		ref := metav1.GetControllerOf(&pods[i])
		if ord, ok := set.Ordinal(pods[i].Name); ok && set.InUse(ord) && ref != nil && ref.UID == set.UID &&
			pods[i].Labels[appsv1.ControllerRevisionHashLabelKey] == set.Status.UpdateRevision && pods[i].DeletionTimestamp == nil {
			r.Updated++
		}
	}
	switch {
	case set.OnDelete():
		r.Summary = fmt.Sprintf("%d of %d pods at the update revision %s (OnDelete: a pod is replaced only when you delete it)", r.Updated, r.Total, r.UpdateRevision)
	case r.CurrentRevision == r.UpdateRevision && r.Updated == r.Total:
		r.Summary = fmt.Sprintf("complete: all %d pods at revision %s", r.Total, r.UpdateRevision)
	case r.CurrentRevision == r.UpdateRevision:
		r.Summary = fmt.Sprintf("no update under way: every pod is made from revision %s (%d of %d exist)", r.UpdateRevision, r.Updated, r.Total)
	case r.Partition > 0:
		r.Summary = fmt.Sprintf("%d of %d pods at the update revision %s; partition %d keeps ordinals below %d at %s",
			r.Updated, r.Total, r.UpdateRevision, r.Partition, set.Start()+r.Partition, r.CurrentRevision)
	default:
		r.Summary = fmt.Sprintf("%d of %d pods at the update revision %s (current %s), replaced from the highest ordinal down",
			r.Updated, r.Total, r.UpdateRevision, r.CurrentRevision)
	}
	return r
}
