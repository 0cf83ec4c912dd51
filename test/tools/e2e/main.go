// The program e2e-apps.test: Kubernetes' own apps e2e specs (k8s.io/kubernetes
// v1.37.2, test/e2e/apps, "[sig-apps] StatefulSet" among them) in one binary,
// without the other suites upstream's test/e2e/e2e_test.go links in. It is a
// plain program rather than a `go test -c` binary so that test/tools/build.sh's
// own code builds it (through ../build-e2e.sh); it takes upstream e2e.test's
// flags, and Ginkgo's as --ginkgo.*.
//
// This is MiniStatefulSet project code, written against the public API of the
// upstream e2e framework (test/e2e/framework, its init packages, testfiles,
// testing-manifests); it is not a copy of upstream's test/e2e/e2e_test.go or
// test/e2e/e2e.go. It does not import the package k8s.io/kubernetes/test/e2e:
// that would link every cloud provider (kubemark pulls in kubelet internals)
// and bring a second SynchronizedBeforeSuite, which Ginkgo rejects.
//
// Build: test/tools/build-e2e.sh. Run: test/upstream/run.sh (see
// docs/upstream-e2e.md).

// Command e2e-apps.test runs upstream's sig-apps e2e specs against the cluster
// that --kubeconfig names.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/logs"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"
	commontest "k8s.io/kubernetes/test/e2e/common"
	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"
	e2enode "k8s.io/kubernetes/test/e2e/framework/node"
	e2epod "k8s.io/kubernetes/test/e2e/framework/pod"
	"k8s.io/kubernetes/test/e2e/framework/testfiles"
	e2etestingmanifests "k8s.io/kubernetes/test/e2e/testing-manifests"
	utilnet "k8s.io/utils/net"

	// The specs. apps links test/e2e/common and test/e2e/scheduling too (through
	// framework/manifest and its own imports), so their specs are in the binary
	// as well; --ginkgo.focus picks the StatefulSet ones.
	_ "k8s.io/kubernetes/test/e2e/apps"
	// Declares the valid [Feature:...] names and freezes the list, so the
	// framework's spec validation (in AfterReadingAllFlags) knows them.
	_ "k8s.io/kubernetes/test/e2e/feature"

	// The same framework extensions upstream's e2e.test installs: namespace
	// dumps on failure, optional metrics gathering, and the "all nodes still
	// Ready" check after every spec.
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/metrics/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
	// Makes Gomega print API objects as YAML in failure messages.
	_ "k8s.io/kubernetes/test/utils/ktesting/format"

	// Kubeconfigs that use auth plugins still load.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	// klog's -v, -vmodule, ... on the command line.
	_ "k8s.io/component-base/logs/testinit"
)

var (
	showVersion = flag.Bool("version", false, "Print the Kubernetes version this binary was built from, then exit.")
	specTimeout = flag.Duration("spec-timeout", 0, "If positive, every spec whose body takes a context fails once it has run this long "+
		"(its cleanup still runs, within --ginkgo.grace-period), and the run goes on with the next spec. "+
		"Ginkgo itself only has a limit for the whole run (--ginkgo.timeout).")
)

func main() {
	// Options that packages declared through framework/config (none of them are
	// in flag.CommandLine until copied), then the framework's own.
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()

	if *showVersion {
		fmt.Println(version.Get())
		os.Exit(0)
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments %q: every option of this binary is a --flag (see --help)\n", flag.Args())
		os.Exit(2)
	}

	// Specs read manifests (the CockroachDB StatefulSet, for one) through
	// testfiles; the embedded copy means the binary needs no Kubernetes checkout.
	testfiles.AddFileSource(e2etestingmanifests.GetE2ETestingManifestsFS())

	// Before AfterReadingAllFlags: it builds the spec tree (PreviewSpecs), and a
	// transformer only sees the nodes created after it is registered.
	if *specTimeout > 0 {
		limitEverySpec(*specTimeout)
	}

	// Exits by itself for --list-tests, --list-labels and --list-images, and
	// when the specs have bugs; otherwise sets up the provider (skeleton when
	// --provider is empty), the default host and the report directory.
	framework.AfterReadingAllFlags(&framework.TestContext)

	// After the embedded manifests, so a stale --repo-root cannot shadow them.
	if framework.TestContext.RepoRoot != "" {
		testfiles.AddFileSource(testfiles.RootFileSource{Root: framework.TestContext.RepoRoot})
	}

	if !runSpecs() {
		os.Exit(1)
	}
}

// runSpecs runs the specs that the --ginkgo.* flags select and says whether all
// of them passed (or were skipped).
func runSpecs() bool {
	logs.InitLogs()
	defer logs.FlushLogs()
	// InitLogs turns contextual logging off, and the framework's helpers log
	// through the context they are given.
	klog.EnableContextualLogging(true)

	gomega.RegisterFailHandler(framework.Fail)
	suiteConfig, reporterConfig := framework.CreateGinkgoConfig()
	klog.Infof("e2e run %q on Ginkgo process %d", framework.RunID, suiteConfig.ParallelProcess)
	return ginkgo.RunSpecs(noTestingT{}, "Kubernetes e2e suite (sig-apps only)", suiteConfig, reporterConfig)
}

