package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newRolloutCommand)

// fieldManager names the plugin's writes in managedFields.
const fieldManager = "kubectl-msts"

func newRolloutCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout SUBCOMMAND",
		Short: "What kubectl rollout does for a StatefulSet, for a MiniStatefulSet too",
		Long: `Manage the rollout of a set: status, history, undo and restart, as kubectl rollout
does for a StatefulSet. kubectl rollout does not know a custom resource; these
commands read a MiniStatefulSet's ControllerRevisions the way kubectl reads a
StatefulSet's, and work the same way on sts/NAME.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRolloutStatusCommand(o), newRolloutHistoryCommand(o), newRolloutUndoCommand(o), newRolloutRestartCommand(o))
	return cmd
}

// qualified is the set as kubectl prints it after a rollout command
// ("statefulset.apps/web rolled back"): resource.group/name.
func qualified(ref workload.Ref) string {
	if ref.Kind == workload.StatefulSet {
		return "statefulset.apps/" + ref.Name
	}
	return "ministatefulset.apps.ministatefulset.dev/" + ref.Name
}

// kindWord is the kind as kubectl's rollout messages write it ("statefulset").
func kindWord(k workload.Kind) string { return strings.ToLower(string(k)) }

// revisionTemplate reads the pod template a ControllerRevision records. Both
// controllers write {"spec":{"template":{..., "$patch":"replace"}}}: a strategic merge
// patch that replaces the template whole, so the template is the patch's own.
func revisionTemplate(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var data struct {
		Spec struct {
			Template *corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("reading the template of revision %d (%s): %w", rev.Revision, rev.Name, err)
	}
	if data.Spec.Template == nil {
		return nil, fmt.Errorf("revision %d (%s) records no pod template", rev.Revision, rev.Name)
	}
	return data.Spec.Template, nil
}

// revisionNumbers lists the numbers of revisions, for messages.
func revisionNumbers(revs []appsv1.ControllerRevision) string {
	var nums []string
	for _, r := range revs {
		nums = append(nums, fmt.Sprint(r.Revision))
	}
	return strings.Join(nums, ", ")
}

// updateTemplate reads the set, lets change edit its template and writes it back
// through the kind's own client, re-reading on a conflict. change reports whether it
// changed anything; nothing is written when it did not.
func updateTemplate(ctx context.Context, c workload.Clients, ref workload.Ref, dryRun []string,
	change func(*corev1.PodTemplateSpec) bool) (changed bool, err error) {
	opts := metav1.UpdateOptions{FieldManager: fieldManager, DryRun: dryRun}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		switch ref.Kind {
		case workload.StatefulSet:
			sets := c.Kube.AppsV1().StatefulSets(ref.Namespace)
			sts, err := sets.Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if changed = change(&sts.Spec.Template); !changed {
				return nil
			}
			_, err = sets.Update(ctx, sts, opts)
			return err
		default:
			sets := c.Sets.AppsV1alpha1().MiniStatefulSets(ref.Namespace)
			m, err := sets.Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if changed = change(&m.Spec.Template); !changed {
				return nil
			}
			_, err = sets.Update(ctx, m, opts)
			return err
		}
	})
	if err != nil {
		return false, fmt.Errorf("writing the template of %s: %w", ref, err)
	}
	return changed, nil
}

// setWithRevisions reads the set a command names and the ControllerRevisions it
// controls, oldest number first.
func (o *Options) setWithRevisions(ctx context.Context, arg string) (workload.Clients, *workload.Set, []appsv1.ControllerRevision, error) {
	c, ref, err := o.target(arg)
	if err != nil {
		return c, nil, nil, err
	}
	set, err := c.Get(ctx, ref)
	if err != nil {
		return c, nil, nil, err
	}
	revs, err := c.Revisions(ctx, set)
	return c, set, revs, err
}
