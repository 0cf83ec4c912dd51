// Package plugin is `kubectl msts`: commands that make a set's ordering visible and
// treat a MiniStatefulSet and a built-in StatefulSet alike (status, timeline, chart,
// rollout, convert, migrate, compare, hold, release, fail). Flags come from
// k8s.io/cli-runtime, so --kubeconfig, --context, -n and the rest behave as in kubectl.
package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Options are what every command shares: the cluster to talk to and where to write.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	// NewClients and Namespace reach the cluster; tests replace them with fakes.
	NewClients func() (workload.Clients, error)
	Namespace  func() (string, error)
	// Now is the clock that ages and timelines are read against.
	Now func() time.Time
}

// NewOptions reads the cluster from kubectl's flags.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	o := &Options{ConfigFlags: genericclioptions.NewConfigFlags(true), IOStreams: streams, Now: time.Now}
	o.NewClients = func() (workload.Clients, error) {
		cfg, err := o.ConfigFlags.ToRESTConfig()
		if err != nil {
			return workload.Clients{}, err
		}
		cfg.QPS, cfg.Burst = 50, 100
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return workload.Clients{}, err
		}
		sets, err := versioned.NewForConfig(cfg)
		if err != nil {
			return workload.Clients{}, err
		}
		return workload.Clients{Kube: kube, Sets: sets}, nil
	}
	o.Namespace = func() (string, error) {
		ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
		return ns, err
	}
	return o
}

// NewCommand is `kubectl msts` with its subcommands.
func NewCommand(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl msts",
		Short: "See a StatefulSet's ordering happen, for a MiniStatefulSet or a built-in StatefulSet",
		Long: `kubectl msts shows what a StatefulSet controller does, one ordinal at a time.

Every command takes a set as NAME (a MiniStatefulSet), msts/NAME or sts/NAME, so the
built-in StatefulSet and MiniStatefulSet can be looked at the same way.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(o.Out)
	root.SetErr(o.ErrOut)
	o.ConfigFlags.AddFlags(root.PersistentFlags())
	for _, add := range subcommands {
		root.AddCommand(add(o))
	}
	return root
}

// subcommands are added by the files that define them.
var subcommands []func(*Options) *cobra.Command

func register(f func(*Options) *cobra.Command) bool {
	subcommands = append(subcommands, f)
	return true
}

// Run is the plugin's main: it runs the command line and reports an error the way
// kubectl does, returning the exit status.
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	cmd := NewCommand(NewOptions(streams))
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(streams.ErrOut, "error:", err)
		return 1
	}
	return 0
}

// target reads the set a command names, in the namespace of the flags.
func (o *Options) target(arg string) (workload.Clients, workload.Ref, error) {
	ns, err := o.Namespace()
	if err != nil {
		return workload.Clients{}, workload.Ref{}, err
	}
	ref, err := workload.ParseRef(arg, ns)
	if err != nil {
		return workload.Clients{}, workload.Ref{}, err
	}
	c, err := o.NewClients()
	return c, ref, err
}

// printStructured writes v as JSON or YAML for -o json|yaml.
func printStructured(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", raw)
		return err
	case "yaml":
		raw, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(raw)
		return err
	}
	return fmt.Errorf("unknown output format %q: use json or yaml, or leave -o out for text", format)
}

// addOutputFlag adds -o json|yaml.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "", "Output format: json or yaml (default: text for a person)")
}
