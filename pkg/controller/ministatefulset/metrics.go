package ministatefulset

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The controller's own metrics, in the registry kube-controller-manager uses
// (k8s.io/component-base/metrics/legacyregistry), so they are served beside
// client-go's workqueue, REST client and leader election metrics. Every name starts
// with metricsSubsystem.
const metricsSubsystem = "ministatefulset"

// Pass outcomes, the result label of passesTotal.
const (
	passSuccess = "success" // nothing left to wait for, or waiting for an event
	passRequeue = "requeue" // comes back after a delay (a MinReadySeconds, a folded status)
	passWaiting = "waiting" // retried with backoff: waiting for something no event may announce
	passInvalid = "invalid" // the spec cannot be acted on; retried with backoff
	passError   = "error"   // an API error or a panic; retried with backoff
)

var (
	passesTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem: metricsSubsystem, Name: "passes_total",
		Help:           "Passes of the sync loop over one MiniStatefulSet, by result: success, requeue, waiting, invalid or error.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	passDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Subsystem: metricsSubsystem, Name: "pass_duration_seconds",
		Help:           "How long one pass over one MiniStatefulSet took, its API writes included, by result.",
		Buckets:        metrics.ExponentialBuckets(0.0005, 2, 16),
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	podsCreated   = counter("pods_created_total", "Pods the controller created (the API server accepted the create).")
	podsDeleted   = counter("pods_deleted_total", "Pods the controller deleted (the API server accepted the delete).")
	podsUpdated   = counter("pods_updated_total", "Pods the controller updated in place (identity labels, claim retention).")
	claimsCreated = counter("claims_created_total", "PersistentVolumeClaims the controller created from volumeClaimTemplates.")
	setsWaiting   = metrics.NewGaugeVec(&metrics.GaugeOpts{
		Subsystem: metricsSubsystem, Name: "sets_waiting",
		Help:           "MiniStatefulSets whose Waiting condition is True after their last pass, by its reason.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"reason"})
)

func counter(name, help string) *metrics.Counter {
	return metrics.NewCounter(&metrics.CounterOpts{Subsystem: metricsSubsystem, Name: name, Help: help, StabilityLevel: metrics.ALPHA})
}

var registerOnce sync.Once

// RegisterMetrics adds the controller's metrics to the legacy registry; until then
// they count nothing. Safe to call more than once.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(passesTotal, passDuration, podsCreated, podsDeleted, podsUpdated, claimsCreated, setsWaiting)
	})
}

// observePass counts one pass and its duration.
func observePass(result string, took time.Duration) {
	passesTotal.WithLabelValues(result).Inc()
	passDuration.WithLabelValues(result).Observe(took.Seconds())
}

// waitGauge keeps sets_waiting: the reason each set waits for after its last pass.
type waitGauge struct {
	mu      sync.Mutex
	reasons map[cache.ObjectName]string
}

func newWaitGauge() *waitGauge { return &waitGauge{reasons: map[cache.ObjectName]string{}} }

// set records that key waits for reason ("" when it waits for nothing).
func (g *waitGauge) set(key cache.ObjectName, reason string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old, had := g.reasons[key]
	if had && old == reason {
		return
	}
	if had {
		setsWaiting.WithLabelValues(old).Dec()
		delete(g.reasons, key)
	}
	if reason != "" {
		g.reasons[key] = reason
		setsWaiting.WithLabelValues(reason).Inc()
	}
}

// forget drops a set that is gone.
func (g *waitGauge) forget(key cache.ObjectName) { g.set(key, "") }

// waitsFor is the reason of a True Waiting condition, "" otherwise.
func waitsFor(st *appsv1alpha1.MiniStatefulSetStatus) string {
	if c := findCondition(st, appsv1alpha1.ConditionWaiting); c != nil && c.Status == corev1.ConditionTrue {
		return c.Reason
	}
	return ""
}
