package trace

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestRecorderRecordsEachChangeOfAPodOnce(t *testing.T) {
	set := newSet(workload.MiniStatefulSet, "web", 2)
	r := NewRecorder(IsOfSet(set))
	r.SetClock(func() time.Time { return t0 })
	b := newPod(set, 0)
	r.ObservePod(b.Obj())
	r.ObservePod(b.Scheduled(1).Obj())
	r.ObservePod(b.Ready(2).Obj())
	r.ObservePod(b.Ready(2).Obj())
	r.ObservePod(b.Unready(3).Obj())
	r.ObservePod(newPod(newSet(workload.MiniStatefulSet, "db", 1), 0).Obj())
	r.ObservePod(b.Terminating(4, 1).Obj())
	r.RemovePod(b.Obj())

	assert.Equal(t, []string{"created web-0", "scheduled web-0", "ready web-0", "unready web-0", "terminating web-0", "gone web-0"}, steps(r.Records("")))
	assert.Equal(t, []string{"ready web-0", "gone web-0"}, steps(r.Steps("MiniStatefulSet", Ready, Gone)))
	assert.Empty(t, r.Steps("StatefulSet"), "no pod of another owner kind")
	assert.Equal(t, []string{"created web-0"}, r.Of("", Created))
	for _, rec := range r.Records("") {
		assert.True(t, rec.Exact)
		assert.Equal(t, t0, rec.At, "timed by the recorder's clock")
	}
}

func TestRecorderTakesAKnownPodAsTheStartWithoutRecordingIt(t *testing.T) {
	set := newSet(workload.MiniStatefulSet, "web", 2)
	r := NewRecorder(nil)
	r.knowPod(newPod(set, 0).Scheduled(1).Ready(2).Obj())
	r.knowPod(newPod(set, 1).Scheduled(1).Obj())
	assert.Empty(t, r.Records(""), "the starting state has no records")
	ready, terminating := r.Live()
	assert.Equal(t, 1, ready)
	assert.Equal(t, 0, terminating)

	select {
	case <-r.Updated():
		t.Fatal("Updated fired with nothing recorded")
	default:
	}
	r.ObservePod(newPod(set, 1).Scheduled(1).Ready(3).Obj())
	r.ObservePod(newPod(set, 0).Ready(2).Terminating(4, 1).Obj())
	assert.Equal(t, []string{"ready web-1", "terminating web-0"}, steps(r.Records("")), "only what changed since")
	select {
	case <-r.Updated():
	default:
		t.Fatal("Updated did not fire after a record")
	}
	ready, terminating = r.Live()
	assert.Equal(t, 1, ready)
	assert.Equal(t, 1, terminating)
	ok, why := r.Agrees([]corev1.Pod{*newPod(set, 1).Ready(3).Obj(), *newPod(set, 0).Ready(2).Terminating(4, 1).Obj()})
	require.True(t, ok, why)
}
