package ministatefulset

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func numbered(n int) []action {
	actions := make([]action, n)
	for i := range actions {
		actions[i].why = strconv.Itoa(i)
	}
	return actions
}

// TestSlowStartGrowsByOneWithEachSuccessWithoutBarriers: the window starts at one and
// each write that returns lets two more start, so the burst doubles with each round
// trip as apps/v1's batches do, but a slow write holds back only itself: with write 2
// still in flight, writes 3 and 4 start as soon as write 1 returns.
func TestSlowStartGrowsByOneWithEachSuccessWithoutBarriers(t *testing.T) {
	started := make(chan int, 16)
	release := make([]chan struct{}, 8)
	for i := range release {
		release[i] = make(chan struct{})
	}
	do := func(_ context.Context, a action) error {
		i, _ := strconv.Atoi(a.why)
		started <- i
		<-release[i]
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- slowStart(context.Background(), numbered(8), do) }()
	expect := func(want ...int) {
		t.Helper()
		var got []int
		for range want {
			select {
			case i := <-started:
				got = append(got, i)
			case <-time.After(10 * time.Second):
				require.FailNow(t, "writes did not start", "started %v, want %v", got, want)
			}
		}
		assert.ElementsMatch(t, want, got)
	}
	expect(0)
	close(release[0])
	expect(1, 2)
	close(release[1]) // 2 still in flight: no barrier holds 3 and 4 back
	expect(3, 4)
	for _, i := range []int{2, 3, 4} {
		close(release[i])
	}
	expect(5, 6, 7)
	for _, i := range []int{5, 6, 7} {
		close(release[i])
	}
	require.NoError(t, <-done)
	assert.Empty(t, started, "every write once")
}

// TestSlowStartStaysWithinOneConnection: never more writes in flight than one plus
// those that succeeded, nor than maxInFlight, below the API server's default of 100
// streams per HTTP/2 connection; every write is made once.
func TestSlowStartStaysWithinOneConnection(t *testing.T) {
	require.Less(t, maxInFlight, 100)
	var inFlight, succeeded, calls atomic.Int64
	var mu sync.Mutex
	var over []string
	var peak int64
	do := func(_ context.Context, a action) error {
		calls.Add(1)
		n, ok := inFlight.Add(1), succeeded.Load()
		mu.Lock()
		if n > min(ok+1, maxInFlight) {
			over = append(over, a.why)
		}
		peak = max(peak, n)
		mu.Unlock()
		runtime.Gosched()
		inFlight.Add(-1)
		succeeded.Add(1)
		return nil
	}
	require.NoError(t, slowStart(context.Background(), numbered(300), do))
	assert.Empty(t, over, "writes started beyond the window")
	assert.EqualValues(t, 300, calls.Load())
	assert.LessOrEqual(t, peak, int64(maxInFlight))
}

// TestSlowStartStopsAtTheFirstFailure: no write starts after one failed; those in
// flight finish, and the error holds each failure.
func TestSlowStartStopsAtTheFirstFailure(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	do := func(_ context.Context, a action) error {
		calls.Add(1)
		if a.why == "0" {
			return boom
		}
		return nil
	}
	err := slowStart(context.Background(), numbered(50), do)
	require.ErrorIs(t, err, boom)
	assert.EqualValues(t, 1, calls.Load())
	assert.Contains(t, err.Error(), "1 of 1 writes failed: boom")
}
