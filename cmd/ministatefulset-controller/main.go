// Command ministatefulset-controller runs the MiniStatefulSet controller against a
// cluster: out of cluster with --kubeconfig, or in cluster with its ServiceAccount.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // workqueue, REST client and leader election metrics
	"k8s.io/klog/v2"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
)

// version is stamped at build time (-ldflags "-X main.version=...").
var version = "dev"

// options are the command's flags.
type options struct {
	kubeconfig         string
	workers            int
	qps                float64
	burst              int
	resync             time.Duration
	leaderElect        bool
	leaderNamespace    string
	healthProbeAddress string
	statusFold         time.Duration
	profiling          bool
	leaseDuration      time.Duration
	renewDeadline      time.Duration
	retryPeriod        time.Duration
	metricsAddress     string
	stallTimeout       time.Duration
	namespaces         namespaceList
	manage             string
	probeNamespace     string
	probeTimeout       time.Duration
	logging            *logsapi.LoggingConfiguration
	showVersion        bool
}

func (o *options) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; empty means in-cluster configuration (or $KUBECONFIG).")
	fs.IntVar(&o.workers, "workers", 5, "Number of MiniStatefulSets synced at once.")
	fs.Float64Var(&o.qps, "kube-api-qps", 20, "Steady queries per second to the API server.")
	fs.IntVar(&o.burst, "kube-api-burst", 30, "Burst of queries to the API server.")
	fs.DurationVar(&o.resync, "resync-period", 10*time.Minute, "How often informers replay their cache.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Take a coordination.k8s.io Lease before acting, so replicas of the controller do not fight.")
	fs.StringVar(&o.leaderNamespace, "leader-elect-resource-namespace", "kube-system", "Namespace of the leader election Lease.")
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "Lease duration for leader election.")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "Renew deadline for leader election.")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "Retry period for leader election.")
	fs.StringVar(&o.healthProbeAddress, "health-probe-bind-address", "",
		"Address for /healthz (fails when the workers are stuck or the Lease could not be renewed) and /readyz (fails until the caches synced), for example :8081; empty disables.")
	fs.StringVar(&o.metricsAddress, "metrics-bind-address", "", "Address for /metrics in Prometheus text format (and pprof with --profiling), for example :8080; empty disables.")
	fs.DurationVar(&o.stallTimeout, "liveness-stall-timeout", 2*time.Minute,
		"/healthz fails when sets wait in the queue and no worker took a pass, made a write or finished a pass for this long.")
	fs.Var(&o.namespaces, "namespace", "Watch and act in this namespace only; repeat the flag or separate with commas for several. Unset: every namespace.")
	fs.StringVar(&o.manage, "manage", manageMiniStatefulSets,
		"What to drive: ministatefulsets (apps.ministatefulset.dev/v1alpha1), or statefulsets: apps/v1 StatefulSets, in place of kube-controller-manager's StatefulSet controller, "+
			"which must be off (kube-controller-manager --controllers=*,-statefulset-controller); the controller checks that with a probe StatefulSet and refuses to start beside it.")
	fs.StringVar(&o.probeNamespace, "builtin-probe-namespace", "",
		"With --manage=statefulsets: the namespace of the probe StatefulSet (default: the first --namespace, else default).")
	fs.DurationVar(&o.probeTimeout, "builtin-probe-timeout", 5*time.Second,
		"With --manage=statefulsets: how long the probe StatefulSet waits for another controller to write its status; 0 skips the check.")
	fs.DurationVar(&o.statusFold, "status-fold-interval", time.Second,
		"While a set scales or rolls, write its status at most this often (its counters lag by at most this); a new generation, revision or Waiting reason is written at once. 0 writes every change at once.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	fs.BoolVar(&o.profiling, "profiling", false, "Serve Go's pprof profiles under /debug/pprof/ on the --metrics-bind-address.")
	// -v, --vmodule and --logging-format (text or json) through component-base, as
	// kube-controller-manager has them, and klog's other flags.
	o.logging = logsapi.NewLoggingConfiguration()
	logsapi.AddGoFlags(o.logging, fs)
	logs.AddGoFlags(fs, logs.SkipLoggingConfigurationFlags())
}

