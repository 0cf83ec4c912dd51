package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
)

func TestFenceRefusesWritesPastTheRenewDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newFence(10 * time.Second)
	f.now = func() time.Time { return now }
	var sent []string
	rt := f.wrap(roundTripper(func(req *http.Request) (*http.Response, error) {
		sent = append(sent, req.Method)
		return &http.Response{StatusCode: http.StatusOK}, nil
	}))
	do := func(method string) error {
		req, err := http.NewRequest(method, "https://api/api/v1/namespaces/x/pods", nil)
		require.NoError(t, err)
		_, err = rt.RoundTrip(req)
		return err
	}
	assert.Error(t, do(http.MethodPost), "never held: no writes")
	f.renewedNow()
	now = now.Add(9 * time.Second)
	assert.NoError(t, do(http.MethodPost))
	assert.NoError(t, do(http.MethodDelete))
	now = now.Add(2 * time.Second)
	err := do(http.MethodPatch)
	require.Error(t, err, "11s after the last renewal, past the 10s renew deadline")
	assert.Contains(t, err.Error(), "last renewed 11s ago")
	assert.NoError(t, do(http.MethodGet), "reads go on")
	assert.Equal(t, []string{"POST", "DELETE", "GET"}, sent)
}

// TestFrozenLeaderStopsAtOnce: a leader frozen past its renew deadline (its clock
// jumps) while another replica took the Lease is aborted by the fence at once, not
// a renew deadline later when its election loop gives up.
func TestFrozenLeaderStopsAtOnce(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	// The fake store does not check resourceVersions: refuse a's writes once b took
	// over, as the API server refuses an update based on a stale version.
	var takenOver atomic.Bool
	refused := make(chan struct{}, 1)
	client.PrependReactor("update", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		lease := a.(clienttesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if takenOver.Load() && (lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "b") {
			select {
			case refused <- struct{}{}:
			default:
			}
			return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), lease.Name, errors.New("stale resourceVersion"))
		}
		return false, nil, nil
	})
	slow := leaseTimes{leaseDuration: 20 * time.Second, renewDeadline: 10 * time.Second, retryPeriod: 200 * time.Millisecond}
	fnc := newFence(slow.renewDeadline)
	var frozenFor atomic.Int64
	fnc.now = func() time.Time { return time.Now().Add(time.Duration(frozenFor.Load())) }
	leadingNow := make(chan struct{})
	var thawed, aborted time.Time
	done := make(chan error, 1)
	go func() {
		done <- leaderElect(ctx, newLock(t, client, "a"), slow, fnc, nil, func(ctx, abort context.Context) error {
			close(leadingNow)
			<-abort.Done()
			aborted = time.Now()
			return nil
		})
	}()
	<-leadingNow
	lease, err := client.CoordinationV1().Leases("kube-system").Get(ctx, "ministatefulset-controller", metav1.GetOptions{})
	require.NoError(t, err)
	other := "b"
	lease.Spec = coordinationv1.LeaseSpec{HolderIdentity: &other, LeaseDurationSeconds: ptr(int32(60)),
		AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()}}
	takenOver.Store(true)
	_, err = client.CoordinationV1().Leases("kube-system").Update(ctx, lease, metav1.UpdateOptions{})
	require.NoError(t, err)
	<-refused // no renewal of a's succeeds any more: now the freeze ends
	frozenFor.Store(int64(30 * time.Second))
	thawed = time.Now()
	require.ErrorIs(t, result(t, done), errLeaseLost)
	assert.Less(t, aborted.Sub(thawed), slow.renewDeadline/4, "aborted by the fence, not by the election loop's renew deadline")
	assert.Equal(t, "b", holder(t, client))
}
