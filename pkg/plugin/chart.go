package plugin

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ministatefulset/ministatefulset/pkg/chart"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newChartCommand)

func newChartCommand(o *Options) *cobra.Command {
	var story storyFlags
	var svg string
	cmd := &cobra.Command{
		Use:   "chart NAME | msts/NAME | sts/NAME --svg FILE",
		Short: "Draw the set's story as an SVG swimlane chart, one lane per ordinal",
		Long: `chart draws what timeline tells as a picture a teacher can put on a slide: one lane
per ordinal, bars for pending, Ready, un-Ready, terminating and failed, arrows from
the Ready a creation waited for and from the removal a deletion waited for, and the
spec changes on a time axis in seconds. With --watch it follows the set live first,
and draws when the watch ends (Ctrl-C, --for or --until-settled).`,
		Example: `  kubectl msts chart web --svg web.svg
  kubectl msts chart sts/web --svg sts.svg --until-settled`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, shown, err := story.tell(cmd.Context(), o, args[0], func(*workload.Set, []trace.Record) {})
			if set == nil {
				return err
			}
			if werr := o.writeChart(svg, set, shown); werr != nil {
				return werr
			}
			fmt.Fprintf(o.Out, "wrote the chart of %s (%d steps) to %s\n", set.Ref(), len(shown), svg)
			return err
		},
	}
	story.add(cmd)
	cmd.Flags().StringVar(&svg, "svg", "", "The SVG file to write (required)")
	_ = cmd.MarkFlagRequired("svg")
	return cmd
}

// writeChart draws the records shown as the set's chart, ending now.
func (o *Options) writeChart(path string, set *workload.Set, shown []trace.Record) error {
	svg := chart.SVG(shown, chart.Options{Set: set.Ref(), Title: string(set.Kind) + "/" + set.Name, End: o.Now()})
	if err := os.WriteFile(path, svg, 0o644); err != nil {
		return fmt.Errorf("writing the chart: %w (choose a --svg path in a directory you can write)", err)
	}
	return nil
}
