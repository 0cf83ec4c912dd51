package plugin

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ministatefulset/ministatefulset/pkg/convert"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newConvertCommand)

func newConvertCommand(o *Options) *cobra.Command {
	var file, to, output string
	cmd := &cobra.Command{
		Use:   "convert -f FILE [--to statefulset|ministatefulset] [-o yaml|json]",
		Short: "Turn a StatefulSet manifest into a MiniStatefulSet one, and back",
		Long: `Convert rewrites every StatefulSet (apps/v1) of a manifest as a MiniStatefulSet
(apps.ministatefulset.dev/v1alpha1) and every MiniStatefulSet as a StatefulSet, by
changing apiVersion and kind only: the two kinds share every spec field. Comments,
key order and other objects (a Service, ...) stay as they are; status is dropped,
since the controller writes it. A field the new kind does not have is an error.

FILE may be - for standard input, and may hold several documents or a List. It
reads no cluster.`,
		Example: `  # A StatefulSet manifest, as a MiniStatefulSet, applied
  kubectl msts convert -f web.yaml | kubectl apply -f -

  # Everything as StatefulSets again, whatever each document is now
  kubectl msts convert -f all.yaml --to statefulset`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.convert(file, to, output) },
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "The manifest to convert (- for standard input)")
	cmd.Flags().StringVar(&to, "to", "", "Convert every set to this kind: statefulset or ministatefulset (default: each set to the other kind)")
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "Output format: yaml (keeps comments) or json")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func (o *Options) convert(file, to, output string) error {
	var opts convert.Options
	switch output {
	case "yaml":
	case "json":
		opts.JSON = true
	default:
		return fmt.Errorf("unknown output format %q: use yaml or json", output)
	}
	if to != "" {
		k, err := workload.ParseKind(to)
		if err != nil {
			return fmt.Errorf("--to %s: %w", to, err)
		}
		opts.To = k
	}
	src, err := o.readManifest(file)
	if err != nil {
		return err
	}
	res, err := convert.Convert(src, opts)
	for _, note := range res.Notes {
		fmt.Fprintln(o.ErrOut, note)
	}
	if err != nil {
		return err
	}
	_, err = o.Out.Write(res.Output)
	return err
}

// readManifest reads a file, or standard input for "-".
func (o *Options) readManifest(file string) ([]byte, error) {
	name, src, err := file, []byte(nil), error(nil)
	if file == "-" {
		name = "standard input"
		src, err = io.ReadAll(o.In)
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, fmt.Errorf("%s is empty: nothing to convert", name)
	}
	return src, nil
}