func (o *options) validate() error {
	if o.workers < 1 {
		return fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	}
	if o.statusFold < 0 {
		return fmt.Errorf("--status-fold-interval must not be negative, got %v", o.statusFold)
	}
	if o.profiling && o.metricsAddress == "" {
		return errors.New("--profiling serves on the --metrics-bind-address: give one")
	}
	if o.stallTimeout <= 0 {
		return fmt.Errorf("--liveness-stall-timeout must be positive, got %v", o.stallTimeout)
	}
	if err := logsapi.ValidateAndApply(o.logging, nil); err != nil {
		return err
	}
	if err := o.validateManage(); err != nil {
		return err
	}
	if o.qps <= 0 || o.burst < 1 {
		return fmt.Errorf("--kube-api-qps must be > 0 and --kube-api-burst >= 1, got %v and %d", o.qps, o.burst)
	}
	return nil
}

func (o *options) validateManage() error {
	if o.manage != manageMiniStatefulSets && o.manage != manageStatefulSets {
		return fmt.Errorf("--manage must be %s or %s, got %q", manageMiniStatefulSets, manageStatefulSets, o.manage)
	}
	if o.probeTimeout < 0 {
		return fmt.Errorf("--builtin-probe-timeout must not be negative, got %v", o.probeTimeout)
	}
	return nil
}

// probeNS is the namespace of the probe StatefulSet of --manage=statefulsets.
func (o *options) probeNS() string {
	switch {
	case o.probeNamespace != "":
		return o.probeNamespace
	case len(o.namespaces) > 0:
		return o.namespaces[0]
	}
	return metav1.NamespaceDefault
}

// leaseName is the leader election Lease's: a drop-in controller of StatefulSets
// and one of MiniStatefulSets in the same cluster each have their own.
func (o *options) leaseName() string {
	if o.manage == manageStatefulSets {
		return controller.ControllerName + "-statefulsets"
	}
	return controller.ControllerName
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if o.showVersion {
		fmt.Println(controller.ControllerName, version)
		return 0
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := klog.FromContext(ctx)
	logger.Info("Starting", "version", version, "manage", o.manage, "namespaces", o.namespaces.describe())
	if err := runController(ctx, &o); err != nil {
		logger.Error(err, "Controller stopped")
		klog.Flush()
		return 1
	}
	logger.Info("Controller stopped cleanly")
	klog.Flush()
	return 0
}

func restConfig(o *options) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading client configuration: %w", err)
	}
	cfg.QPS = float32(o.qps)
	cfg.Burst = o.burst
	cfg.UserAgent = controller.ControllerName
	return cfg, nil
}

// clientConfigs makes, from cfg (the MiniStatefulSets' client), the configurations
// of the kube client and of the events client, and gives cfg and the kube client one
// rate limiter: --kube-api-qps and --kube-api-burst bound what the controller sends,
// pods, claims, revisions and status writes together, as they bound a
// kube-controller-manager controller's single client (with a limiter each, the
// controller made 40 requests a second at --kube-api-qps=20).
func clientConfigs(cfg *rest.Config) (kubeCfg, eventCfg *rest.Config) {
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	// Pods, claims, revisions and events travel as protobuf, as kube-controller-manager's
	// do: decoding the pod watch as JSON was most of the controller's CPU in a
	// 1,000-pod scale. MiniStatefulSets, a custom resource, have JSON only.
	kubeCfg = rest.CopyConfig(cfg)
	kubeCfg.ContentType = runtime.ContentTypeProtobuf
	kubeCfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	// Events go through a client and a limiter of their own (made from the same QPS
	// and burst), so that recording them never holds a pod write back.
	eventCfg = rest.CopyConfig(kubeCfg)
	eventCfg.RateLimiter = nil
	eventCfg.UserAgent = controller.ControllerName + "/events"
	return kubeCfg, eventCfg
}

