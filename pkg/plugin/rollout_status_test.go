package plugin

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// statusBound bounds every wait for a followed rollout in these tests.
const statusBound = 30 * time.Second

func TestRolloutStatusMessages(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	cases := []struct {
		name string
		set  func(*testSet) *testSet
		want string // %s is the kind's word
		done bool
	}{
		{"spec change not yet observed", func(b *testSet) *testSet { return b.Generation(2, 1).Pods(3, 3, 3) },
			"Waiting for %s spec update to be observed...\n", false},
		{"never observed", func(b *testSet) *testSet { return b.Generation(1, 0) },
			"Waiting for %s spec update to be observed...\n", false},
		{"pods not ready", func(b *testSet) *testSet { return b.Pods(1, 1, 1) },
			"Waiting for 2 pods to be ready...\n", false},
		{"partition not reached", func(b *testSet) *testSet { return b.Partition(2).Pods(3, 0, 3).Revisions("web-a", "web-b") },
			"Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...\n", false},
		{"partition reached", func(b *testSet) *testSet { return b.Partition(2).Pods(3, 1, 2).Revisions("web-a", "web-b") },
			"partitioned roll out complete: 1 new pods have been updated...\n", true},
		{"rolling, partition 0", func(b *testSet) *testSet { return b.Partition(0).Pods(3, 1, 2).Revisions("web-a", "web-b") },
			"waiting for %s rolling update to complete 1 pods at revision web-b...\n", false},
		{"rolled out", func(b *testSet) *testSet { return b.Pods(3, 3, 3).Revisions("web-b", "web-b") },
			"%s rolling update complete 3 pods at revision web-b...\n", true},
	}
	for _, kind := range bothKinds {
		for _, tc := range cases {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				msg, done, err := rolloutStatus(tc.set(newTestSet(kind, "web")).Set())
				require.NoError(t, err)
				want := tc.want
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, kindWord(kind))
				}
				assert.Equal(t, want, msg)
				assert.Equal(t, tc.done, done)
			})
		}
	}
}

func TestRolloutStatusRefusesOnDelete(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		set := newTestSet(kind, "web").OnDelete().Pods(3, 3, 3)
		f := newPluginFixture(t, set.Obj())
		err := f.run(ctx, "rollout", "status", set.Ref().String())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "rollout status is only available for RollingUpdate strategy type: "+set.Ref().String()+" uses OnDelete")
	}
}

func TestRolloutStatusWithoutWatchPrintsOnce(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		set := newTestSet(kind, "web").Pods(2, 2, 2)
		f := newPluginFixture(t, set.Obj())
		require.NoError(t, f.run(ctx, "rollout", "status", set.Ref().String(), "--watch=false"))
		assert.Equal(t, "Waiting for 1 pods to be ready...\n", f.out.String())
		for _, a := range append(f.kube.Actions(), f.sets.Actions()...) {
			assert.NotEqual(t, "watch", a.GetVerb(), "--watch=false reads once")
		}
	}
}

func TestRolloutStatusFollowsTheSetUntilDone(t *testing.T) {
	for _, kind := range bothKinds {
		t.Run(string(kind), func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			set := newTestSet(kind, "web").Pods(1, 1, 1).Revisions("web-a", "web-a")
			f := newPluginFixture(t, set.Obj(), newTestSet(kind, "other").Pods(3, 3, 3).Revisions("o", "o").Obj())
			started := f.watchStarted(kind)
			done := make(chan error, 1)
			go func() { done <- f.run(ctx, "rollout", "status", set.Ref().String(), "--timeout", "1m") }()
			waitClosed(t, started)
			f.writeStatus(ctx, set.Pods(3, 3, 3))
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(statusBound):
				t.Fatalf("rollout status did not finish within %v after the set rolled out", statusBound)
			}
			word := kindWord(kind)
			assert.Equal(t, "Waiting for 2 pods to be ready...\n"+word+" rolling update complete 3 pods at revision web-a...\n", f.out.String())
		})
	}
}

func TestRolloutStatusTimesOut(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newTestSet(workload.MiniStatefulSet, "web").Pods(1, 1, 1)
	f := newPluginFixture(t, set.Obj())
	err := f.run(ctx, "rollout", "status", "web", "--timeout", "200ms")
	require.Error(t, err)
	assert.Equal(t, "timed out after 200ms waiting for the rollout of msts/web to finish; it was at: Waiting for 2 pods to be ready", err.Error())
}

func TestRolloutStatusStopsWhenTheSetIsDeleted(t *testing.T) {
	for _, kind := range bothKinds {
		t.Run(string(kind), func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			set := newTestSet(kind, "web").Pods(0, 0, 0)
			f := newPluginFixture(t, set.Obj())
			started := f.watchStarted(kind)
			done := make(chan error, 1)
			go func() { done <- f.run(ctx, "rollout", "status", set.Ref().String()) }()
			waitClosed(t, started)
			if kind == workload.StatefulSet {
				require.NoError(t, f.kube.AppsV1().StatefulSets(testNS).Delete(ctx, "web", metav1.DeleteOptions{}))
			} else {
				require.NoError(t, f.sets.AppsV1alpha1().MiniStatefulSets(testNS).Delete(ctx, "web", metav1.DeleteOptions{}))
			}
			select {
			case err := <-done:
				assert.EqualError(t, err, set.Ref().String()+" was deleted while its rollout was followed")
			case <-time.After(statusBound):
				t.Fatalf("rollout status did not stop within %v after the set was deleted", statusBound)
			}
		})
	}
}

func TestRolloutStatusOfAMissingSet(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newPluginFixture(t)
	assert.EqualError(t, f.run(ctx, "rollout", "status", "sts/nope"), "sts/nope not found in namespace demo")
}

// watchStarted signals once the status command's watch of the kind is registered.
func (f *pluginFixture) watchStarted(kind workload.Kind) <-chan struct{} {
	if kind == workload.StatefulSet {
		return watchStarted(f.kube, appsv1.SchemeGroupVersion.WithResource("statefulsets"))
	}
	return watchStarted(f.sets, appsv1alpha1.SchemeGroupVersion.WithResource("ministatefulsets"))
}

// writeStatus writes the builder's status through the kind's status subresource.
func (f *pluginFixture) writeStatus(ctx context.Context, b *testSet) {
	f.t.Helper()
	var err error
	switch obj := b.Obj().(type) {
	case *appsv1.StatefulSet:
		_, err = f.kube.AppsV1().StatefulSets(testNS).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	case *appsv1alpha1.MiniStatefulSet:
		_, err = f.sets.AppsV1alpha1().MiniStatefulSets(testNS).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	}
	require.NoError(f.t, err)
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(statusBound):
		t.Fatalf("the command did not start its watch within %v", statusBound)
	}
}
