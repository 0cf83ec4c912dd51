package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
)

func counterValue(t *testing.T, c metrics.CounterMetric) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(c)
	require.NoError(t, err)
	return v
}

func gaugeValue(t *testing.T, g metrics.GaugeMetric) float64 {
	t.Helper()
	v, err := testutil.GetGaugeMetricValue(g)
	require.NoError(t, err)
	return v
}

// TestMetricsCountWhatTheAPIAccepted: the pod and claim counters move by the writes
// the API server accepted, a failed create counts as none; passes count by result;
// sets_waiting follows the Waiting reason of each set's last pass and forgets a set
// that is gone.
func TestMetricsCountWhatTheAPIAccepted(t *testing.T) {
	RegisterMetrics()
	f := newFixture(t, newSet("web").Replicas(2).Claims("data").Obj())
	key := cache.ObjectName{Namespace: ns, Name: "web"}
	created, claims, deleted := counterValue(t, podsCreated), counterValue(t, claimsCreated), counterValue(t, podsDeleted)
	errorsBefore := counterValue(t, passesTotal.WithLabelValues(passError))
	successBefore := counterValue(t, passesTotal.WithLabelValues(passSuccess))

	f.kube.PrependReactor("*", "*", failOn("create", "pods", 1, anyName))
	f.refresh()
	f.c.queue.Add(key)
	require.True(t, f.c.processNext(f.ctx))
	assert.Equal(t, created, counterValue(t, podsCreated), "a refused create is not counted")
	assert.Equal(t, claims+1, counterValue(t, claimsCreated), "the claim was created before the pod's create failed")
	assert.Equal(t, errorsBefore+1, counterValue(t, passesTotal.WithLabelValues(passError)))
	assert.Equal(t, 1.0, gaugeValue(t, setsWaiting.WithLabelValues(WaitProgressing)), "waiting after an API error")

	f.mustSync("web")
	f.ready("web-0")
	f.mustSync("web")
	f.ready("web-1")
	f.refresh()
	f.c.queue.Forget(key)
	f.c.queue.Add(key)
	require.True(t, f.c.processNext(f.ctx))
	assert.Equal(t, created+2, counterValue(t, podsCreated))
	assert.Equal(t, claims+2, counterValue(t, claimsCreated), "one claim per pod, the existing one not created twice")
	assert.Equal(t, successBefore+1, counterValue(t, passesTotal.WithLabelValues(passSuccess)))
	assert.Equal(t, 0.0, gaugeValue(t, setsWaiting.WithLabelValues(WaitProgressing)), "settled: waiting for nothing")

	f.scale("web", 1)
	f.mustSync("web")
	assert.Equal(t, deleted+1, counterValue(t, podsDeleted))

	f.c.control.waits.set(key, WaitReady)
	assert.Equal(t, 1.0, gaugeValue(t, setsWaiting.WithLabelValues(WaitReady)))
	require.NoError(t, f.msts.AppsV1alpha1().MiniStatefulSets(ns).Delete(f.ctx, "web", metav1.DeleteOptions{}))
	f.mustSync("web")
	assert.Equal(t, 0.0, gaugeValue(t, setsWaiting.WithLabelValues(WaitReady)), "a deleted set waits for nothing")
}

// TestLivenessSeesOnlyAStuckQueue: the controller is stuck only when sets wait in
// the queue and the workers showed no progress for longer than the bound; not
// before the workers start, not when idle.
func TestLivenessSeesOnlyAStuckQueue(t *testing.T) {
	f := newFixture(t, newSet("other").Replicas(1).Obj())
	now := time.Now()
	f.c.queue.Add(objectKey("web"))
	assert.NoError(t, f.c.Stuck(now.Add(time.Hour), time.Minute), "workers not started: the readiness probe's business")

	f.c.progress.start()
	assert.NoError(t, f.c.Stuck(now.Add(30*time.Second), time.Minute), "within the bound")
	err := f.c.Stuck(now.Add(2*time.Minute), time.Minute)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 sets wait in the queue")

	require.True(t, f.c.processNext(f.ctx))
	assert.Zero(t, f.c.queue.Len())
	assert.NoError(t, f.c.Stuck(time.Now().Add(time.Hour), time.Minute), "idle with an empty queue")
}
