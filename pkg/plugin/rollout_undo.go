package plugin

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// lastAppliedAnnotation is where kubectl apply keeps the manifest it last applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

func newRolloutUndoCommand(o *Options) *cobra.Command {
	var toRevision int64
	dryRun := "none"
	cmd := &cobra.Command{
		Use:   "undo NAME",
		Short: "Roll back to an earlier revision's pod template",
		Long: `Write the pod template of an earlier revision back into the set's spec.template, as
kubectl rollout undo does for a StatefulSet; the controller then rolls the pods back
to that revision. --to-revision 0 (the default) means the revision before the
newest one.`,
		Example: `  kubectl msts rollout undo web
  kubectl msts rollout undo sts/web --to-revision 1 --dry-run=client`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.rolloutUndo(cmd.Context(), args[0], toRevision, dryRun)
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to roll back to (0: the one before the newest)")
	cmd.Flags().StringVar(&dryRun, "dry-run", dryRun, `"none", "client" (print the template it would write) or "server" (send it, persist nothing)`)
	return cmd
}

func (o *Options) rolloutUndo(ctx context.Context, arg string, toRevision int64, dryRun string) error {
	if dryRun != "none" && dryRun != "client" && dryRun != "server" {
		return fmt.Errorf("--dry-run=%s: use none, client or server", dryRun)
	}
	if toRevision < 0 {
		return fmt.Errorf("--to-revision must be 0 (the previous revision) or a revision number, not %d", toRevision)
	}
	c, set, revs, err := o.setWithRevisions(ctx, arg)
	if err != nil {
		return err
	}
	ref := set.Ref()
	rev, err := rollbackTarget(ref, revs, toRevision)
	if err != nil {
		return err
	}
	tmpl, err := revisionTemplate(rev)
	if err != nil {
		return err
	}
	if _, ok := set.Annotations[lastAppliedAnnotation]; ok {
		fmt.Fprintf(o.ErrOut, "Warning: %s was written by kubectl apply; rolling back leaves its %s annotation as it is, "+
			"so applying the old file again undoes this rollback. Apply the manifest of revision %d instead to keep them in step.\n",
			ref, lastAppliedAnnotation, rev.Revision)
	}
	if dryRun == "client" {
		raw, err := yaml.Marshal(tmpl)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Out, "%s will roll back to revision %d (dry run)\n%s", qualified(ref), rev.Revision, raw)
		return err
	}
	var server []string
	if dryRun == "server" {
		server = []string{metav1.DryRunAll}
	}
	changed, err := updateTemplate(ctx, c, ref, server, func(t *corev1.PodTemplateSpec) bool {
		if equality.Semantic.DeepEqual(*t, *tmpl) {
			return false
		}
		*t = *tmpl.DeepCopy()
		return true
	})
	if err != nil {
		return fmt.Errorf("failed restoring revision %d: %w", rev.Revision, err)
	}
	switch {
	case !changed:
		_, err = fmt.Fprintf(o.Out, "%s skipped rollback (current template already matches revision %d)\n", qualified(ref), rev.Revision)
	case dryRun == "server":
		_, err = fmt.Fprintf(o.Out, "%s rolled back (server dry run)\n", qualified(ref))
	default:
		_, err = fmt.Fprintf(o.Out, "%s rolled back\n", qualified(ref))
	}
	return err
}

// rollbackTarget picks the revision to roll back to: the numbered one, or for 0 the
// one before the newest, as kubectl does.
func rollbackTarget(ref workload.Ref, revs []appsv1.ControllerRevision, toRevision int64) (*appsv1.ControllerRevision, error) {
	if toRevision > 0 {
		if rev := findRevision(revs, toRevision); rev != nil {
			return rev, nil
		}
		return nil, fmt.Errorf("unable to find revision %d of %s: %s", toRevision, ref, revisionsHint(ref, revs))
	}
	if len(revs) < 2 {
		return nil, fmt.Errorf("no last revision to roll back to: %s has %s", ref, countRevisions(len(revs)))
	}
	sorted := append([]appsv1.ControllerRevision(nil), revs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Revision < sorted[j].Revision })
	return &sorted[len(sorted)-2], nil
}

func countRevisions(n int) string {
	if n == 1 {
		return "only one revision"
	}
	return "no revisions yet"
}
