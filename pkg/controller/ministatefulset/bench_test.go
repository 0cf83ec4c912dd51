package ministatefulset

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkDecide measures the pure ordering algorithm over a set whose pods are all
// Running and Ready, the steady state every pass of a settled set goes through.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			set := newSet("web").Replicas(int32(n)).Claims("data").Obj()
			rev, err := newRevision(set, 1)
			if err != nil {
				b.Fatal(err)
			}
			tmpl, _ := templateOf(rev)
			now := time.Now()
			claims := map[string]*corev1.PersistentVolumeClaim{}
			snap := &snapshot{set: set, current: rev, update: rev, currentTemplate: tmpl, updateTemplate: tmpl, now: now, claim: claimsIn(claims)}
			for i := range n {
				pod := newPod(set, tmpl, rev.Name, i)
				pod.Status.Phase = corev1.PodRunning
				pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
				snap.pods = append(snap.pods, pod)
				for name, c := range newClaims(set, i) {
					claims[name] = c
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if p := decide(snap); len(p.actions) != 0 {
					b.Fatalf("a settled set needs no writes, got %d", len(p.actions))
				}
			}
		})
	}
}

// BenchmarkSyncSettledSet measures a whole pass (listers, adoption, revisions, decide,
// status comparison) of a settled set over fake clientsets: what every resync costs.
func BenchmarkSyncSettledSet(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			f := newFixture(b, newSet("web").Replicas(int32(n)).Parallel().Obj())
			f.mustSync("web")
			for _, p := range f.pods() {
				f.ready(p.Name)
			}
			f.mustSync("web")
			f.refresh()
			f.writes()
			key := objectKey("web")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.c.sync(f.ctx, key); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if w := f.writes(); len(w) != 0 {
				b.Fatalf("a settled set's pass must write nothing, wrote %v", w)
			}
		})
	}
}
