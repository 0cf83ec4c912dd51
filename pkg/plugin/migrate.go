package plugin

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ministatefulset/ministatefulset/pkg/migrate"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newMigrateCommand)

func newMigrateCommand(o *Options) *cobra.Command {
	var (
		to     string
		output string
		opts   = migrate.Options{}
	)
	cmd := &cobra.Command{
		Use:   "migrate sts/NAME | msts/NAME [--to ministatefulset|statefulset]",
		Short: "Move a running set to the other controller without restarting a pod",
		Long: `migrate hands a running set from the built-in StatefulSet controller to MiniStatefulSet,
or back, without restarting or replacing a pod and without touching a claim.

It deletes the old object with propagationPolicy Orphan (the garbage collector removes
its ownerReferences from the pods, claims and ControllerRevisions and leaves them
running), then creates the other kind from the live spec. The new controller adopts the
orphans, computes the same revision name for the same template, and has nothing to
update. The old object is saved to a file first.

It refuses a set in the middle of a rollout, and one whose template the other kind
would store differently (the pods would all be replaced), unless told otherwise.`,
		Example: `  kubectl msts migrate sts/web                    # StatefulSet -> MiniStatefulSet
  kubectl msts migrate msts/web --to statefulset   # and back`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ref, err := o.target(args[0])
			if err != nil {
				return err
			}
			opts.To = workload.StatefulSet
			if ref.Kind == workload.StatefulSet {
				opts.To = workload.MiniStatefulSet
			}
			if to != "" {
				if opts.To, err = workload.ParseKind(to); err != nil {
					return err
				}
			}
			opts.Progress = func(format string, args ...any) {
				fmt.Fprintf(o.ErrOut, format+"\n", args...)
			}
			rep, err := migrate.Run(cmd.Context(), c, ref, opts)
			if err != nil {
				return err
			}
			if output != "" {
				return printStructured(o.Out, output, rep)
			}
			fmt.Fprintf(o.Out, "moved %s to %s in %v: %d pods and %d claims kept, %d restarted, %d replaced; revision %s\n",
				rep.From, rep.To, rep.Took.Round(time.Millisecond), len(rep.Pods), len(rep.Claims), rep.Restarted, rep.Replaced, rep.Revision)
			w := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "OBJECT\tUID BEFORE\tUID AFTER\tRESTARTS")
			for _, p := range rep.Pods {
				fmt.Fprintf(w, "pod/%s\t%s\t%s\t%d -> %d\n", p.Name, p.UID, p.UIDAfter, p.Restarts, p.Restarts2)
			}
			for _, c := range rep.Claims {
				fmt.Fprintf(w, "pvc/%s\t%s\t%s\t\n", c.Name, c.UID, c.UIDAfter)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "Kind to move to: ministatefulset (msts) or statefulset (sts); default: the other kind")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "How long each step may take: the old object gone, the new one settled")
	cmd.Flags().BoolVar(&opts.AllowUnsettled, "allow-unsettled", false, "Move a set in the middle of a rollout or with un-Ready pods")
	cmd.Flags().BoolVar(&opts.AllowRollout, "allow-rollout", false, "Move even if the new owner would replace the pods (its template differs from their revision)")
	cmd.Flags().StringVar(&opts.BackupDir, "backup-dir", "", "Where to save the old object before deleting it (default: the system's temp dir)")
	addOutputFlag(cmd, &output)
	return cmd
}
