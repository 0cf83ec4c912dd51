package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
)

// probes answers /healthz and /readyz from the state of the process.
type probes struct {
	leaderElect bool
	stall       time.Duration
	// lease checks the Lease's renewals while this process leads (nil without
	// leader election): client-go's *leaderelection.HealthzAdaptor.
	lease interface{ Check(*http.Request) error }

	mu   sync.Mutex
	ctrl *controller.Controller // nil until this process runs the controller
}

func (p *probes) running(c *controller.Controller) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctrl = c
}

func (p *probes) controller() *controller.Controller {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctrl
}

// errNotStarted is /readyz before the controller exists.
var errNotStarted = errors.New("controller not started yet")

// ready: the caches synced. A replica waiting for the Lease is ready as a standby,
// so a Deployment of several replicas can roll.
func (p *probes) ready() error {
	c := p.controller()
	if c == nil {
		if p.leaderElect {
			return nil
		}
		return errNotStarted
	}
	return c.Ready()
}

// healthy: the Lease is renewed in time while leading, and the workers are not stuck.
func (p *probes) healthy(req *http.Request) error {
	if p.lease != nil {
		if err := p.lease.Check(req); err != nil {
			return err
		}
	}
	if c := p.controller(); c != nil {
		return c.Stuck(time.Now(), p.stall)
	}
	return nil
}

func check(f func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if err := f(req); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}
}

// handlers adds the probes to mux.
func (p *probes) handlers(mux *http.ServeMux) {
	mux.Handle("/healthz", check(p.healthy))
	mux.Handle("/readyz", check(func(*http.Request) error { return p.ready() }))
}

// metricsHandlers adds /metrics and, with profiling, pprof to mux.
func metricsHandlers(mux *http.ServeMux, profiling bool) {
	mux.Handle("/metrics", legacyregistry.Handler())
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}

// serve serves mux on addr until ctx ends.
func serve(ctx context.Context, what, addr string, mux *http.ServeMux) {
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		klog.FromContext(ctx).Error(err, "Server stopped", "serving", what, "address", addr)
	}
}

// startServers serves the probes and the metrics, on one port when both addresses
// are the same.
func startServers(ctx context.Context, o *options, p *probes) {
	if o.healthProbeAddress != "" {
		mux := http.NewServeMux()
		p.handlers(mux)
		if o.metricsAddress == o.healthProbeAddress {
			metricsHandlers(mux, o.profiling)
		}
		go serve(ctx, "probes", o.healthProbeAddress, mux)
	}
	if o.metricsAddress != "" && o.metricsAddress != o.healthProbeAddress {
		mux := http.NewServeMux()
		metricsHandlers(mux, o.profiling)
		go serve(ctx, "metrics", o.metricsAddress, mux)
	}
}