func runController(ctx context.Context, o *options) error {
	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	// Leader election renews through a client of its own, so the controller's
	// writes never hold a renewal back in their rate limiter; the controller's
	// clients are fenced: they write only while the last renewal is recent.
	electionCfg := rest.CopyConfig(cfg)
	fnc := newFence(o.renewDeadline)
	if o.leaderElect {
		cfg.Wrap(fnc.wrap)
	}
	kubeCfg, eventCfg := clientConfigs(cfg)
	kubeClient, err := kubernetes.NewForConfig(kubeCfg)
	if err != nil {
		return err
	}
	eventClient, err := kubernetes.NewForConfig(eventCfg)
	if err != nil {
		return err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return err
	}
	controller.RegisterMetrics()
	pr := &probes{leaderElect: o.leaderElect, stall: o.stallTimeout}
	var watchdog *leaderelection.HealthzAdaptor
	if o.leaderElect {
		// kube-controller-manager's bound: the Lease may be 20s past its expiry.
		watchdog = leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)
		pr.lease = watchdog
	}
	startServers(ctx, o, pr)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appsv1alpha1.AddToScheme(scheme))
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(3)
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: eventClient.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme, corev1.EventSource{Component: controller.ControllerName})

	start := func(ctx, abort context.Context) error {
		// The informers stop with the controller: at the end of the drain, or at once
		// when it is aborted.
		runCtx, stopInformers := context.WithCancel(abort)
		defer stopInformers()
		var scopes []controller.Informers
		var factories []interface {
			Start(<-chan struct{})
			Shutdown()
		}
		if o.manage == manageStatefulSets && o.probeTimeout > 0 {
			if err := refuseBesideBuiltin(ctx, kubeClient, o.probeNS(), o.probeTimeout); err != nil {
				return err
			}
		}
		for _, ns := range o.namespaces.scopes() {
			kubeInformers := informers.NewSharedInformerFactoryWithOptions(kubeClient, o.resync, informers.WithNamespace(ns))
			scope := controller.Informers{Namespace: ns,
				Pods:      kubeInformers.Core().V1().Pods(),
				Claims:    kubeInformers.Core().V1().PersistentVolumeClaims(),
				Revisions: kubeInformers.Apps().V1().ControllerRevisions()}
			factories = append(factories, kubeInformers)
			if o.manage == manageStatefulSets {
				if scope.Sets, err = controller.StatefulSetInformer(kubeInformers.Apps().V1().StatefulSets()); err != nil {
					return err
				}
			} else {
				setInformers := mstsinformers.NewSharedInformerFactoryWithOptions(client, o.resync, mstsinformers.WithNamespace(ns))
				scope.Sets = setInformers.Apps().V1alpha1().MiniStatefulSets()
				factories = append(factories, setInformers)
			}
			scopes = append(scopes, scope)
		}
		c, err := controller.NewScopedController(ctx, kubeClient, client, scopes, recorder)
		if err != nil {
			return err
		}
		if len(scopes) == 1 && scopes[0].Namespace == "" && o.manage == manageMiniStatefulSets {
			// Only a controller of every namespace reads StorageClasses (its ClusterRole
			// grants it); one confined to namespaces asks the API server instead. A
			// StatefulSet's claims never grow: the drop-in mode needs none.
			classes := informers.NewSharedInformerFactory(kubeClient, o.resync)
			if err := c.WatchStorageClasses(ctx, classes.Storage().V1().StorageClasses()); err != nil {
				return err
			}
			factories = append(factories, classes)
		}
		c.FoldStatusWrites(o.statusFold)
		for _, f := range factories {
			f.Start(runCtx.Done())
			defer f.Shutdown()
		}
		defer stopInformers() // before the Shutdowns, which wait for the informers to stop
		pr.running(c)
		defer pr.running(nil)
		return c.Run(ctx, abort, o.workers)
	}
	if !o.leaderElect {
		return start(ctx, context.Background())
	}
	electionClient, err := kubernetes.NewForConfig(electionCfg)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.leaderNamespace, o.leaseName(),
		electionClient.CoreV1(), electionClient.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
	if err != nil {
		return err
	}
	return leaderElect(ctx, lock, leaseTimes{o.leaseDuration, o.renewDeadline, o.retryPeriod}, fnc, watchdog, start)
}