// noTestingT stands in for the *testing.T that Ginkgo reports a failed suite to:
// runSpecs learns that from RunSpecs' result instead.
type noTestingT struct{}

func (noTestingT) Fail() {}

var _ = ginkgo.SynchronizedBeforeSuite(func(ctx context.Context) []byte {
	checkClusterCanRunSpecs(ctx)
	return nil
}, func(ctx context.Context, _ []byte) {
	// Read by test/e2e/common helpers to tell this suite from the node e2e one.
	commontest.CurrentSuite = commontest.E2E
	learnIPFamily(ctx)
})

// checkClusterCanRunSpecs runs once, on Ginkgo process 1, so that a cluster
// without usable nodes or with broken system pods fails the run at once
// instead of making every spec wait out its own timeouts. Each wait honours
// the framework's flags: --allowed-not-ready-nodes=-1 skips the node and
// system-pod waits, --minStartupPods=-1 the system-pod wait alone.
func checkClusterCanRunSpecs(ctx context.Context) {
	c, err := framework.LoadClientset()
	framework.ExpectNoError(err, "cannot build a client from --kubeconfig (or --host)")

	if framework.TestContext.CleanStart {
		keep := []string{metav1.NamespaceSystem, metav1.NamespaceDefault, metav1.NamespacePublic, v1.NamespaceNodeLease}
		deleted, err := framework.DeleteNamespaces(ctx, c, nil, keep)
		framework.ExpectNoError(err, "--clean-start: deleting the namespaces an earlier run left behind")
		framework.ExpectNoError(framework.WaitForNamespacesDeleted(ctx, c, deleted, 15*time.Minute),
			"--clean-start: namespaces %v are still there; something (a finalizer?) keeps them", deleted)
	}

	timeouts := framework.NewTimeoutContext()
	framework.ExpectNoError(e2enode.WaitForAllNodesSchedulable(ctx, c, timeouts.NodeSchedulable),
		"nodes are not Ready and schedulable; a taint the specs may ignore goes in --non-blocking-taints")

	if framework.TestContext.CloudConfig.NumNodes == framework.DefaultNumNodes {
		nodes, err := e2enode.GetReadySchedulableNodes(ctx, c)
		framework.ExpectNoError(err, "counting the Ready, schedulable, untainted nodes (or pass --num-nodes)")
		framework.TestContext.CloudConfig.NumNodes = len(nodes.Items)
	}

	framework.ExpectNoError(e2epod.WaitForAlmostAllPodsReady(ctx, c, metav1.NamespaceSystem,
		framework.TestContext.MinStartupPods, framework.TestContext.AllowedNotReadyNodes, timeouts.SystemPodsStartup),
		"pods in %s are not Running and Ready", metav1.NamespaceSystem)

	framework.Logf("e2e specs built from Kubernetes %s", version.Get().GitVersion)
	if server, err := c.DiscoveryClient.ServerVersion(); err != nil {
		framework.Logf("could not read the kube-apiserver version: %v", err)
	} else {
		framework.Logf("kube-apiserver version: %s", server.GitVersion)
	}
}

// learnIPFamily runs on every Ginkgo process, because TestContext is per
// process and some specs adapt their addresses to it. The ClusterIP of the
// default/kubernetes Service tells the cluster's primary family.
func learnIPFamily(ctx context.Context) {
	c, err := framework.LoadClientset()
	framework.ExpectNoError(err, "cannot build a client from --kubeconfig (or --host)")
	svc, err := c.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	framework.ExpectNoError(err, "reading the default/kubernetes Service to learn the cluster's IP family")
	framework.TestContext.IPFamily = "ipv4"
	if utilnet.IsIPv6String(svc.Spec.ClusterIP) {
		framework.TestContext.IPFamily = "ipv6"
	}
	framework.Logf("cluster IP family: %s", framework.TestContext.IPFamily)
}

// limitEverySpec gives every It whose body accepts a context a SpecTimeout:
// Ginkgo has no flag for a per-spec limit, and one spec stuck in a 10-minute
// framework wait would otherwise hold up the whole run. Bodies without a
// context are left alone (Ginkgo refuses timeouts on them and would reject the
// whole tree), and so are specs that set their own timeout.
func limitEverySpec(limit time.Duration) {
	ginkgo.AddTreeConstructionNodeArgsTransformer(
		func(nodeType types.NodeType, _ ginkgo.Offset, text string, args []any) (string, []any, []error) {
			if nodeType != types.NodeTypeIt || !hasContextBody(args) || hasOwnTimeout(args) {
				return text, args, nil
			}
			return text, append(args, ginkgo.SpecTimeout(limit)), nil
		})
}

func hasContextBody(args []any) bool {
	for _, arg := range args {
		switch arg.(type) {
		case func(context.Context), func(ginkgo.SpecContext):
			return true
		}
	}
	return false
}

func hasOwnTimeout(args []any) bool {
	for _, arg := range args {
		switch arg.(type) {
		case ginkgo.SpecTimeout, ginkgo.NodeTimeout:
			return true
		}
	}
	return false
}
