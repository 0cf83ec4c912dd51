package plugin

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	appsv1 "k8s.io/api/apps/v1"
)

func (rep *StatusReport) print(out io.Writer) error {
	fmt.Fprintf(out, "%s/%s in %s: %s, %s", rep.Kind.Short(), rep.Name, rep.Namespace, rep.Policy, rep.Strategy)
	if rep.Strategy == string(appsv1.RollingUpdateStatefulSetStrategyType) {
		fmt.Fprintf(out, " (partition %d)", rep.Partition)
	}
	fmt.Fprintf(out, ", %d replicas from ordinal %d", rep.Replicas, rep.Start)
	if rep.MinReadySeconds > 0 {
		fmt.Fprintf(out, ", minReadySeconds %d", rep.MinReadySeconds)
	}
	fmt.Fprintln(out)
	if rep.Reserved != "" {
		fmt.Fprintf(out, "Reserved ordinals (no pod): %s\n", rep.Reserved)
	}
	if rep.UnhealthyPodReplacement != "" {
		fmt.Fprintf(out, "Unhealthy pod replacement: %s\n", rep.UnhealthyPodReplacement)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ORDINAL\tPOD\tPHASE\tREADY\tAVAILABLE\tREVISION\tCLAIMS\tAGE\tRESTARTS\tNOTE")
	for _, r := range rep.Ordinals {
		rev := "-"
		if r.Revision != "" {
			rev = r.Revision + " (" + r.Which + ")"
		}
		age, restarts := "-", "-"
		if r.Exists {
			age, restarts = r.Age, strconv.Itoa(int(r.Restarts))
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Ordinal, r.Pod, orDash(r.Phase, r.Exists, "no pod"),
			yesNo(r.Ready, r.Exists), yesNo(r.Available, r.Exists), rev, claimText(r.Claims), age, restarts, r.Note)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if rep.MissingOmitted > 0 {
		fmt.Fprintf(out, "... and %d more ordinals without a pod\n", rep.MissingOmitted)
	}
	fmt.Fprintf(out, "Waiting: %s\n  (%s)\n", rep.Waiting, rep.WaitingSource)
	fmt.Fprintf(out, "Rollout: %s\n", rep.Rollout.Summary)
	if cs := rep.ClaimStorage; cs != nil {
		fmt.Fprintf(out, "Claim storage: %d of %d claims have grown to their templates' request, %d ask for it", cs.Resized, cs.Claims, cs.Requested)
		if cs.NotExpandable > 0 {
			fmt.Fprintf(out, ", %d cannot grow (their StorageClass does not allow volume expansion)", cs.NotExpandable)
		}
		fmt.Fprintln(out)
	}
	return nil
}

func orDash(s string, exists bool, none string) string {
	if !exists {
		return none
	}
	return s
}

func yesNo(b, exists bool) string {
	switch {
	case !exists:
		return "-"
	case b:
		return "yes"
	}
	return "no"
}

func claimText(claims []ClaimInfo) string {
	if len(claims) == 0 {
		return "-"
	}
	parts := make([]string, len(claims))
	for i, c := range claims {
		parts[i] = c.Name + " " + c.Phase
		if c.Volume != "" {
			parts[i] = c.Name + "->" + c.Volume
		}
	}
	return strings.Join(parts, ",")
}

// listSets prints one line per set of both kinds.
func (o *Options) listSets(ctx context.Context, all bool, output string) error {
	ns := ""
	if !all {
		var err error
		if ns, err = o.Namespace(); err != nil {
			return err
		}
	}
	c, err := o.NewClients()
	if err != nil {
		return err
	}
	sets, err := c.List(ctx, ns)
	if err != nil {
		return err
	}
	type line struct {
		Namespace string `json:"namespace"`
		Set       string `json:"set"`
		Ready     string `json:"ready"`
		Updated   int32  `json:"updated"`
		Waiting   string `json:"waiting"`
	}
	var lines []line
	for _, s := range sets {
		waiting := ""
		if s.Waiting != nil {
			waiting = s.Waiting.Message
		}
		lines = append(lines, line{s.Namespace, s.Ref().String(), fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, s.Replicas()), s.Status.UpdatedReplicas, waiting})
	}
	if output != "" {
		return printStructured(o.Out, output, lines)
	}
	if len(lines) == 0 {
		fmt.Fprintln(o.Out, "No StatefulSets or MiniStatefulSets found.")
		return nil
	}
	w := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tSET\tREADY\tUPDATED\tWAITING")
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", l.Namespace, l.Set, l.Ready, l.Updated, l.Waiting)
	}
	return w.Flush()
}
