package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
)

// errLeaseLost is the exit of a controller that lost its Lease: another process may
// lead by now, so this one stops writing at once and exits, as
// kube-controller-manager does.
var errLeaseLost = errors.New("lost the leader election Lease")

// leading is what runs while this process holds the Lease. It stops taking work
// and drains when ctx ends, and stops at once when abort ends.
type leading func(ctx, abort context.Context) error

// leaseTimes are the leader election durations.
type leaseTimes struct {
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

// leaderElect runs run while this process holds the Lease behind lock.
//   - SIGTERM (ctx ends): run drains with the Lease still held and renewed, then the
//     Lease is released, so no other replica writes while a pass is under way here.
//   - The Lease is lost, or its last renewal is older than the renew deadline (the
//     fence, which also refuses the controller's writes from that moment): run is
//     aborted at once and errLeaseLost returned.
//   - run fails: the Lease is released and the error returned, so a dead controller
//     never holds the Lease while doing nothing.
//
// watchdog, when not nil, answers the liveness probe from the election's renewals.
func leaderElect(ctx context.Context, lock resourcelock.Interface, times leaseTimes, fnc *fence, watchdog *leaderelection.HealthzAdaptor, run leading) error {
	logger := klog.FromContext(ctx)
	lock = fencedLock{Interface: lock, fence: fnc}
	// The election outlives ctx: the Lease is released only after the drain.
	electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelElect()
	var (
		mu      sync.Mutex
		started bool
	)
	result := make(chan error, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   times.leaseDuration,
		RenewDeadline:   times.renewDeadline,
		RetryPeriod:     times.retryPeriod,
		ReleaseOnCancel: true,
		Name:            controller.ControllerName, // the name label of leader_election_master_status
		WatchDog:        watchdog,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lead context.Context) {
				mu.Lock()
				started = true
				mu.Unlock()
				logger.Info("Started leading", "identity", lock.Identity())
				abort, stop := fnc.expired(lead, times.retryPeriod/4)
				err := run(ctx, abort)
				stop()
				if err == nil && abort.Err() != nil && ctx.Err() == nil {
					err = errLeaseLost
				}
				result <- err
				cancelElect()
			},
			OnStoppedLeading: func() { logger.Info("Stopped leading", "identity", lock.Identity()) },
		},
	})
	if err != nil {
		return err
	}
	// A SIGTERM while still waiting for the Lease ends the wait.
	go func() {
		select {
		case <-ctx.Done():
		case <-electCtx.Done():
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !started {
			cancelElect()
		}
	}()
	le.Run(electCtx)
	mu.Lock()
	led := started
	mu.Unlock()
	if !led {
		return nil
	}
	return <-result
}
