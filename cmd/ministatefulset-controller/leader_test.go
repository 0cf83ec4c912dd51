package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2/ktesting"
)

var fastLease = leaseTimes{leaseDuration: 2 * time.Second, renewDeadline: time.Second, retryPeriod: 100 * time.Millisecond}

func newLock(t *testing.T, client *fake.Clientset, id string) resourcelock.Interface {
	t.Helper()
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, "kube-system", "ministatefulset-controller",
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	require.NoError(t, err)
	return lock
}

func holder(t *testing.T, client *fake.Clientset) string {
	t.Helper()
	lease, err := client.CoordinationV1().Leases("kube-system").Get(context.Background(), "ministatefulset-controller", metav1.GetOptions{})
	require.NoError(t, err)
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// runLeader runs leaderElect in the background and returns its result channel.
func runLeader(ctx context.Context, lock resourcelock.Interface, run leading) chan error {
	done := make(chan error, 1)
	go func() { done <- leaderElect(ctx, lock, fastLease, newFence(fastLease.renewDeadline), nil, run) }()
	return done
}

func result(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(wait.ForeverTestTimeout):
		t.Fatal("leaderElect did not return")
		return nil
	}
}

// TestSIGTERMDrainsBeforeReleasing: the passes under way finish while the Lease is
// still held; only then is it released and the process exits cleanly.
func TestSIGTERMDrainsBeforeReleasing(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, sigterm := context.WithCancel(ctx)
	client := fake.NewClientset()
	heldDuringDrain := ""
	done := runLeader(ctx, newLock(t, client, "a"), func(ctx, abort context.Context) error {
		sigterm()
		<-ctx.Done()
		time.Sleep(3 * fastLease.retryPeriod) // a pass finishing: the Lease must stay renewed meanwhile
		heldDuringDrain = holder(t, client)
		assert.NoError(t, abort.Err(), "a drain is not an abort")
		return nil
	})
	require.NoError(t, result(t, done))
	assert.Equal(t, "a", heldDuringDrain)
	assert.Empty(t, holder(t, client), "released after the drain")
}

// TestFailedControllerReleasesTheLease: a controller that stops with an error does not
// keep the Lease from a replica that could do the work.
func TestFailedControllerReleasesTheLease(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	boom := errors.New("caches did not sync")
	done := runLeader(ctx, newLock(t, client, "a"), func(ctx, abort context.Context) error { return boom })
	require.ErrorIs(t, result(t, done), boom)
	assert.Empty(t, holder(t, client))
}

// TestLostLeaseAbortsAtOnce: when another replica takes the Lease, the controller is
// aborted (its passes cancelled) without waiting for a drain, and the process exits
// with an error.
func TestLostLeaseAbortsAtOnce(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	// The fake store does not check resourceVersions: refuse a's writes (renewals,
	// and the release that writes no holder) once b takes over, as the API server
	// refuses an update based on a stale version. Taking over is marked before b's
	// write: marked after it, a renewal of a's could slip in between, put a back,
	// and a's release then cleared the Lease (seen once in CI).
	var tookOver atomic.Bool
	client.PrependReactor("update", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		lease := a.(clienttesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if tookOver.Load() && (lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "b") {
			return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), lease.Name, errors.New("stale resourceVersion"))
		}
		return false, nil, nil
	})
	leadingNow := make(chan struct{})
	var aborted, takenOver time.Time
	done := runLeader(ctx, newLock(t, client, "a"), func(ctx, abort context.Context) error {
		close(leadingNow)
		<-abort.Done()
		aborted = time.Now()
		assert.NoError(t, ctx.Err(), "no SIGTERM: this is an abort")
		return nil
	})
	<-leadingNow
	lease, err := client.CoordinationV1().Leases("kube-system").Get(ctx, "ministatefulset-controller", metav1.GetOptions{})
	require.NoError(t, err)
	other := "b"
	lease.Spec = coordinationv1.LeaseSpec{HolderIdentity: &other, LeaseDurationSeconds: ptr(int32(60)),
		AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()}}
	tookOver.Store(true)
	takenOver = time.Now()
	_, err = client.CoordinationV1().Leases("kube-system").Update(ctx, lease, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.ErrorIs(t, result(t, done), errLeaseLost)
	assert.Less(t, aborted.Sub(takenOver), fastLease.renewDeadline+time.Second, "aborted within the renew deadline")
	assert.Equal(t, "b", holder(t, client), "the new leader's Lease is left alone")
}

// TestSIGTERMWhileWaitingForTheLease: a replica that never led exits at once.
func TestSIGTERMWhileWaitingForTheLease(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	first, stopFirst := context.WithCancel(ctx)
	defer stopFirst()
	leadingNow := make(chan struct{})
	runLeader(first, newLock(t, client, "a"), func(ctx, abort context.Context) error {
		close(leadingNow)
		<-ctx.Done()
		return nil
	})
	<-leadingNow
	second, sigterm := context.WithCancel(ctx)
	ran := false
	done := runLeader(second, newLock(t, client, "b"), func(ctx, abort context.Context) error { ran = true; return nil })
	sigterm()
	require.NoError(t, result(t, done))
	assert.False(t, ran)
	assert.Equal(t, "a", holder(t, client))
}

func ptr[T any](v T) *T { return &v }
