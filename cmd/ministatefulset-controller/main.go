// Command ministatefulset-controller runs the MiniStatefulSet controller against a
// cluster: out of cluster with --kubeconfig, or in cluster with its ServiceAccount.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	"github.com/ministatefulset/ministatefulset/pkg/generated/clientset/versioned"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
)

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
	fs.StringVar(&o.healthProbeAddress, "health-probe-bind-address", "", "Address for /healthz and /readyz (for example :8081); empty disables.")
	fs.DurationVar(&o.statusFold, "status-fold-interval", time.Second,
		"While a set scales or rolls, write its status at most this often (its counters lag by at most this); a new generation, revision or Waiting reason is written at once. 0 writes every change at once.")
	fs.BoolVar(&o.profiling, "profiling", false, "Serve Go's pprof profiles under /debug/pprof/ on the health probe address.")
}

func (o *options) validate() error {
	if o.workers < 1 {
		return fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	}
	if o.statusFold < 0 {
		return fmt.Errorf("--status-fold-interval must not be negative, got %v", o.statusFold)
	}
	if o.profiling && o.healthProbeAddress == "" {
		return errors.New("--profiling serves on the --health-probe-bind-address: give one")
	}
	if o.qps <= 0 || o.burst < 1 {
		return fmt.Errorf("--kube-api-qps must be > 0 and --kube-api-burst >= 1, got %v and %d", o.qps, o.burst)
	}
	return nil
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	fs := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	klog.InitFlags(fs)
	o.addFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := klog.FromContext(ctx)
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
	kubeClient, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// Events go through a client of their own, as kube-controller-manager's do, so
	// that recording them never holds a pod write back in the rate limiter.
	eventCfg := rest.CopyConfig(cfg)
	eventCfg.UserAgent = controller.ControllerName + "/events"
	eventClient, err := kubernetes.NewForConfig(eventCfg)
	if err != nil {
		return err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if o.healthProbeAddress != "" {
		go serveHealth(ctx, o.healthProbeAddress, o.profiling)
	}

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
		kubeInformers := informers.NewSharedInformerFactory(kubeClient, o.resync)
		setInformers := mstsinformers.NewSharedInformerFactory(client, o.resync)
		c, err := controller.NewController(ctx, kubeClient, client,
			setInformers.Apps().V1alpha1().MiniStatefulSets(),
			kubeInformers.Core().V1().Pods(),
			kubeInformers.Core().V1().PersistentVolumeClaims(),
			kubeInformers.Apps().V1().ControllerRevisions(),
			recorder)
		if err != nil {
			return err
		}
		c.FoldStatusWrites(o.statusFold)
		kubeInformers.Start(runCtx.Done())
		setInformers.Start(runCtx.Done())
		defer kubeInformers.Shutdown()
		defer setInformers.Shutdown()
		defer stopInformers() // before the Shutdowns, which wait for the informers to stop
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
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.leaderNamespace, controller.ControllerName,
		electionClient.CoreV1(), electionClient.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
	if err != nil {
		return err
	}
	return leaderElect(ctx, lock, leaseTimes{o.leaseDuration, o.renewDeadline, o.retryPeriod}, fnc, start)
}

func serveHealth(ctx context.Context, addr string, profiling bool) {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", ok)
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		klog.FromContext(ctx).Error(err, "Health probe server stopped")
	}
}
