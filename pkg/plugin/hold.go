package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var (
	_ = register(newHoldCommand)
	_ = register(newReleaseCommand)
	_ = register(newFailCommand)
)

// podAction is one of hold, release and fail: what it does to a pod on the local
// cluster's kwok nodes, and what the learner should watch for next.
type podAction struct {
	use, short, long string
	// key is the annotation it sets; done says so, given the key and the pod name.
	key, done string
	do        func(ctx context.Context, kube kubernetes.Interface, namespace, pod string) error
}

func newHoldCommand(o *Options) *cobra.Command {
	return o.podCommand(podAction{
		use:   "hold POD",
		short: "Hold a pod un-Ready, as a failing readiness probe would (local cluster)",
		long: `hold keeps a pod Running but not Ready, so you can watch the set stop at it: under
OrderedReady no higher ordinal is created and no lower one deleted while it is un-Ready.
It sets the annotation ` + workload.AnnotationHoldUnready + `=true, which the local cluster's kwok
stages read in place of a kubelet's readiness probe. 'release' undoes it.`,
		key:  workload.AnnotationHoldUnready,
		done: "is held un-Ready (%s=true); 'kubectl msts release %s' lets it become Ready",
		do:   workload.Hold,
	})
}

func newReleaseCommand(o *Options) *cobra.Command {
	return o.podCommand(podAction{
		use:   "release POD",
		short: "Let a held pod become Ready again (local cluster)",
		long:  `release removes the annotation ` + workload.AnnotationHoldUnready + `, so the local cluster's kwok stages make the pod Ready.`,
		key:   workload.AnnotationHoldUnready,
		done:  "is released (%s removed); it becomes Ready, and the set goes on past %s",
		do:    workload.Release,
	})
}

func newFailCommand(o *Options) *cobra.Command {
	return o.podCommand(podAction{
		use:   "fail POD",
		short: "Make a pod's phase Failed, as if its container exited (local cluster)",
		long: `fail sets the annotation ` + workload.AnnotationFail + `=true: the local cluster's kwok stages
make the pod Failed. A StatefulSet controller deletes a Failed pod and creates it again
under the same name, with the same claims.`,
		key:  workload.AnnotationFail,
		done: "fails (%s=true); watch the controller delete %s and create it again",
		do:   workload.Fail,
	})
}

func (o *Options) podCommand(a podAction) *cobra.Command {
	return &cobra.Command{
		Use:   a.use,
		Short: a.short,
		Long:  a.long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ns, err := o.Namespace()
			if err != nil {
				return err
			}
			c, err := o.NewClients()
			if err != nil {
				return err
			}
			name := args[0]
			name = strings.TrimPrefix(strings.TrimPrefix(name, "pods/"), "pod/")
			pod, err := c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading pod %s/%s: %w", ns, name, err)
			}
			kwok, err := workload.OnKwokNode(ctx, c.Kube, pod)
			if err != nil {
				return err
			}
			if !kwok {
				return fmt.Errorf("pod %s runs on a node with a real kubelet: only the local cluster's kwok stages read the %s annotations (make run, make cluster-up); on a real cluster, make its readiness probe fail instead",
					name, "msts.test/*")
			}
			if err := a.do(ctx, c.Kube, ns, name); err != nil {
				return err
			}
			fmt.Fprintf(o.Out, "pod/%s "+a.done+"\n", name, a.key, name)
			return nil
		},
	}
}
