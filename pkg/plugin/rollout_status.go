package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func newRolloutStatusCommand(o *Options) *cobra.Command {
	follow, timeout := true, time.Duration(0)
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show the status of the rollout, following it until it is done",
		Long: `Show the status of a set's rollout. With --watch (the default) it follows the set
until the rollout is done, the timeout passes (an error) or the set is deleted.
The messages are kubectl rollout status's for a StatefulSet.`,
		Example: `  kubectl msts rollout status web --timeout 2m
  kubectl msts rollout status sts/web --watch=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.rolloutStatus(cmd.Context(), args[0], follow, timeout)
		},
	}
	cmd.Flags().BoolVarP(&follow, "watch", "w", follow, "Follow the rollout until it is done")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "How long to follow before giving up with an error (0: no limit), e.g. 60s, 2m")
	return cmd
}

func (o *Options) rolloutStatus(ctx context.Context, arg string, follow bool, timeout time.Duration) error {
	c, ref, err := o.target(arg)
	if err != nil {
		return err
	}
	set, err := c.Get(ctx, ref)
	if err != nil {
		return err
	}
	if !follow {
		msg, _, err := rolloutStatus(set)
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(o.Out, msg)
		return err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	lw, obj := c.ListWatch(ref)
	last := ""
	_, err = watchtools.UntilWithSync(wctx, lw, obj, nil, func(e watch.Event) (bool, error) {
		switch e.Type {
		case watch.Added, watch.Modified:
			s, err := workload.View(e.Object)
			if err != nil || s.Name != ref.Name {
				return false, err
			}
			msg, done, err := rolloutStatus(s)
			if err != nil {
				return false, err
			}
			// kubectl prints on every event; a status write that changes nothing
			// the message says would only repeat the line
			if msg != last {
				fmt.Fprint(o.Out, msg)
				last = msg
			}
			return done, nil
		case watch.Deleted:
			return false, fmt.Errorf("%s was deleted while its rollout was followed", ref)
		}
		return false, nil
	})
	if err != nil && errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("timed out after %v waiting for the rollout of %s to finish; it was at: %s",
			timeout, ref, strings.TrimSpace(strings.TrimSuffix(last, "...\n")))
	}
	return err
}

// rolloutStatus says, in kubectl's words, how far a set's rollout has come and
// whether it is done; an OnDelete set has no rollout to follow.
func rolloutStatus(set *workload.Set) (string, bool, error) {
	word := kindWord(set.Kind)
	if t := set.Spec.UpdateStrategy.Type; t != "" && t != appsv1.RollingUpdateStatefulSetStrategyType {
		return "", true, fmt.Errorf("rollout status is only available for %s strategy type: %s uses %s, so its pods change only when you delete them",
			appsv1.RollingUpdateStatefulSetStrategyType, set.Ref(), t)
	}
	st := set.Status
	if st.ObservedGeneration == 0 || set.Generation > st.ObservedGeneration {
		return fmt.Sprintf("Waiting for %s spec update to be observed...\n", word), false, nil
	}
	replicas := int32(set.Replicas())
	if st.ReadyReplicas < replicas {
		return fmt.Sprintf("Waiting for %d pods to be ready...\n", replicas-st.ReadyReplicas), false, nil
	}
	// kubectl takes any rollingUpdate block for a partition, and the API server
	// defaults one (partition 0) for every StatefulSet while the CRD leaves it out;
	// counting only a partition above 0 lets the same workload read the same under
	// both controllers.
	if partition := int32(set.Partition()); partition > 0 {
		if st.UpdatedReplicas < replicas-partition {
			return fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...\n",
				st.UpdatedReplicas, replicas-partition), false, nil
		}
		return fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...\n", st.UpdatedReplicas), true, nil
	}
	if st.UpdateRevision != st.CurrentRevision {
		return fmt.Sprintf("waiting for %s rolling update to complete %d pods at revision %s...\n",
			word, st.UpdatedReplicas, st.UpdateRevision), false, nil
	}
	return fmt.Sprintf("%s rolling update complete %d pods at revision %s...\n", word, st.CurrentReplicas, st.CurrentRevision), true, nil
}
