package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ministatefulset/ministatefulset/pkg/compare"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var _ = register(newCompareCommand)

// compareFlags are the command line of compare.
type compareFlags struct {
	file, readiness, updateImage, output string
	scenarios                            []string
	keep                                 bool
	parallel                             int
	timeout                              time.Duration
}

func newCompareCommand(o *Options) *cobra.Command {
	f := compareFlags{}
	cmd := &cobra.Command{
		Use:   "compare -f FILE [--scenario NAME[,NAME...]|all] [--keep] [--parallel N] [--timeout D] [--readiness kwok|exec] [-o json|yaml]",
		Short: "Run one manifest under the built-in StatefulSet and under MiniStatefulSet, side by side",
		Long: `compare runs the set of a manifest (a StatefulSet or a MiniStatefulSet, with other
documents such as its headless Service) under both controllers at once, each in a
fresh namespace (cmp-<scenario>-sts-xxxxx and cmp-<scenario>-msts-xxxxx), drives
both through each scenario, and prints the two pod traces side by side, times in
milliseconds from each step's action, with '!' on the lines that differ.

Each step's pod steps are compared in sequence under OrderedReady and as a set
under Parallel (where their order is free); the claims left and the pods'
revision names are compared too (MiniStatefulSet names revisions as apps/v1 does).
The verdict is "same" or "DIFFERENT: <the first difference>"; the exit status is
non-zero if any scenario differs, fails or cannot run.

Readiness: --readiness kwok (the local cluster) holds and fails pods through its
kwok stages. --readiness exec (clusters with real kubelets, such as kind) adds a
readiness probe to the first container, "test ! -e ` + compare.UnreadyFile + `", and holds a
pod by creating that file through kubectl-exec's API; a pod cannot be made Failed
that way, so failed-pod is reported "not run". Give --update-image then: the
nodes pull the image the update scenarios change to. The image needs sh.

The retention scenarios add a claim template (1Gi, storageClassName "", which the
local cluster's static PVs bind) when the manifest has none; elsewhere, give the
manifest a claim template your cluster can bind.

Scenarios:
` + scenarioHelp(),
		Example: `  # Every scenario, three at a time, on the local cluster
  kubectl msts compare -f deploy/examples/redis.yaml --scenario all --parallel 3

  # The halt at an un-Ready pod, on kind, keeping the namespaces to look at
  kubectl msts compare -f web.yaml --scenario unhealthy-pod --readiness exec --keep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.compare(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "filename", "f", "", "The manifest: a StatefulSet or MiniStatefulSet and the documents beside it (- for standard input)")
	fl.StringSliceVar(&f.scenarios, "scenario", []string{"all"}, "Scenarios to run, by name, or all")
	fl.BoolVar(&f.keep, "keep", false, "Leave the namespaces behind (delete them later with: kubectl delete ns -l "+compare.LabelRun+")")
	fl.IntVar(&f.parallel, "parallel", 1, "How many scenarios run at once")
	fl.DurationVar(&f.timeout, "timeout", compare.DefaultTimeout, "How long each step may wait on each side")
	fl.StringVar(&f.readiness, "readiness", "kwok", "How pods are held un-Ready and failed: kwok (the local cluster's stages) or exec (a probe, for real kubelets)")
	fl.StringVar(&f.updateImage, "update-image", "", "The image the update scenarios change to (default: the manifest's at a made-up tag, which only kwok nodes accept)")
	addOutputFlag(cmd, &f.output)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// scenarioHelp lists the scenarios for the help text.
func scenarioHelp() string {
	var b strings.Builder
	for _, s := range compare.Scenarios() {
		fmt.Fprintf(&b, "  %-21s %s\n", s.Name, s.Summary)
	}
	return b.String()
}

func (o *Options) compare(ctx context.Context, f compareFlags) error {
	if f.output != "" && f.output != "json" && f.output != "yaml" {
		return fmt.Errorf("unknown output format %q: use json or yaml, or leave -o out for text", f.output)
	}
	if f.parallel < 1 {
		return fmt.Errorf("--parallel %d: run at least 1 scenario at a time", f.parallel)
	}
	scenarios, err := compare.Select(f.scenarios)
	if err != nil {
		return err
	}
	src, err := o.readManifest(f.file)
	if err != nil {
		return err
	}
	m, err := compare.ParseManifest(src)
	if err != nil {
		return fmt.Errorf("%s: %w", f.file, err)
	}
	clients, err := o.NewClients()
	if err != nil {
		return err
	}
	readiness, err := o.compareReadiness(f.readiness, clients)
	if err != nil {
		return err
	}
	r := &compare.Runner{Clients: clients, Readiness: readiness, Manifest: m, Scenarios: scenarios,
		Parallel: f.parallel, Timeout: f.timeout, Keep: f.keep, UpdateImage: f.updateImage, Progress: o.ErrOut}
	res, err := r.Run(ctx)
	if err != nil {
		return err
	}
	if f.output != "" {
		err = printStructured(o.Out, f.output, res)
	} else {
		err = compare.WriteText(o.Out, res)
	}
	if err != nil {
		return err
	}
	return notPassed(res)
}

// compareReadiness is the way pods are steered that --readiness names.
func (o *Options) compareReadiness(name string, clients workload.Clients) (compare.Readiness, error) {
	switch name {
	case "kwok":
		return compare.Kwok{}, nil
	case "exec":
		// The REST config is read at the first exec, so that flags are checked first.
		return compare.Exec{Run: func(ctx context.Context, namespace, pod, container string, command []string) error {
			cfg, err := o.ConfigFlags.ToRESTConfig()
			if err != nil {
				return err
			}
			return compare.RemoteExecutor(cfg, clients.Kube)(ctx, namespace, pod, container, command)
		}}, nil
	}
	return nil, fmt.Errorf("unknown --readiness %q: use kwok (the local cluster) or exec (real kubelets)", name)
}

// notPassed is the error that makes the exit status non-zero when a scenario did
// not find the two controllers the same.
func notPassed(res *compare.Result) error {
	var bad []string
	for _, s := range res.Scenarios {
		if s.Verdict != compare.Same {
			bad = append(bad, s.Name+" "+string(s.Verdict))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d scenarios did not find the two controllers the same (%s): see the verdicts above",
		len(bad), len(res.Scenarios), strings.Join(bad, ", "))
}
