package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// restartedAtAnnotation is the template annotation kubectl rollout restart sets: a
// new template, so a new revision, so every pod is replaced in the set's order.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

func newRolloutRestartCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "restart NAME",
		Short: "Replace every pod of a set, in the set's update order",
		Long: `Restart a set's pods as kubectl rollout restart does for a StatefulSet: set the pod
template's kubectl.kubernetes.io/restartedAt annotation to the current time. The
template changes, so the controller rolls every pod to the new revision, highest
ordinal first. Under OnDelete the new revision waits until you delete each pod.`,
		Example: `  kubectl msts rollout restart web
  kubectl msts rollout status web`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.rolloutRestart(cmd.Context(), args[0]) },
	}
}

func (o *Options) rolloutRestart(ctx context.Context, arg string) error {
	c, ref, err := o.target(arg)
	if err != nil {
		return err
	}
	set, err := c.Get(ctx, ref)
	if err != nil {
		return err
	}
	now := o.Now().Format(time.RFC3339)
	if set.Spec.Template.Annotations[restartedAtAnnotation] == now {
		return fmt.Errorf("%s was restarted less than a second ago (%s=%s): wait a second before restarting it again",
			ref, restartedAtAnnotation, now)
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{restartedAtAnnotation: now}}}}})
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	if ref.Kind == workload.StatefulSet {
		_, err = c.Kube.AppsV1().StatefulSets(ref.Namespace).Patch(ctx, ref.Name, types.MergePatchType, patch, opts)
	} else {
		_, err = c.Sets.AppsV1alpha1().MiniStatefulSets(ref.Namespace).Patch(ctx, ref.Name, types.MergePatchType, patch, opts)
	}
	if err != nil {
		return fmt.Errorf("restarting %s: %w", ref, err)
	}
	if set.OnDelete() {
		// kubectl restarts an OnDelete StatefulSet without a word; the learner should
		// know that nothing will move on its own
		fmt.Fprintf(o.ErrOut, "Warning: %s uses the OnDelete update strategy: its pods move to the new revision only as you delete them\n", ref)
	}
	_, err = fmt.Fprintf(o.Out, "%s restarted\n", qualified(ref))
	return err
}
