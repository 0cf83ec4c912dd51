package plugin

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// changeCauseAnnotation is where kubectl and people record why a revision was made.
const changeCauseAnnotation = "kubernetes.io/change-cause"

// historyEntry is one revision for -o json|yaml.
type historyEntry struct {
	Revision    int64                   `json:"revision"`
	Name        string                  `json:"name"`
	ChangeCause string                  `json:"changeCause,omitempty"`
	Created     metav1.Time             `json:"created"`
	Template    *corev1.PodTemplateSpec `json:"template"`
}

func newRolloutHistoryCommand(o *Options) *cobra.Command {
	var revision int64
	var output string
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "List a set's revisions, or show one revision's pod template",
		Long: `List the ControllerRevisions of a set, oldest first, with the change-cause each
records (the kubernetes.io/change-cause annotation), as kubectl rollout history does
for a StatefulSet. --revision N shows the pod template that revision holds.`,
		Example: `  kubectl msts rollout history web
  kubectl msts rollout history sts/web --revision 2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.rolloutHistory(cmd.Context(), args[0], revision, output)
		},
	}
	cmd.Flags().Int64Var(&revision, "revision", 0, "Show the pod template of this revision")
	addOutputFlag(cmd, &output)
	return cmd
}

func (o *Options) rolloutHistory(ctx context.Context, arg string, revision int64, output string) error {
	if revision < 0 {
		return fmt.Errorf("--revision must be a revision number from the list, not %d", revision)
	}
	_, set, revs, err := o.setWithRevisions(ctx, arg)
	if err != nil {
		return err
	}
	ref := set.Ref()
	if revision > 0 {
		rev := findRevision(revs, revision)
		if rev == nil {
			return fmt.Errorf("%s has no revision %d: %s", ref, revision, revisionsHint(ref, revs))
		}
		revs = []appsv1.ControllerRevision{*rev}
	}
	if output != "" {
		return o.printHistory(output, revs, revision > 0)
	}
	if revision > 0 {
		tmpl, err := revisionTemplate(&revs[0])
		if err != nil {
			return err
		}
		raw, err := yaml.Marshal(tmpl)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Out, "%s with revision #%d\n%s", qualified(ref), revision, raw)
		return err
	}
	fmt.Fprintln(o.Out, qualified(ref))
	if len(revs) == 0 {
		_, err = fmt.Fprintln(o.Out, "No rollout history found.")
		return err
	}
	w := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "REVISION\tCHANGE-CAUSE")
	for _, r := range revs {
		cause := r.Annotations[changeCauseAnnotation]
		if cause == "" {
			cause = "<none>"
		}
		fmt.Fprintf(w, "%d\t%s\n", r.Revision, cause)
	}
	return w.Flush()
}

// printHistory writes the revisions with their templates for -o json|yaml: one
// entry for --revision, a list otherwise.
func (o *Options) printHistory(format string, revs []appsv1.ControllerRevision, one bool) error {
	entries := []historyEntry{}
	for i := range revs {
		tmpl, err := revisionTemplate(&revs[i])
		if err != nil {
			return err
		}
		entries = append(entries, historyEntry{Revision: revs[i].Revision, Name: revs[i].Name,
			ChangeCause: revs[i].Annotations[changeCauseAnnotation], Created: revs[i].CreationTimestamp, Template: tmpl})
	}
	if one {
		return printStructured(o.Out, format, entries[0])
	}
	return printStructured(o.Out, format, entries)
}

// findRevision is the revision with a number, nil when there is none.
func findRevision(revs []appsv1.ControllerRevision, number int64) *appsv1.ControllerRevision {
	for i := range revs {
		if revs[i].Revision == number {
			return &revs[i]
		}
	}
	return nil
}

// revisionsHint says which revisions there are, and where to see them.
func revisionsHint(ref workload.Ref, revs []appsv1.ControllerRevision) string {
	if len(revs) == 0 {
		return "it has no revisions yet (the controller records one for each template it rolls out)"
	}
	return fmt.Sprintf("its revisions are %s (kubectl msts rollout history %s lists them)", revisionNumbers(revs), ref)
}
