package plugin

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newTimelineCommand)

func newTimelineCommand(o *Options) *cobra.Command {
	var story storyFlags
	var svg, output string
	cmd := &cobra.Command{
		Use:   "timeline NAME | msts/NAME | sts/NAME",
		Short: "The set's story, one line per step with times relative to the first",
		Long: `timeline tells a set's story one step per line: each pod created, scheduled, Ready,
un-Ready, failed, terminating and gone, with the set's events and spec changes, the
time since the first line, and what a step came after, so that "web-1 created 4 ms
after web-0 became Ready" can be read off.

Without --watch it reads back what the API still shows: pod timestamps and
conditions and the set's events, which are whole seconds (the lines say so). With
--watch it then follows the set live, to the millisecond, until Ctrl-C, --for, or
--until-settled.`,
		Example: `  kubectl msts timeline web
  kubectl msts timeline sts/web --since 10m
  kubectl msts timeline web --watch --svg web.svg
  kubectl msts timeline web --until-settled --timeout 2m -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return fmt.Errorf("unknown output format %q: use json or yaml, or leave -o out for text", output)
			}
			var lines int
			set, shown, err := story.tell(cmd.Context(), o, args[0], func(set *workload.Set, shown []trace.Record) {
				if output == "" {
					fmt.Fprintln(o.Out, trace.Line(set.Ref(), shown, len(shown)-1))
					lines++
				}
			})
			if set == nil {
				return err
			}
			if output == "" && lines == 0 {
				fmt.Fprintf(o.Out, "%s: nothing to tell%s\n", set.Ref(), sinceWords(story.since))
			}
			if output != "" {
				if shown == nil {
					shown = []trace.Record{}
				}
				if perr := printStructured(o.Out, output, shown); perr != nil {
					return perr
				}
			}
			if svg != "" {
				if werr := o.writeChart(svg, set, shown); werr != nil {
					return werr
				}
				fmt.Fprintf(o.ErrOut, "wrote the chart of %s to %s\n", set.Ref(), svg)
			}
			return err
		},
	}
	story.add(cmd)
	cmd.Flags().StringVar(&svg, "svg", "", "Also draw what was shown as an SVG swimlane chart in this file")
	addOutputFlag(cmd, &output)
	return cmd
}

// sinceWords says why a timeline has no lines.
func sinceWords(since time.Duration) string {
	if since > 0 {
		return " in the last " + since.String()
	}
	return " yet: no pods and no events"
}
