package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// fence stops the controller's writes the moment this process can no longer be sure
// it holds the Lease: when its last successful renewal is older than the renew
// deadline. Another replica may take the Lease only a lease duration after the last
// renewal it saw, so a leader that was frozen (SIGSTOP, a long GC pause, a starved
// VM) and wakes up must not trust its leader election loop, which measures the
// renew deadline from its own next attempt: it would write on for seconds beside the
// new leader. The fence reads a monotonic clock, which runs while a process is
// frozen.
type fence struct {
	mu sync.Mutex
	// renewed is when this process last renewed or took the Lease; zero if never.
	renewed time.Time
	// valid is how long a renewal is trusted: the renew deadline.
	valid time.Duration
	now   func() time.Time
}

func newFence(valid time.Duration) *fence { return &fence{valid: valid, now: time.Now} }

func (f *fence) renewedNow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewed = f.now()
}

// holds reports whether the last renewal is recent enough to act on; when it is not,
// it says how old it is.
func (f *fence) holds() (bool, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.renewed.IsZero() {
		return false, 0
	}
	age := f.now().Sub(f.renewed)
	return age < f.valid, age
}

// expired returns a context that ends when the fence stops holding (checked every
// period) or when parent ends.
func (f *fence) expired(parent context.Context, period time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if ok, _ := f.holds(); !ok {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// wrap refuses every write (anything but GET, HEAD and OPTIONS) while the fence does
// not hold; reads go through.
func (f *fence) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return rt.RoundTrip(req)
		}
		if ok, age := f.holds(); !ok {
			return nil, fmt.Errorf("not writing %s %s: this replica's leader election Lease was last renewed %v ago, past the renew deadline %v; another replica may lead",
				req.Method, req.URL.Path, age.Round(time.Millisecond), f.valid)
		}
		return rt.RoundTrip(req)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return r(req) }

// fencedLock tells the fence of every successful renewal or acquisition of the Lease
// by this process.
type fencedLock struct {
	resourcelock.Interface
	fence *fence
}

func (l fencedLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, ler)
	l.observe(ler, err)
	return err
}

func (l fencedLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, ler)
	l.observe(ler, err)
	return err
}

func (l fencedLock) observe(ler resourcelock.LeaderElectionRecord, err error) {
	if err == nil && ler.HolderIdentity == l.Identity() {
		l.fence.renewedNow()
	}
}
